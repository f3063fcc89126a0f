"""The ConvtraceError family: one base class, a ValueError, with a subclass per kind of misuse.

The individual messages are tested next to the code that raises them (test_conv.py,
test_pool.py, test_geometry.py, ...); here: the hierarchy, and that each kind of failure raises
the right subclass.
"""

from __future__ import annotations

import numpy as np
import pytest

import convtrace
from convtrace import Conv2D, MaxPool2D, MSELoss
from convtrace.core.errors import (
    ConvtraceError,
    InputFileError,
    ParameterError,
    ShapeError,
    StateError,
)


def test_convtrace_error_is_a_value_error_exported_by_the_package():
    assert issubclass(ConvtraceError, ValueError)
    assert convtrace.ConvtraceError is ConvtraceError
    assert "ConvtraceError" in convtrace.__all__


@pytest.mark.parametrize("subclass", [ShapeError, ParameterError, StateError, InputFileError])
def test_every_subclass_is_a_convtrace_error(subclass):
    assert issubclass(subclass, ConvtraceError)
    with pytest.raises(ValueError, match="the message"):
        raise subclass("the message")


def test_misuse_is_catchable_as_a_plain_value_error():
    with pytest.raises(ValueError, match="stride must be at least 1, got 0"):
        Conv2D(1, 3, stride=0)


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (lambda: Conv2D(1, 3, stride=0), ParameterError),
        (lambda: Conv2D(1, 3, padding="full"), ParameterError),
        (lambda: Conv2D(1, 7, seed=0).forward(np.zeros((1, 1, 4, 4))), ParameterError),
        (lambda: MaxPool2D(3).forward(np.zeros((1, 1, 2, 2))), ParameterError),
        (lambda: Conv2D(1, 3, seed=0).forward(np.zeros((4, 4))), ShapeError),
        (lambda: Conv2D(1, 3, seed=0).forward(np.zeros((1, 1, 4, 4), dtype=int)), ShapeError),
        (lambda: MSELoss().forward(np.zeros(2), np.zeros(3)), ShapeError),
        (lambda: Conv2D(1, 3, seed=0).backward(np.zeros((1, 1, 1, 1))), StateError),
        (lambda: MSELoss().backward(), StateError),
    ],
)
def test_each_kind_of_failure_raises_its_subclass(action, kind):
    with pytest.raises(kind):
        action()
