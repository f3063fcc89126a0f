"""convtrace: a tiny CNN computed by hand (loops and im2col), checked against PyTorch.

>>> import numpy as np
>>> from convtrace import Conv2D
>>> conv = Conv2D(8, 3, stride=2, padding="same", seed=0)
>>> conv.forward(np.ones((10, 4, 7, 7))).shape
(10, 8, 4, 4)

In a notebook, ``convtrace.trace(seed=42)`` runs the whole network and shows every stage
(see ``convtrace.notebook``); ``convtrace.check("my_conv.py")`` grades a student's layer as
``convtrace check`` does (see ``convtrace.notebook_check``).
"""

from . import check as _check_package  # the subpackage (light: no torch)
from .core.errors import ConvtraceError
from .core.geometry import output_size, resolve_padding
from .core.im2col import col2im, im2col
from .core.layers import AvgPool2D, Conv2D, Flatten, Linear, MaxPool2D, ReLU
from .core.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .notebook import NotebookTrace, trace
from .notebook_check import CheckResult
from .notebook_train import NotebookTrain, train


class _CallableCheck(type(_check_package)):
    """``convtrace.check`` is the subpackage ``convtrace/check/`` and, called, grades a
    submission: importing ``convtrace.check.grade`` rebinds ``convtrace.check`` to the package,
    so the package itself is made callable rather than shadowed by a function."""

    def __call__(self, *args, **kwargs):
        from .notebook_check import check as _check

        return _check(*args, **kwargs)


_check_package.__class__ = _CallableCheck
check = _check_package

__version__ = "0.1.0"

__all__ = [
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "Flatten",
    "Linear",
    "ReLU",
    "BCEWithLogitsLoss",
    "MSELoss",
    "CrossEntropyLoss",
    "im2col",
    "col2im",
    "output_size",
    "resolve_padding",
    "ConvtraceError",
    "trace",
    "NotebookTrace",
    "check",
    "CheckResult",
    "train",
    "NotebookTrain",
]
