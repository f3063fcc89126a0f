"""The seeded generator and scenario resolution."""

import numpy as np
import pytest
import torch

from convtrace import ConvtraceError
from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec, parse_padding


def test_default_scenario_is_the_course_worked_example():
    """torch.manual_seed(S); X = randint(1, 10, (1,1,6,6)); W = randint(-1, 2, (2,1,3,3))."""
    torch.manual_seed(42)
    x = torch.randint(1, 10, (1, 1, 6, 6)).float()
    w = torch.randint(-1, 2, (2, 1, 3, 3)).float()
    s = build_scenario(ScenarioSpec())
    np.testing.assert_array_equal(s.x, x.numpy())
    np.testing.assert_array_equal(s.conv_weight, w.numpy())
    np.testing.assert_array_equal(s.conv_bias, np.ones(2))
    np.testing.assert_array_equal(s.fc_weight, np.ones((1, 8)))
    np.testing.assert_array_equal(s.fc_bias, np.ones(1))
    np.testing.assert_array_equal(s.target, np.zeros((1, 1)))
    assert s.x.dtype == np.float32 and s.loss == "bce" and s.pool == "max"


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_other_seeds_follow_the_documented_draw_order(seed):
    torch.manual_seed(seed)
    x = torch.randint(1, 10, (2, 3, 5, 4))
    w = torch.randint(-1, 2, (4, 3, 2, 2))
    y = torch.randint(0, 5, (2,))
    fc_w = torch.randint(-1, 2, (5, 4 * 4 * 3))
    spec = ScenarioSpec(
        seed=seed,
        batch=2,
        channels=3,
        height=5,
        width=4,
        filters=4,
        kernel=2,
        pool="none",
        loss="ce",
        classes=5,
        dtype="float64",
    )
    s = build_scenario(spec)
    np.testing.assert_array_equal(s.x, x.numpy())
    np.testing.assert_array_equal(s.conv_weight, w.numpy())
    np.testing.assert_array_equal(s.target, y.numpy())
    assert s.x.dtype == np.float64
    np.testing.assert_array_equal(s.fc_weight, fc_w.numpy())


def test_fc_input_size_follows_the_shapes():
    s = build_scenario(
        ScenarioSpec(
            height=9,
            width=8,
            kernel=3,
            stride=2,
            padding="same",
            pool_size=2,
            pool_stride=1,
            filters=3,
        )
    )
    # conv: ceil(9/2)=5, ceil(8/2)=4; pool 2 stride 1: 4×3; 3 filters
    assert s.fc_weight.shape == (1, 3 * 4 * 3)
    assert s.pads == ((1, 1), (0, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("valid", "valid"), ("SAME", "same"), ("2", 2), ("1,0", (1, 0)), (3, 3)],
)
def test_parse_padding(text, expected):
    assert parse_padding(text) == expected


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"padding": "full"}, "unknown padding"),
        ({"padding": "-1"}, "at least 0"),
        ({"stride": 0}, "stride must be at least 1"),
        ({"dilation": -2}, "dilation must be at least 1"),
        ({"pool": "min"}, "--pool must be one of"),
        ({"loss": "hinge"}, "--loss must be one of"),
        ({"method": "fft"}, "--method must be one of"),
        ({"dtype": "float16"}, "--dtype must be one of"),
        ({"kernel": 9}, "does not fit the padded input 6×6"),
        ({"pool_size": 5}, "pool window 5×5 does not fit"),
        ({"batch": 0}, "--batch must be at least 1"),
    ],
)
def test_invalid_requests_raise_a_sentence(changes, message):
    with pytest.raises(ConvtraceError, match=message):
        build_scenario(ScenarioSpec(**changes))
