"""CS231n's starter helper ``cs231n.im2col``, offered to a submission in the sandbox: our own
implementation agrees with torch's unfold and fold; a file that imports it loads and is graded
(namespaces and limits only); the submission's own folder still never is on sys.path; a
module the grader lacks is named as such."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest

from convtrace.check import isolation

STARTER = isolation.STARTER


def _im2col():
    spec = importlib.util.spec_from_file_location("starter_im2col", STARTER / "cs231n/im2col.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEOMETRIES = [  # (N, C, H, W, fh, fw, pad, stride): the stride divides H + 2 pad − fh
    (2, 3, 5, 5, 3, 3, 1, 1),
    (1, 2, 6, 4, 3, 3, 0, 1),
    (2, 1, 5, 8, 3, 2, 1, 2),
    (3, 2, 4, 6, 2, 4, 0, 2),
    (1, 1, 1, 1, 1, 1, 0, 1),
    (2, 2, 7, 5, 5, 3, 2, 3),
]


@pytest.mark.parametrize("n, c, h, w, fh, fw, pad, stride", GEOMETRIES)
def test_im2col_and_col2im_agree_with_torchs_unfold_and_fold(n, c, h, w, fh, fw, pad, stride):
    import torch
    import torch.nn.functional as F

    m = _im2col()
    x = np.random.default_rng(h * w + c).standard_normal((n, c, h, w))
    unfolded = F.unfold(torch.tensor(x), (fh, fw), padding=pad, stride=stride).numpy()
    cols = m.im2col_indices(x, fh, fw, padding=pad, stride=stride)
    rows, length = unfolded.shape[1:]
    assert cols.shape == (c * fh * fw, length * n)
    # column l·N + n is window l of sample n
    np.testing.assert_array_equal(cols.reshape(rows, length, n).transpose(2, 0, 1), unfolded)
    k, i, j = m.get_im2col_indices(x.shape, fh, fw, padding=pad, stride=stride)
    assert k.shape == (rows, 1) and i.shape == j.shape == (rows, length)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    np.testing.assert_array_equal(padded[:, k, i, j], unfolded)
    # col2im is the adjoint: torch's fold adds overlapping windows back the same way
    g = np.random.default_rng(7).standard_normal(cols.shape)
    folded = F.fold(
        torch.tensor(g.reshape(rows, length, n).transpose(2, 0, 1).copy()),
        (h, w), (fh, fw), padding=pad, stride=stride,
    ).numpy()  # fmt: skip
    back = m.col2im_indices(g, x.shape, fh, fw, padding=pad, stride=stride)
    assert back.shape == x.shape
    np.testing.assert_allclose(back, folded, rtol=1e-12, atol=1e-12)


def test_a_stride_that_does_not_divide_is_refused():
    with pytest.raises(ValueError, match="does not divide"):
        _im2col().im2col_indices(np.zeros((1, 1, 6, 6)), 3, 3, padding=0, stride=2)


# ------------------------------------------------------------------ in the sandbox
CONV_BY_IM2COL = """\
import numpy as np
from cs231n.im2col import *


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    cols = im2col_indices(x, HH, WW, padding=pad, stride=stride)
    out = (w.reshape(F, -1) @ cols + b.reshape(-1, 1)).reshape(F, Ho, Wo, N)
    return out.transpose(3, 0, 1, 2), (x, w, b, conv_param, cols)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param, cols = cache
    F, _, HH, WW = w.shape
    d = dout.transpose(1, 2, 3, 0).reshape(F, -1)
    dw = (d @ cols.T).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ d
    dx = col2im_indices(dcols, x.shape, HH, WW, conv_param["pad"], conv_param["stride"])
    return dx, dw, dout.sum(axis=(0, 2, 3))
"""

MODES = ["limits"] + (["namespaces"] if isolation._probe().namespaced else [])


def _check(path, monkeypatch, mode):
    from typer.testing import CliRunner

    from convtrace.cli.main import app

    monkeypatch.setenv("CONVTRACE_ISOLATION", "" if mode == "namespaces" else "limits")
    result = CliRunner().invoke(app, ["check", str(path), "--api", "cs231n", "--json"])
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_a_file_built_on_the_starters_im2col_loads_and_passes(tmp_path, monkeypatch, mode):
    path = tmp_path / "layers.py"
    path.write_text(CONV_BY_IM2COL)
    code, out = _check(path, monkeypatch, mode)
    doc = json.loads(out)
    conv = [c for c in doc["cases"] if c["name"] == "exercise"]
    assert conv and conv[0]["passed"], out
    # inside the contract every conv case passes (the helper refuses the others, as CS231n's)
    assert all(c["passed"] for c in doc["cases"] if c.get("in_contract", True)), out


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_the_submissions_own_cs231n_folder_is_not_what_it_imports(tmp_path, monkeypatch, mode):
    # a cs231n/im2col.py beside the submission (as in the assignment's tree) is never used:
    # the submission is copied alone, its folder is not on sys.path
    (tmp_path / "cs231n").mkdir()
    (tmp_path / "cs231n" / "__init__.py").write_text("")
    (tmp_path / "cs231n" / "im2col.py").write_text("def im2col_indices(*a, **k):\n    return 0\n")
    path = tmp_path / "layers.py"
    path.write_text(CONV_BY_IM2COL)
    code, out = _check(path, monkeypatch, mode)
    assert json.loads(out)["cases"][1]["passed"], out


@pytest.mark.slow
@pytest.mark.parametrize("module", ["cs231n.fast_layers", "helpers_of_mine"])
def test_a_module_the_grader_lacks_is_named(tmp_path, monkeypatch, module):
    path = tmp_path / "layers.py"
    path.write_text(f"from {module} import *\n" + CONV_BY_IM2COL)
    code, out = _check(path, monkeypatch, "limits")
    assert code == 2 and f"imports a module the grader does not have: {module}" in out, out


def test_the_starter_is_on_no_path_of_the_grader_itself():
    assert not any(str(STARTER) in p for p in sys.path)  # only the child gets it
    assert (STARTER / "cs231n" / "im2col.py").exists()
