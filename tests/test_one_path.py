"""The classroom flags are a network description: one build path for every network.

The flags (--filters, --kernel, --pool, ...) become the LayerSpecs of a --net, and every
parameter, supplied or drawn, is keyed by its layer's name. What a class already relies on stays
as it was: the seeded draws (judged here against torch's generator and torch's own layers), and
the --save-scenario files (compared with files main's code wrote before the change).
"""

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from convtrace.scenario.build import build_scenario
from convtrace.scenario.classroom import classroom_net
from convtrace.scenario.net import net_text
from convtrace.scenario.spec import ScenarioSpec

SAVED_BY_MAIN = Path(__file__).parent / "fixtures" / "saved_by_main"

# ------------------------------------------------------------------ seeded draws vs torch
CLASSROOM = [
    {},
    {"seed": 0, "filters": 3, "kernel": 2, "stride": 2, "activation": "relu"},
    {"seed": 7, "batch": 2, "channels": 3, "height": 7, "width": 5, "pool": "avg", "loss": "ce",
     "classes": 4},
    {"seed": 1, "padding": (1, 2), "dilation": 2, "pool": "none", "loss": "mse",
     "dtype": "float64"},
    {"seed": 3, "height": 8, "width": 8, "padding": "same", "pool_size": 3, "pool_stride": 1,
     "loss": "ce", "classes": 2},
    {"seed": 11, "batch": 3, "kernel": (2, 3), "stride": (1, 2), "padding": 1, "pool_size": 2,
     "pool_stride": 1, "activation": "relu", "loss": "bce"},
]  # fmt: skip


def _torch_network(options: dict) -> torch.nn.Sequential:
    """The classroom network built from torch's own layers (the independent judge of shapes)."""
    spec = ScenarioSpec(**options)
    padding = spec.padding
    if isinstance(padding, tuple):
        padding = tuple(padding)
    conv = torch.nn.Conv2d(spec.channels, spec.filters, spec.kernel, spec.stride, padding,
                           spec.dilation)  # fmt: skip
    layers = [conv] + ([torch.nn.ReLU()] if spec.activation == "relu" else [])
    if spec.pool != "none":
        pool = torch.nn.MaxPool2d if spec.pool == "max" else torch.nn.AvgPool2d
        layers.append(pool(spec.pool_size, spec.pool_stride))
    return torch.nn.Sequential(*layers, torch.nn.Flatten())


@pytest.mark.parametrize("options", CLASSROOM)
def test_classroom_draws_are_torchs_generator_in_the_documented_order(options):
    spec = ScenarioSpec(**options)
    x_shape = (spec.batch, spec.channels, spec.height, spec.width)
    features = _torch_network(options)(torch.zeros(x_shape)).shape[1]
    out = spec.classes if spec.loss == "ce" else 1
    conv_shape = (spec.filters, spec.channels, *np.broadcast_to(spec.kernel, 2))
    gen = torch.Generator().manual_seed(spec.seed)
    x = torch.randint(1, 10, x_shape, generator=gen).numpy()
    conv_w = torch.randint(-1, 2, conv_shape, generator=gen).numpy()
    fc_w = np.ones((out, features))
    target = np.zeros((spec.batch, 1))
    if spec.loss == "ce":
        target = torch.randint(0, spec.classes, (spec.batch,), generator=gen).numpy()
        fc_w = torch.randint(-1, 2, (out, features), generator=gen).numpy()
    s = build_scenario(spec)
    expected = {"conv.weight": conv_w, "conv.bias": np.ones(spec.filters), "fc.weight": fc_w,
                "fc.bias": np.ones(out)}  # fmt: skip
    assert list(s.params) == list(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(s.params[key], value, err_msg=key)
        assert s.params[key].dtype == np.dtype(spec.dtype), key
    np.testing.assert_array_equal(s.x, x)
    np.testing.assert_array_equal(s.target, target)


def test_a_different_seed_draws_different_numbers():
    """The comparison above can fail: another seed's draws are not the default's."""
    assert not np.array_equal(
        build_scenario(ScenarioSpec(seed=1)).params["conv.weight"],
        build_scenario(ScenarioSpec()).params["conv.weight"],
    )


# ------------------------------------------------------------------ flags = a --net
FLAGS_AS_NET = [
    ({}, "conv(2,3) maxpool(2) fc(1)"),
    ({"filters": 3, "kernel": 2, "stride": 2, "padding": 1, "activation": "relu", "pool": "avg"},
     "conv(3,2,stride=2,padding=1) relu avgpool(2) fc(1)"),
    ({"pool": "none", "dilation": 2, "loss": "ce", "classes": 4},
     "conv(2,3,dilation=2) fc(4)"),
    ({"pool_size": 3, "pool_stride": 1, "padding": "same", "height": 8, "width": 8},
     "conv(2,3,padding=same) maxpool(3,stride=1) fc(1)"),
]  # fmt: skip


@pytest.mark.parametrize(("flags", "net"), FLAGS_AS_NET)
def test_the_classroom_flags_are_the_net_they_describe(flags, net):
    spec = ScenarioSpec(**flags)
    _spec, layers = classroom_net(spec, spec.loss)
    assert net_text(layers) == net
    common = {k: v for k, v in flags.items() if k in ("loss", "classes", "height", "width")}
    by_flags, by_net = build_scenario(spec), build_scenario(ScenarioSpec(net=net, **common))
    assert [(s.name, s.kind) for s in by_flags.layers] == [(s.name, s.kind) for s in by_net.layers]
    assert list(by_flags.params) == list(by_net.params)
    for key, value in by_flags.params.items():
        np.testing.assert_array_equal(value, by_net.params[key], err_msg=key)
    np.testing.assert_array_equal(by_flags.x, by_net.x)
    np.testing.assert_array_equal(by_flags.target, by_net.target)
    assert by_flags.net is None and by_net.net == net  # the heading and files still tell them apart


def test_a_supplied_classroom_weight_is_keyed_by_its_layer_name():
    """No field is special to the classroom network: conv.weight sets the counts like a file's."""
    assert not [f.name for f in fields(ScenarioSpec) if f.name.endswith(("_weight", "_bias"))]
    w = np.arange(4 * 3 * 2 * 2, dtype=np.float64).reshape(4, 3, 2, 2) % 3 - 1
    s = build_scenario(ScenarioSpec(params={"conv.weight": w, "fc.bias": np.array([0.5])}))
    assert s.x.shape == (1, 3, 6, 6) and s.filters == 4 and s.kernel == (2, 2)
    np.testing.assert_array_equal(s.params["conv.weight"], w)
    np.testing.assert_array_equal(s.params["fc.bias"], [0.5])
    with pytest.raises(Exception, match="conv2.weight: this network has no such parameter"):
        build_scenario(ScenarioSpec(params={"conv2.weight": w}))


# ------------------------------------------------------------------ --save-scenario files
SAVED = {
    "default": ["--seed", "42"],
    "flags": ["--seed", "9", "--padding", "1,2", "--stride", "2", "--activation", "relu",
              "--pool", "avg", "--loss", "ce", "--classes", "5", "-n", "2", "-c", "3",
              "--size", "9"],
    "nopool": ["--seed", "1", "--pool", "none", "--dilation", "2", "--loss", "mse",
               "--dtype", "float64"],
    "window": ["--seed", "3", "--kernel", "2", "--pool-size", "3", "--pool-stride", "1",
               "--filters", "3", "--size", "8", "--method", "im2col", "--padding", "same"],
    "bug": ["--bug", "kernel-flipped"],
    "net": ["--net", "conv(2,3) relu maxpool(2) fc(3)", "--loss", "ce"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SAVED))
def test_save_scenario_writes_the_file_main_wrote(name, tmp_path, monkeypatch):
    from convtrace.cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    result = CliRunner().invoke(app, ["run", *SAVED[name], "--save-scenario", f"saved_{name}"])
    assert result.exit_code in (0, 1), result.output  # 1: the planted bug's stages disagree
    written = (tmp_path / f"saved_{name}" / "scenario.toml").read_bytes()
    assert written == (SAVED_BY_MAIN / f"{name}.toml").read_bytes()
    with np.load(tmp_path / f"saved_{name}" / "arrays.npz") as arrays:
        flags = SAVED[name]
        seed = int(flags[flags.index("--seed") + 1]) if "--seed" in flags else 42
        gen = torch.Generator().manual_seed(seed)
        np.testing.assert_array_equal(
            arrays["input"], torch.randint(1, 10, arrays["input"].shape, generator=gen)
        )
        w = arrays["conv.weight"]
        np.testing.assert_array_equal(w, torch.randint(-1, 2, w.shape, generator=gen))
