"""convtrace: a tiny CNN computed by hand (loops and im2col), checked against PyTorch.

>>> import numpy as np
>>> from convtrace import Conv2D
>>> conv = Conv2D(8, 3, stride=2, padding="same", seed=0)
>>> conv.forward(np.ones((10, 4, 7, 7))).shape
(10, 8, 4, 4)

In a notebook, ``convtrace.trace(seed=42)`` runs the whole network and shows every stage
(see ``convtrace.notebook``).
"""

from .core.errors import ConvtraceError
from .core.geometry import output_size, resolve_padding
from .core.im2col import col2im, im2col
from .core.layers import AvgPool2D, Conv2D, Flatten, Linear, MaxPool2D, ReLU
from .core.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .notebook import NotebookTrace, trace
from .notebook_train import NotebookTrain, train

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
    "train",
    "NotebookTrain",
]
