"""What a run computes on: the user's request (flags, TOML, files) resolved into a Scenario."""

from .build import build_scenario
from .resolved import Scenario
from .spec import ScenarioSpec, parse_padding

__all__ = ["Scenario", "ScenarioSpec", "build_scenario", "parse_padding"]
