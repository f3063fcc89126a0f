"""The one exception family convtrace raises for misuse.

Every message is a sentence a student understands and names the values involved, e.g.
"kernel 7×7 does not fit the padded input 4×4". The CLI prints it as ``Error: …`` and exits
with code 2.
"""

from __future__ import annotations


class ConvtraceError(ValueError):
    """Base class: something the user asked for cannot be done, and the message says why."""


class ShapeError(ConvtraceError):
    """An array has the wrong rank, shape or dtype for where it is used."""


class ParameterError(ConvtraceError):
    """A hyper-parameter (kernel, stride, padding, dilation, pool size, …) is invalid."""


class StateError(ConvtraceError):
    """A method was called out of order, e.g. ``backward`` before ``forward``."""


class InputFileError(ConvtraceError):
    """A file given by the user cannot be read, or its content is not acceptable."""


class NumericError(ConvtraceError):
    """A value left the range of the run's dtype (overflow to ±inf, or NaN from inf − inf)."""
