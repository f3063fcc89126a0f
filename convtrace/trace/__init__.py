"""A run recorded: the pipeline (a loop over layers), Stage/Trace, and the torch reference.

The package is also callable, for notebooks: ``convtrace.trace(seed=42, stride=2)`` runs the
network as ``convtrace run`` does and returns a ``convtrace.notebook.NotebookTrace``.
"""

import sys
import types

from .stage import Stage, Trace

__all__ = ["Stage", "Trace"]


class _CallablePackage(types.ModuleType):
    """``convtrace.trace`` is this package (``convtrace.trace.pipeline`` keeps working) and
    ``convtrace.trace(...)`` calls ``convtrace.notebook.trace``: one name for both, as the
    course writes it, without a function shadowing the package."""

    def __call__(self, **options):
        from ..notebook import trace  # the notebook shell sits above this package

        return trace(**options)

    @property
    def __signature__(self):  # for help() and Jupyter's `convtrace.trace?`
        import inspect

        from ..notebook import trace

        return inspect.signature(trace)


sys.modules[__name__].__class__ = _CallablePackage
