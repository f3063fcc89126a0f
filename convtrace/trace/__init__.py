"""A run recorded: the pipeline (a loop over layers), Stage/Trace, and the torch reference."""

from .stage import Stage, Trace

__all__ = ["Stage", "Trace"]
