"""The animation frames (pure numpy) against the trace, torch's reference and explain."""

import subprocess
import sys

import numpy as np
import pytest

from convtrace.explain.cell import explain_cell
from convtrace.live.source import animation_for

from .conftest import SCENARIOS, trace_of


@pytest.mark.parametrize("name", SCENARIOS)
def test_conv_frames_fill_the_output_window_by_window_in_nfij_order(name):
    trace = trace_of(name)
    anim = animation_for(trace, "conv.out")
    ours, theirs = trace["conv.out"].values, trace["conv.out"].reference
    assert anim.kind == "conv" and len(anim.frames) == ours.size
    order = list(np.ndindex(*ours.shape))
    for k in range(len(anim.frames)):
        frame = anim.frames[k]
        assert frame.index == order[k]
        # the running sum adds one product at a time and ends, with the bias, at the trace's cell
        assert np.allclose(np.diff(frame.running, prepend=0), frame.products.ravel())
        assert frame.value == pytest.approx(frame.running[-1] + frame.bias)
        assert frame.value == pytest.approx(float(ours[frame.index]), rel=1e-5, abs=1e-5)
        assert frame.value == pytest.approx(float(theirs[frame.index]), rel=1e-5, abs=1e-5)
        assert frame.filled.sum() == k + 1 and frame.filled[frame.index]
        assert np.allclose(frame.output[frame.filled], ours[frame.filled], atol=1e-4)


@pytest.mark.parametrize("name", SCENARIOS)
def test_conv_frame_products_are_explains_terms_in_order(name):
    trace = trace_of(name)
    anim = animation_for(trace, "conv.out")
    for k in range(0, len(anim.frames), 5):
        frame = anim.frames[k]
        e = explain_cell(trace, "conv.out", frame.index)
        assert np.allclose(np.cumsum([t.product for t in e.terms]), frame.running)
        assert frame.value == pytest.approx(e.value)


@pytest.mark.parametrize("name", SCENARIOS)
def test_pool_frames_take_the_windows_max_or_mean(name):
    trace = trace_of(name)
    anim = animation_for(trace, "pool.out")
    ours = trace["pool.out"].values
    for k in range(len(anim.frames)):
        frame = anim.frames[k]
        assert frame.value == pytest.approx(float(trace["pool.out"].reference[frame.index]))
        if "pool.argmax" in trace:
            assert frame.chosen == int(trace["pool.argmax"].values[frame.index])
        assert np.allclose(frame.output[frame.filled], ours[frame.filled], atol=1e-5)


@pytest.mark.parametrize("name", SCENARIOS)
def test_col2im_accumulates_grad_input_and_counts_explains_terms(name):
    trace = trace_of(name)
    anim = animation_for(trace, "grad.input")
    dx = trace["grad.input"].reference
    for n in range(dx.shape[0]):
        frames = anim.frames.sample_range(n)
        assert len(frames) == np.prod(trace["grad.conv.out"].shape[1:])
        last = anim.frames[frames[-1]]
        grad, touches = last.inside(anim.geometry.pads)
        assert np.allclose(grad, dx[n], atol=1e-4)
        for r, q in np.ndindex(*touches.shape):
            e = explain_cell(trace, "grad.input", (n, 0, r, q))
            assert touches[r, q] == len(e.terms), (n, r, q)


def test_col2im_touches_grow_by_one_per_tap_and_stepping_back_recomputes():
    trace = trace_of("pad1-k2-s2-overlapping-max")
    frames = animation_for(trace, "grad.input").frames
    before = frames[4].touches
    after = frames[5]
    added = np.zeros_like(before)
    for r, q in after.taps:
        added[r, q] += 1
    assert np.array_equal(after.touches - before, added)
    assert np.array_equal(frames[4].touches, before)  # back, after a step forward


def test_stages_without_an_animation_have_none(trace):
    assert animation_for(trace, "fc.out") is None
    assert animation_for(trace, "conv.weight") is None


def test_frames_import_neither_textual_nor_rich():
    code = (
        "import sys, convtrace.live.frames, convtrace.live.source\n"
        "sys.exit(3 if {'textual', 'rich'} & {m.split('.')[0] for m in sys.modules} else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("net", ["conv(2,3,stride=2) convT(2,3,stride=2,output_padding=1)",
                                 "conv(3,2) convT(2,3,stride=2,padding=1)"])  # fmt: skip
def test_convt_scatter_frames_build_torchs_output_and_count_explains_pairs(net):
    """The scatter of convt.out, copy by copy, ends at torch's ConvTranspose2d output (minus
    the bias), and the copies landing on each cell are explain's terms per channel."""
    from convtrace.scenario.build import build_scenario
    from convtrace.scenario.spec import ScenarioSpec
    from convtrace.tracing.pipeline import run_pipeline
    from convtrace.tracing.reference import attach_reference

    spec = ScenarioSpec(net=net, loss="mse", batch=2, height=8, width=8, channels=2)
    trace = attach_reference(run_pipeline(build_scenario(spec)))
    anim = animation_for(trace, "convt.out")
    assert anim.kind == "scatter"
    out, bias = trace["convt.out"].reference, trace["convt.bias"].reference
    channels = trace["conv.out"].shape[1]
    for n in range(out.shape[0]):
        frames = anim.frames.sample_range(n)
        assert len(frames) == np.prod(trace["conv.out"].shape[1:])  # one per input pixel
        grad, touches = anim.frames[frames[-1]].inside(anim.geometry.pads)
        assert np.allclose(grad + bias[:, None, None], out[n], atol=1e-4)
        for y, q in np.ndindex(*touches.shape):
            e = explain_cell(trace, "convt.out", (n, 0, y, q))
            assert touches[y, q] == len(e.terms), (n, y, q)  # C · landing pairs
    assert channels == anim.frames.shape[1]
