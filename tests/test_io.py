"""File loaders: every format round-trips, and a file is only ever read as data."""

import json
import pickle

import numpy as np
import pytest
import torch

from convtrace.core.errors import InputFileError
from convtrace.scenario.files import load_array, load_input, load_target, load_weights

CAP = 10_000_000
GRID = np.arange(12, dtype=np.float64).reshape(3, 4) - 5.5


def _write(path, array):
    """Save ``array`` in the format named by the suffix of ``path``."""
    suffix = path.suffix
    if suffix == ".npy":
        np.save(path, array)
    elif suffix == ".npz":
        np.savez(path, input=array)
    elif suffix in (".pt", ".pth"):
        torch.save(torch.from_numpy(np.asarray(array)), path)
    elif suffix == ".json":
        path.write_text(json.dumps(np.asarray(array).tolist()))
    elif suffix == ".csv":
        np.savetxt(path, array, delimiter=",")
    else:  # .txt: whitespace-separated
        np.savetxt(path, array)
    return path


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".pt", ".pth", ".json", ".csv", ".txt"])
def test_every_format_round_trips_a_2d_grid(tmp_path, suffix):
    path = _write(tmp_path / f"x{suffix}", GRID)
    x = load_input(path, CAP)
    assert x.shape == (1, 1, 3, 4)
    np.testing.assert_array_equal(x[0, 0], GRID)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".pt", ".json"])
@pytest.mark.parametrize(
    ("shape", "expected"),
    [((2, 3, 4), (1, 2, 3, 4)), ((5, 2, 3, 4), (5, 2, 3, 4))],
)
def test_rank_3_and_4_become_nchw(tmp_path, suffix, shape, expected):
    array = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x = load_input(_write(tmp_path / f"x{suffix}", array), CAP)
    assert x.shape == expected
    np.testing.assert_allclose(x.reshape(shape), array, rtol=1e-6)


def test_npy_keeps_its_dtype_and_fortran_order(tmp_path):
    array = np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3))
    loaded = load_array(_write(tmp_path / "a.npy", array), "--input", CAP)
    assert loaded.dtype == np.int16
    np.testing.assert_array_equal(loaded, array)


def test_npz_picks_its_only_array_or_the_named_one(tmp_path):
    np.savez(tmp_path / "one.npz", anything=GRID)
    np.savez(tmp_path / "x.npz", x=GRID, other=GRID + 1)
    np.testing.assert_array_equal(load_array(tmp_path / "one.npz", "--input", CAP), GRID)
    np.testing.assert_array_equal(load_array(tmp_path / "x.npz", "--input", CAP), GRID)
    np.savez(tmp_path / "two.npz", a=GRID, b=GRID)
    with pytest.raises(InputFileError, match="holds the arrays 'a', 'b'; keep only one"):
        load_array(tmp_path / "two.npz", "--input", CAP)


def test_csv_skips_comments_and_blank_lines(tmp_path):
    path = tmp_path / "slide.csv"
    path.write_text("# the matrix on the slide\n1, 2, 3\n\n4,5,6\n")
    np.testing.assert_array_equal(load_array(path, "--input", CAP), [[1, 2, 3], [4, 5, 6]])


def test_weights_from_a_torch_module_state_dict_load_directly(tmp_path):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 2, 3)
            self.fc = torch.nn.Linear(8, 1)

    net = Net()
    torch.save(net.state_dict(), tmp_path / "net.pt")
    weights = load_weights(tmp_path / "net.pt", CAP)
    assert set(weights) == {"conv.weight", "conv.bias", "fc.weight", "fc.bias"}
    np.testing.assert_array_equal(weights["conv.weight"], net.conv.weight.detach().numpy())


def test_weights_from_npz_and_json_any_subset(tmp_path):
    w = np.ones((2, 1, 3, 3))
    np.savez(tmp_path / "w.npz", **{"conv.weight": w})
    (tmp_path / "w.json").write_text(json.dumps({"fc.bias": [0.5]}))
    np.testing.assert_array_equal(load_weights(tmp_path / "w.npz", CAP)["conv.weight"], w)
    assert load_weights(tmp_path / "w.json", CAP)["fc.bias"].tolist() == [0.5]


def test_weights_refuse_unknown_keys_listing_the_accepted_ones(tmp_path):
    np.savez(tmp_path / "w.npz", **{"conv_1.w": np.ones((2, 1, 3, 3))})
    with pytest.raises(InputFileError) as error:
        load_weights(tmp_path / "w.npz", CAP)
    assert str(error.value) == (
        f"--weights {tmp_path / 'w.npz'} has unknown key(s) 'conv_1.w'; the accepted keys "
        "are <layer>.weight and <layer>.bias (conv.weight, conv.bias, fc.weight, fc.bias, "
        "conv2.weight, …; a bn's also <layer>.running_mean and .running_var), or a torch "
        "nn.Sequential's state dict (0.weight, 3.bias, …)"
    )


def test_weights_accept_any_layer_name_and_state_dict_positions(tmp_path):
    arrays = {"conv2.weight": np.ones((2, 1, 3, 3)), "3.bias": np.ones(2)}
    np.savez(tmp_path / "w.npz", **arrays)
    assert set(load_weights(tmp_path / "w.npz", CAP)) == set(arrays)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", 1.0), ("0.25", 0.25), ("0,2,1", [0.0, 2.0, 1.0])]
)
def test_target_values(value, expected):
    target, source = load_target(value, CAP)
    assert np.asarray(target).tolist() == expected and source is None


def test_target_file(tmp_path):
    np.save(tmp_path / "y.npy", np.array([2, 0]))
    target, source = load_target(str(tmp_path / "y.npy"), CAP)
    assert target.tolist() == [2, 0] and source == str(tmp_path / "y.npy")
    with pytest.raises(InputFileError, match="neither a number"):
        load_target("yes", CAP)


# --------------------------------------------------------------------------- refusals
def test_object_array_is_refused_before_unpickling(tmp_path, monkeypatch):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(InputFileError, match="holds Python objects"):
        load_array(path, "--input", CAP)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # what a malicious .pt does: run code when unpickled
        return (open, (str(self.marker), "w"))


def test_pt_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned.txt"
    torch.save({"input": _Exploit(marker)}, tmp_path / "evil.pt")
    assert not marker.exists()
    with pytest.raises(InputFileError, match="would run code stored in the file"):
        load_input(tmp_path / "evil.pt", CAP)
    assert not marker.exists()


def test_npy_header_is_judged_before_the_data_is_read(tmp_path):
    np.save(tmp_path / "big.npy", np.zeros((40, 50)))
    with pytest.raises(InputFileError, match=r"shape \(40, 50\), that is 2,000 numbers, more"):
        load_array(tmp_path / "big.npy", "--input", 1000)


def test_truncated_npy_is_refused(tmp_path):
    path = _write(tmp_path / "cut.npy", GRID)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(InputFileError, match="truncated or damaged"):
        load_array(path, "--input", CAP)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "it is an empty list, not numbers"),
        ("[[1, 2], [3]]", r"ragged: entry \[1\] has 1 entry but entry \[0\] has 2"),
        ('[[1, "2"]]', r'entry \[0\]\[1\] is "2" \(a string\), not a number'),
        ("[[1, true]]", r"entry \[0\]\[1\] is true \(a boolean\), not a number"),
        ("[[1, null]]", r"entry \[0\]\[1\] is null \(null\), not a number"),
        ("[[1, 2]", "is not valid JSON"),
    ],
)
def test_bad_json(tmp_path, text, message):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message):
        load_array(path, "--input", CAP)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2\n3,x\n", "line 2, column 2 is 'x', not a number"),
        ("1,2\n3,\n", "line 2, column 2 is empty, not a number"),
        ("1 2 3\n4 5\n", "line 2 has 2 numbers but line 1 has 3"),
        ("# nothing\n\n", "holds no numbers"),
        ("1_000,2\n", "line 1, column 1 is '1_000', not a number"),
    ],
)
def test_bad_csv(tmp_path, text, message):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message):
        load_array(path, "--input", CAP)


def test_nan_is_named_with_its_index_in_the_file(tmp_path):
    grid = GRID.copy()
    grid[2, 1] = np.nan
    path = _write(tmp_path / "x.npy", grid)
    with pytest.raises(InputFileError, match=r"x.npy contains nan at index \[2, 1\]"):
        load_input(path, CAP)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([1 + 2j]), "must hold real numbers, got dtype complex128"),
        (np.array([True]), "must hold real numbers, got dtype bool"),
        (np.array(["a"]), "must hold real numbers, got dtype <U1"),
        (np.zeros((0, 3)), r"holds no numbers \(shape \(0, 3\)\)"),
    ],
)
def test_only_real_numbers(tmp_path, array, message):
    path = tmp_path / "x.npy"
    np.save(path, array)
    with pytest.raises(InputFileError, match=message):
        load_array(path, "--input", CAP)


def test_unsupported_suffix_and_directories(tmp_path):
    with pytest.raises(InputFileError, match=r"unsupported file type '.png'; use one of .npy"):
        load_array(tmp_path / "x.png", "--input", CAP)
    (tmp_path / "d.npy").mkdir()
    with pytest.raises(InputFileError, match="is a directory, not a file"):
        load_array(tmp_path / "d.npy", "--input", CAP)
    with pytest.raises(InputFileError, match=r"unsupported file type '.npy'; use one of .npz"):
        load_weights(tmp_path / "w.npy", CAP)


def test_pt_random_bytes_and_the_legacy_format(tmp_path):
    (tmp_path / "noise.pt").write_bytes(bytes(range(7, 250)))
    with pytest.raises(InputFileError, match="is not a file saved by torch.save"):
        load_input(tmp_path / "noise.pt", CAP)
    torch.save(torch.ones(3, 4), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    assert load_input(tmp_path / "old.pt", CAP).shape == (1, 1, 3, 4)


def test_pt_holding_a_whole_module_is_refused(tmp_path):
    torch.save(torch.nn.Linear(2, 1), tmp_path / "model.pt")
    with pytest.raises(InputFileError, match="save only a tensor or a state dict"):
        load_weights(tmp_path / "model.pt", CAP)
