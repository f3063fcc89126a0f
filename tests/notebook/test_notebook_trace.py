"""convtrace.trace() for notebooks: the CLI's run, options, messages and views, from Python."""

from __future__ import annotations

import html
import inspect
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import convtrace
from convtrace import ConvtraceError, NotebookTrace
from convtrace.cli.main import app
from convtrace.explain.cell import Explanation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def cli(*args):
    """``convtrace ARGS`` at 100 columns without colour: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(
        app, [str(a) for a in args], env={"COLUMNS": "100", "NO_COLOR": "1"}
    )
    return result.exit_code, result.stdout, result.stderr


def plain(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.fixture(scope="module")
def t() -> NotebookTrace:
    return convtrace.trace(seed=42)


# --------------------------------------------------------------------------- values
def test_getitem_is_the_stage_array_and_agrees_with_torch(t):
    x, w, b = t["input"], t["conv.weight"], t["conv.bias"]
    assert isinstance(t["conv.out"], np.ndarray) and t["conv.out"].shape == (1, 2, 4, 4)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    np.testing.assert_allclose(t["conv.out"], expected.numpy(), rtol=1e-6)

    xt, wt = torch.tensor(x), torch.tensor(w, requires_grad=True)
    h = torch.nn.functional.conv2d(xt, wt, torch.tensor(b))
    h.backward(torch.tensor(t["grad.conv.out"]))
    np.testing.assert_allclose(t["grad.conv.weight"], wt.grad.numpy(), rtol=1e-6)


def test_getitem_returns_a_copy_and_stage_gives_the_stage(t):
    values = t["conv.out"]
    values[...] = 0
    assert np.any(t["conv.out"] != 0)
    stage = t.stage("grad.conv.weight")
    assert stage.name == "grad.conv.weight" and stage.reference is not None
    assert t.trace["conv.out"] is t.stage("conv.out")  # the Trace underneath is unchanged
    assert t.names == t.trace.names and list(t) == t.names and len(t) == len(t.trace)
    assert "loss" in t and "nope" not in t
    with pytest.raises(KeyError, match="stages are: input"):
        t["nope"]


def test_package_stays_importable_and_torch_is_not_imported_by_import_convtrace():
    import convtrace.tracing.reference as reference

    assert callable(reference.attach_reference)
    assert inspect.isfunction(convtrace.trace)  # the package is convtrace.tracing: no shadowing
    code = "import sys, convtrace; convtrace.trace; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- same as the CLI
@pytest.mark.parametrize(
    "options, flags",
    [
        ({"seed": 7, "stride": 2, "padding": "same", "size": 7},
         ["--seed", 7, "--stride", 2, "--padding", "same", "--size", 7]),
        ({"net": "conv(3,3) relu maxpool(2) fc(4)", "loss": "ce", "classes": 4, "method": "loop",
          "dtype": "float64"},
         ["--net", "conv(3,3) relu maxpool(2) fc(4)", "--loss", "ce", "--classes", 4,
          "--method", "loop", "--dtype", "float64"]),
        # a keyword at its default still overrides the file (relu there), as a typed flag does
        ({"scenario": EXAMPLES / "rgb_avgpool.toml", "activation": "none"},
         ["--scenario", EXAMPLES / "rgb_avgpool.toml", "--activation", "none"]),
        ({"reference": False, "batch": 2}, ["--no-compare-torch", "--batch", 2]),
    ],
)  # fmt: skip
def test_to_dict_is_the_json_document_of_convtrace_run(options, flags):
    code, stdout, _ = cli("run", "--json", *flags)
    assert code == 0
    assert convtrace.trace(**options).to_dict() == json.loads(stdout)


def test_files_given_as_paths_or_arrays(tmp_path):
    x = np.arange(49, dtype=np.float64).reshape(7, 7) % 5
    weights = {"conv.weight": np.ones((3, 1, 2, 2)), "conv.bias": np.zeros(3)}
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "w.npz", **weights)
    from_files = convtrace.trace(input=tmp_path / "x.npy", weights=str(tmp_path / "w.npz"))
    code, stdout, _ = cli("run", "--json", "--input", tmp_path / "x.npy", "--weights",
                          tmp_path / "w.npz")  # fmt: skip
    assert code == 0 and from_files.to_dict()["stages"] == json.loads(stdout)["stages"]
    from_arrays = convtrace.trace(input=x, weights=weights)
    for name in from_files.names:
        np.testing.assert_array_equal(from_arrays[name], from_files[name])


@pytest.mark.parametrize(
    "options, flags",
    [
        ({"stride": 0}, ["--stride", 0]),
        ({"loss": "xx"}, ["--loss", "xx"]),
        ({"kernel": 7}, ["--kernel", 7]),
        ({"input": "nope.npy"}, ["--input", "nope.npy"]),
        ({"net": "conv(2,3)", "stride": 2}, ["--net", "conv(2,3)", "--stride", 2]),
        ({"theme": "dark"}, ["--theme", "dark"]),
        ({"bug": "nope"}, ["--bug", "nope"]),
    ],
)
def test_bad_options_raise_the_cli_message(options, flags):
    code, _, stderr = cli("run", *flags)
    assert code == 2 and stderr.startswith("Error: ")
    with pytest.raises(ConvtraceError) as raised:
        convtrace.trace(**options)
    assert f"Error: {raised.value}" == stderr.strip()


def test_unknown_or_mistyped_options_are_refused_in_one_line():
    with pytest.raises(ConvtraceError, match=r"^No such option: seeed; did you mean seed"):
        convtrace.trace(seeed=1)
    with pytest.raises(ConvtraceError, match=r"^Invalid value for 'seed': 'abc' is not a valid"):
        convtrace.trace(seed="abc")
    with pytest.raises(ConvtraceError, match=r"'reference': 'yes' is not True or False"):
        convtrace.trace(reference="yes")


# --------------------------------------------------------------------------- views
def test_the_display_is_the_panels_convtrace_run_prints(t):
    code, stdout, _ = cli("run", "--seed", 42)
    assert code == 0
    bundle = t._repr_mimebundle_()
    assert plain(bundle["text/plain"]) == plain(stdout)


def test_the_html_holds_the_same_text_with_colours(t):
    bundle = t._repr_mimebundle_()
    page = bundle["text/html"]
    assert page.startswith("<pre style=") and "<html" not in page
    assert 'style="color: #' in page  # theme colours as inline styles
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert plain(text) == plain(bundle["text/plain"])


def test_show_filters_and_prints_in_a_terminal(t, capsys):
    t.show("grad.conv.*")
    out = capsys.readouterr().out
    assert "╭─ grad.conv.weight" in out and "╭─ grad.conv.bias" in out
    assert "╭─ conv.out" not in out and "╭─ grad.input" not in out
    with pytest.raises(ConvtraceError, match="no stage matches 'grad'; stages are: input"):
        t.show("grad")


def test_show_and_explain_display_html_in_jupyter(t, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr("convtrace.notebook.in_jupyter", lambda: True)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    t.show("pool.out")
    explanation = t.explain("conv.out[0,1,2,2]")
    assert len(shown) == 2
    panels, explained = (item._repr_mimebundle_() for item in shown)
    assert "pool.out" in panels["text/plain"] and "conv.out  (" not in panels["text/plain"]
    assert "color: #" in panels["text/html"]
    assert explained["text/plain"].startswith("conv.out[0,1,2,2] = ")
    assert isinstance(explanation, Explanation)


def test_explain_returns_the_explanation_and_prints_the_cli_view(t, capsys):
    explanation = t.explain("grad.conv.weight[0,0,0,0]")
    printed = capsys.readouterr().out
    assert isinstance(explanation, Explanation)
    assert explanation.value == pytest.approx(t["grad.conv.weight"][0, 0, 0, 0])
    assert explanation.agrees_with_trace and explanation.agrees_with_reference
    code, stdout, _ = cli("explain", "grad.conv.weight[0,0,0,0]")
    assert code == 0 and plain(printed) == plain(stdout)
    assert repr(explanation).startswith("<Explanation grad.conv.weight[0,0,0,0] = ")
    code, _, stderr = cli("explain", "conv.out[0,9,0,0]")
    with pytest.raises(ConvtraceError) as raised:
        t.explain("conv.out[0,9,0,0]")
    assert code == 2 and f"Error: {raised.value}" == stderr.strip()


def test_rich_print_draws_every_panel_on_any_console(t):
    from rich.console import Console

    console = Console(width=100, file=io.StringIO(), record=True, color_system="truecolor")
    console.print(t)
    text = console.export_text()
    assert all(f"─ {name}  " in text for name in ("input", "conv.out", "grad.input"))
    assert "agree" in text.splitlines()[-1]


def test_repr_is_one_line(t):
    assert repr(t).startswith("<NotebookTrace x 1×1×6×6") and "\n" not in repr(t)
    assert "all agree with torch" in repr(t)
