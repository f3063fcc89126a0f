"""Real inputs through the CLI: files, scenario files, --save-scenario, and every bad input
refused with one sentence on stderr, exit code 2 and no traceback."""

import json
import os

import numpy as np
import pytest
import torch

from tests.test_io import _Exploit


def refused(result, *fragments: str) -> str:
    """Exit 2, exactly one line ``Error: …`` on stderr containing ``fragments``, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def stages(result) -> dict:
    assert result.exit_code == 0, result.output
    return {s["name"]: s for s in json.loads(result.stdout)["stages"]}


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Work inside tmp_path so messages show short relative file names."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- loading
def test_input_file_sets_the_shapes_and_agrees_with_torch(invoke, files):
    np.save("x.npy", np.random.default_rng(0).integers(-5, 6, (7, 7)).astype(np.float32))
    got = stages(invoke("run", "--input", "x.npy", "--json"))
    assert got["input"]["shape"] == [1, 1, 7, 7]
    assert all(s["agrees"] is not False for s in got.values())


def test_weights_and_target_files(invoke, files):
    w = np.array([[[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]], dtype=np.float32)
    np.savez("w.npz", **{"conv.weight": w, "conv.bias": np.array([0.5])})
    np.save("y.npy", np.array([[0.0], [1.0]]))
    got = stages(invoke("run", "--weights", "w.npz", "--target", "y.npy", "--batch", 2, "--json"))
    assert got["conv.weight"]["values"] == w.tolist()
    assert got["conv.bias"]["values"] == [0.5] and got["input"]["shape"] == [2, 1, 6, 6]
    assert all(s["agrees"] is not False for s in got.values())


def test_target_value(invoke):
    doc = json.loads(invoke("run", "--target", "1", "--json").stdout)
    assert doc["stages"][-1]["agrees"] and doc["scenario"]["loss"] == "bce"
    refused(invoke("run", "--target", "2", "--json"), "--target 2 for bce must be between 0 and 1")


# --------------------------------------------------------------------------- refusals
def test_missing_file(invoke, files):
    assert refused(invoke("run", "--input", "nope.npy")) == "Error: --input nope.npy does not exist"


def test_random_bytes_named_npy(invoke, files):
    (files / "noise.npy").write_bytes(os.urandom(256))
    refused(invoke("run", "--input", "noise.npy"), "noise.npy: is not a NumPy .npy file")


def test_pickled_object_array_in_npy(invoke, files):
    np.save("objects.npy", np.array([[1, "two"]], dtype=object), allow_pickle=True)
    refused(invoke("run", "--input", "objects.npy"), "objects.npy: holds Python objects")


def test_pt_whose_pickle_would_create_a_file(invoke, files):
    marker = files / "created_by_the_file.txt"
    torch.save(_Exploit(marker), files / "evil.pt")
    refused(invoke("run", "--input", "evil.pt"), "evil.pt: holds more than tensors")
    assert not marker.exists()
    torch.save({"conv.weight": _Exploit(marker)}, files / "evil_weights.pt")
    refused(invoke("run", "--weights", "evil_weights.pt"), "would run code stored in the file")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[]", "x.json: it is an empty list, not numbers"),
        ("[[1, 2, 3], [4, 5]]", "x.json: it is ragged: entry [1] has 2 entries but entry [0]"),
        ("[[1, 2], [3]]", "entry [1] has 1 entry but entry [0] has 2 entries"),
    ],
)
def test_empty_and_ragged_json(invoke, files, text, fragment):
    (files / "x.json").write_text(text)
    refused(invoke("run", "--input", "x.json"), fragment)


def test_non_numeric_csv(invoke, files):
    (files / "x.csv").write_text("1,2,3\n4,five,6\n7,8,9\n")
    message = refused(invoke("run", "--input", "x.csv"))
    assert message == "Error: --input x.csv: line 2, column 2 is 'five', not a number"


def test_rank_5(invoke, files):
    np.save("x5.npy", np.ones((1, 1, 1, 6, 6)))
    refused(
        invoke("run", "--input", "x5.npy"),
        "x5.npy has 5 dimension(s) (shape (1, 1, 1, 6, 6)); give (H, W), (C, H, W) or",
    )


def test_nan(invoke, files):
    grid = np.ones((6, 6))
    grid[3, 4] = np.nan
    np.savetxt("nan.csv", grid, delimiter=",")
    refused(invoke("run", "--input", "nan.csv"), "nan.csv contains nan at index [3, 4]")


def test_channel_mismatch(invoke, files):
    np.save("gray.npy", np.ones((6, 6)))
    np.savez("rgb_filters.npz", **{"conv.weight": np.ones((2, 3, 3, 3))})
    refused(
        invoke("run", "--input", "gray.npy", "--weights", "rgb_filters.npz"),
        "gray.npy has 1 channel(s)",
        "rgb_filters.npz (conv.weight) expects 3",
    )


def test_kernel_larger_than_the_input(invoke, files):
    np.save("tiny.npy", np.ones((2, 2)))
    message = refused(invoke("run", "--input", "tiny.npy"))
    assert message == "Error: kernel 3×3 does not fit the padded input 2×2 of tiny.npy"
    refused(invoke("run", "--kernel", 5, "--dilation", 2), "(dilated to 9×9) does not fit")


@pytest.mark.parametrize("value", [0, -2])
def test_stride_zero_and_negative(invoke, value):
    message = refused(invoke("run", "--stride", value))
    assert message == f"Error: --stride must be at least 1, got {value}"


def test_unknown_padding(invoke):
    refused(invoke("run", "--padding", "full"), "unknown padding 'full': use valid, same")
    refused(invoke("run", "--padding", "-1"), "padding must be at least 0, got -1")


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--size", 100_000, "1×1×100000×100000 = 10,000,000,000 elements"),
        ("--batch", 10**9, "1000000000×1×6×6 = 36,000,000,000 elements"),
    ],
)
def test_absurd_size_and_batch(invoke, flag, value, fragment):
    message = refused(invoke("run", flag, value), fragment, "--max-elements")
    assert "use a smaller --size or --batch" in message


def test_long_loop_runs_are_refused_with_a_way_forward(invoke):
    from convtrace.scenario.build import build_scenario
    from convtrace.scenario.spec import ScenarioSpec

    refused(invoke("run", "--size", 200, "--filters", 16), "use --method im2col")
    refused(invoke("run", "--size", 200, "--filters", 16, "--method", "loop"), "positions")
    spec = ScenarioSpec(height=200, width=200, filters=16, method="im2col")
    assert build_scenario(spec).x.shape == (1, 1, 200, 200)  # im2col is fine at that size


def test_unknown_weight_key(invoke, files):
    torch.save({"layer.w": torch.ones(2, 1, 3, 3)}, files / "net.pt")
    refused(
        invoke("run", "--weights", "net.pt"),
        "net.pt has unknown key(s) 'layer.w'; the accepted keys are <layer>.weight and",
    )


def test_a_weight_for_a_layer_the_network_lacks(invoke, files):
    torch.save({"conv1.weight": torch.ones(2, 1, 3, 3)}, files / "net.pt")
    refused(
        invoke("run", "--weights", "net.pt"),
        "--weights net.pt (conv1.weight): this network has no such parameter; its parameters "
        "are conv.bias, conv.weight, fc.bias, fc.weight",
    )


def test_typer_type_errors_exit_2_without_traceback(invoke):
    result = invoke("run", "--size", "abc")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Invalid value for '--size'" in result.output


def test_internal_errors_exit_1_and_show_the_traceback_only_with_debug(invoke, monkeypatch):
    import convtrace.tracing.pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(convtrace.tracing.pipeline, "run_pipeline", broken)
    result = invoke("run", "--json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Internal error: RuntimeError: boom" in result.stderr
    result = invoke("run", "--json", "--debug")
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


# --------------------------------------------------------------------------- scenario files
def test_scenario_file_paths_are_relative_to_it_and_flags_override(invoke, files):
    (files / "lesson").mkdir()
    np.save(files / "lesson" / "x.npy", np.ones((3, 8, 8)))
    (files / "lesson" / "s.toml").write_text(
        'input = "x.npy"\nfilters = 4\nstride = 2\npool = "avg"\nseed = 3\n'
    )
    doc = json.loads(invoke("run", "--scenario", "lesson/s.toml", "--json").stdout)["scenario"]
    assert doc["input_shape"] == [1, 3, 8, 8] and doc["filters"] == 4 and doc["stride"] == [2, 2]
    assert doc["sources"]["input"] == os.path.join("lesson", "x.npy")
    doc = json.loads(invoke("run", "--scenario", "lesson/s.toml", "--stride", 1, "--json").stdout)
    assert doc["scenario"]["stride"] == [1, 1] and doc["scenario"]["pool"] == "avg"


def test_a_flag_equal_to_its_default_still_overrides_the_scenario_file(invoke, files):
    (files / "s.toml").write_text("stride = 2\nsize = 7\n")
    doc = json.loads(invoke("run", "--scenario", "s.toml", "--stride", 1, "--json").stdout)
    assert doc["scenario"]["stride"] == [1, 1] and doc["scenario"]["input_shape"] == [1, 1, 7, 7]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("strides = 2\n", "s.toml has unknown key(s) 'strides'; the allowed keys are seed, batch"),
        (
            "stride = '2'\n",
            's.toml: stride must be an integer or a pair [h, w], got "2" (a string)',
        ),
        ("stride = \n", "s.toml is not valid TOML"),
        ('input = "missing.npy"\n', "--input missing.npy does not exist"),
    ],
)
def test_bad_scenario_files(invoke, files, text, fragment):
    (files / "s.toml").write_text(text)
    refused(invoke("run", "--scenario", "s.toml"), fragment)


def test_missing_scenario_file(invoke, files):
    refused(invoke("run", "--scenario", "nope.toml"), "--scenario nope.toml does not exist")


@pytest.mark.parametrize(
    "flags",
    [
        [],
        ["--loss", "ce", "--classes", 4, "--padding", "same", "--stride", 2, "--size", 7],
        ["--batch", 3, "--channels", 2, "--dtype", "float64", "--pool", "avg", "--dilation", 2,
         "--size", 9, "--activation", "relu", "--loss", "mse"],
    ],
)  # fmt: skip
def test_save_scenario_replays_the_same_stages(invoke, files, flags):
    first = invoke("run", *flags, "--seed", 5, "--save-scenario", "saved", "--json")
    assert {p.name for p in (files / "saved").iterdir()} == {"scenario.toml", "arrays.npz"}
    assert "replay with: convtrace run --scenario saved" in first.stderr
    again = invoke("run", "--scenario", "saved/scenario.toml", "--json")
    before, after = stages(first), stages(again)
    assert list(before) == list(after)
    for name, stage in before.items():
        assert after[name]["values"] == stage["values"], name
        assert after[name]["agrees"] is not False


def test_save_scenario_into_a_file_is_refused(invoke, files):
    (files / "taken").write_text("")
    refused(invoke("run", "--save-scenario", "taken"), "--save-scenario taken exists and is not")


NET = "conv(4,3) relu maxpool(2) conv(8,3,padding=same) relu fc(10) relu fc(3)"


def test_a_saved_net_replays_every_layer_identically(invoke, files):
    """--save-scenario writes the net and every layer's arrays; --scenario replays them."""
    args = ("--net", NET, "--size", "12", "--loss", "ce", "--seed", "7")
    assert invoke("run", *args, "--save-scenario", "lesson").exit_code == 0
    saved = (files / "lesson" / "scenario.toml").read_text()
    assert f'net = "{NET}"' in saved and "\nfilters =" not in saved
    with np.load(files / "lesson" / "arrays.npz") as arrays:
        assert {"conv1.weight", "conv2.bias", "fc1.weight", "fc2.bias"} <= set(arrays.files)
    first = json.loads(invoke("run", *args, "--json").stdout)
    replay = json.loads(invoke("run", "--scenario", "lesson/scenario.toml", "--json").stdout)
    assert [s["name"] for s in replay["stages"]] == [s["name"] for s in first["stages"]]
    for ours, theirs in zip(replay["stages"], first["stages"], strict=True):
        assert ours["values"] == theirs["values"], ours["name"]


def test_a_flag_that_reshapes_a_saved_network_is_named(invoke, files):
    """Saved weights that no longer fit after a geometry flag: the flag is named, exit 2."""
    assert invoke("run", "--seed", "7", "--loss", "ce", "--save-scenario", "d").exit_code == 0
    result = invoke("run", "--scenario", "d/scenario.toml", "--stride", "2")
    refused(result, "--stride changed the network that d/scenario.toml saved its weights for")
    assert invoke("run", "--scenario", "d/scenario.toml").exit_code == 0


def test_net_cannot_be_combined_with_single_layer_flags_from_a_file(invoke, files):
    (files / "s.toml").write_text('net = "conv(2,3) fc(1)"\nfilters = 4\n')
    refused(invoke("run", "--scenario", "s.toml"), "--net describes every layer, so --filters")
    refused(invoke("run", "--net", "conv(2,3) fc(1)", "--pool", "avg"), "so --pool cannot")
