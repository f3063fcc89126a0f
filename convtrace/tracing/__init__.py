"""A run recorded: the pipeline (a loop over layers), Stage/Trace, and the torch reference.

(Named ``tracing`` so that ``convtrace.trace(seed=42)``, the notebook entry point, is a plain
function: see :mod:`convtrace.notebook`.)
"""

from .stage import Stage, Trace

__all__ = ["Stage", "Trace"]
