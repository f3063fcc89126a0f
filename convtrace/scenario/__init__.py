"""What a run computes on: the user's request (flags, TOML, files) resolved into a Scenario."""

from .spec import Scenario, ScenarioSpec, build_scenario, parse_padding

__all__ = ["Scenario", "ScenarioSpec", "build_scenario", "parse_padding"]
