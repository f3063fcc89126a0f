"""The network's layers, pure numpy, one module per kind, all with the protocol of ``base``.

``KINDS`` is the registration: the ``--net`` keyword of each kind and its class. A new kind is
its module plus one line here (and, if ``explain`` should write its cells as sums, one module in
``convtrace/explain/kinds/``, found there without further registration).
"""

from .base import Layer, Record, Twin, TwinContext
from .batchnorm import BatchNorm
from .conv import Conv, Conv2D
from .conv_transpose import ConvTranspose
from .dense import Dense, Linear
from .flatten import Flatten
from .pool import AvgPool2D, MaxPool2D
from .relu import ReLU

KINDS: dict[str, type[Layer]] = {
    "conv": Conv,
    "relu": ReLU,
    "maxpool": MaxPool2D,
    "avgpool": AvgPool2D,
    "flatten": Flatten,
    "fc": Dense,
    "bn": BatchNorm,
    "convt": ConvTranspose,  # written convT: --net reads kinds case-blind
}

__all__ = ["Conv2D", "Conv", "MaxPool2D", "AvgPool2D", "Flatten", "Linear", "Dense", "ReLU",
           "BatchNorm", "ConvTranspose",
           "Layer", "Record", "Twin", "TwinContext", "KINDS"]  # fmt: skip
