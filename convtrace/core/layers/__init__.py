"""The network's layers, pure numpy: each has ``forward`` and ``backward``."""

from .conv import Conv2D
from .dense import Flatten, Linear, ReLU
from .pool import AvgPool2D, MaxPool2D

__all__ = ["Conv2D", "MaxPool2D", "AvgPool2D", "Flatten", "Linear", "ReLU"]
