"""Verdicts that cannot lie (issue 20): rounding never disagrees, a planted bug always shows,
torch is never bent by it, and a check of nothing is not a pass.

The judges are independent of the verdict code: torch's own modules, and the same run without
the bug (a stage whose values a bug changed must not say ✓).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convtrace.cli.main import app
from convtrace.core.errors import ConvtraceError
from convtrace.core.layers.bugs import BUGS
from convtrace.render.stages import verdict_text
from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.gradcheck import attach_numeric
from convtrace.tracing.pipeline import run_pipeline
from convtrace.tracing.reference import attach_reference
from tests.test_networks import networks

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "float32_cancel_weights.npz"
SCENARIOS = {
    "default": ["--seed", "42"],
    "avg": ["--seed", "42", "--pool", "avg"],
    "gradients": ["--scenario", str(ROOT / "examples" / "gradients.toml")],
    "lenet": ["--scenario", str(ROOT / "examples" / "lenet.toml")],
}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _doc(*args) -> tuple[int, dict | None, str]:
    result = invoke("run", *args, "--json")
    doc = json.loads(result.stdout) if result.exit_code in (0, 1) else None
    return result.exit_code, doc, result.output


_CLEAN: dict[tuple, dict] = {}


def _clean(*args) -> dict:
    """{stage name: stage} of the run of ``args`` without a bug (cached)."""
    key = tuple(str(a) for a in args)
    if key not in _CLEAN:
        code, doc, output = _doc(*args)
        assert code == 0, output
        _CLEAN[key] = {s["name"]: s for s in doc["stages"]}
    return _CLEAN[key]


def _array(values):
    return None if values is None else np.asarray(values, dtype=np.float64)


def _changed(bugged, clean, floor: float = 0.0) -> bool:
    """The bug moved this stage by more than 1e-3 of its size, by more than ten times what two
    right implementations (ours and torch's, without the bug) already differ by (a float32
    loss of 2.5e-13 is 0 in torch's own formula), and by more than ``floor``: rounding at the
    scale of the run's other stages (a bias gradient that sums to 0 exactly one way and to
    1e-7 the other)."""
    a, b = _array(bugged["values"]), _array(clean["values"])
    if a.shape != b.shape:
        return True
    ref = _array(clean["reference"])
    noise = np.abs(b - ref) if ref is not None and ref.shape == b.shape else np.zeros_like(b)
    change = np.abs(a - b)
    noise = noise + clean.get("drift", 0.0)  # torch float32 vs float64, when measured
    size = max(float(np.abs(b).max()) if b.size else 0.0, float(np.abs(a).max()) if a.size else 0)
    return bool(np.any((change > 1e-3 * size) & (change > 10 * noise) & (change > floor)))


def _floor(stages, dtype: str) -> dict[bool, float]:
    """Ten units of rounding of the largest number among the forward stages and among the
    gradients of a run without the bug: {is_gradient: floor}."""
    eps = float(np.finfo(dtype).eps)
    out = {True: 0.0, False: 0.0}
    for name, stage in stages.items():
        values = _array(stage["values"])
        if values.size:
            grad = name.startswith("grad.")
            out[grad] = max(out[grad], 10 * eps * float(np.abs(values).max()))
    return out


# ------------------------------------------------------------------- (a) rounding never fails
def _mixed(rng, shape, dtype):
    """Random numbers of mixed signs and magnitudes (1e-3 … 1e2), as the float32 fixture."""
    magnitude = 10.0 ** rng.uniform(-3, 2, size=shape)
    return (rng.choice([-1.0, 1.0], size=shape) * magnitude).astype(dtype)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=networks(), seed=st.integers(0, 10_000))
def test_float32_networks_with_mixed_weights_never_disagree(spec, seed):
    try:
        scenario = build_scenario(replace(spec, dtype="float32"))
    except ConvtraceError:
        assume(False)
    rng = np.random.default_rng(seed)
    params = {k: _mixed(rng, np.shape(v), np.float32) for k, v in scenario.params.items()}
    x = _mixed(rng, scenario.x.shape, np.float32)
    try:
        trace = attach_reference(run_pipeline(replace(scenario, x=x, params=params)))
    except ConvtraceError:
        assume(False)  # overflowed float32: refused, not compared
    assert [s.name for s in trace.failures()] == [], spec.net


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=networks(), ulps=st.integers(1, 4))
def test_a_few_ulps_of_difference_never_disagree(spec, ulps):
    """ours moved by a few units in the last place, in every cell of every stage: still ✓."""
    try:
        trace = attach_reference(run_pipeline(build_scenario(spec)))
    except ConvtraceError:
        assume(False)
    for stage in trace:
        values = np.asarray(stage.values)
        if not np.issubdtype(values.dtype, np.floating) or stage.torch is None:
            continue
        moved = values.copy()
        for _ in range(ulps):
            moved = np.nextafter(moved, np.full_like(moved, np.inf))
        stage.values = moved
        assert stage.agrees(trace.tolerance), (spec.net, stage.name)


def test_the_cancelling_float32_fixture_agrees():
    args = ["--net", "conv(2,4,padding=same) fc(1)", "--size", "13", "--seed", "7"]
    result = invoke("run", *args, "--weights", FIXTURE)
    assert result.exit_code == 0, result.output[-2000:]
    # the end-to-end difference is said, not hidden: torch's own run carries the rounding
    assert "torch end to end: max |Δ|" in result.output
    # and the same sum off by 1e-3 of its size is a disagreement
    spec = ScenarioSpec(net=args[1], height=13, width=13, seed=7)
    from convtrace.scenario.files import load_weights

    spec.params = load_weights(FIXTURE, 10**7)
    trace = attach_reference(run_pipeline(build_scenario(spec)))
    stage = trace["fc.out"]
    assert stage.agrees(trace.tolerance)
    f = np.abs(trace["flatten.out"].values.astype(np.float64))
    terms = f @ np.abs(trace["fc.weight"].values.T) + np.abs(trace["fc.bias"].values)
    stage.values = (stage.values + 3e-5 * terms).astype(np.float32)  # 3 rtol·Σ|terms| off
    assert stage.agrees(trace.tolerance) is False


# ------------------------------------------------------------------- (b) a planted bug shows
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("bug", BUGS)
def test_a_planted_bug_shows_wherever_it_changes_a_value(bug, scenario):
    args = list(SCENARIOS[scenario])
    code, doc, output = _doc(*args, "--bug", bug)
    if code == 2:  # refused: one line naming the options that reveal it, which do
        line = output.strip()
        assert line.startswith(f"Error: --bug {bug} needs ") and "\n" not in line
        hint = line.split(": try ", 1)[1].split()
        if hint[0].startswith("conv("):
            return  # a --net example: the hint is a layer to write (test_net_hints_…)
        if scenario == "lenet" and hint[0] == "--batch":
            return  # lenet's input file holds one sample: --batch cannot change it
        args += hint
        code, doc, output = _doc(*args, "--bug", bug)
    assert code == 1, output[-1500:]
    clean = _clean(*args)
    floor = _floor(clean, doc["scenario"]["dtype"])
    affected = [
        s["name"]
        for s in doc["stages"]
        if s["name"] in clean
        and _changed(s, clean[s["name"]], floor[s["name"].startswith("grad.")])
    ]
    assert affected or any(s["agrees"] is False for s in doc["stages"]), "accepted, not shown"
    ticked = [s["name"] for s in doc["stages"] if s["name"] in affected and s["agrees"]]
    assert ticked == [], f"✓ on stages the bug changed: {ticked}"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=networks(), bug=st.sampled_from(sorted(BUGS)))
def test_a_planted_bug_shows_in_random_networks(spec, bug):
    """Over the random networks: every stage a planted bug moves is ✗, saturated or not."""
    from convtrace.tracing.run import compute_trace  # the one run: its refusals included

    try:
        clean = compute_trace(spec)
        bugged = compute_trace(replace(spec, bug=bug))
    except ConvtraceError:
        assume(False)  # a first layer that is not an undilated conv, or a hidden bug: refused
    wide = compute_trace(replace(spec, dtype="float64"))  # torch's own rounding, measured
    before = {s.name: {"values": s.values, "reference": s.reference} for s in clean}
    floor = _floor(before, clean.dtype)
    for stage in clean:  # where float32 itself is off by that much, a change is not one to see
        ref, ref64 = stage.reference, wide[stage.name].reference
        if ref is not None and ref64 is not None and np.shape(ref) == np.shape(ref64):
            before[stage.name]["drift"] = np.abs(np.asarray(ref, np.float64) - ref64)
    # a saturated float32 loss (σ(z) within rounding of y) is below what its own formula can
    # resolve: torch's BCE gives 0 for logits of −16 and −25 alike, and the panel says so
    saturated = {"loss"} if bugged["loss"].meta.get("saturated") else set()
    affected = [
        s
        for s in bugged
        if s.name in before
        and s.name not in saturated
        and _changed({"values": s.values}, before[s.name], floor[s.is_gradient])
    ]
    # the scenario was accepted, so the bug shows (some stage is ✗) even where the judge
    # counts its change as rounding of the whole run (a gradient that is float32 noise)
    assert affected or bugged.failures(), (spec.net, bug)
    ticked = [s.name for s in affected if s.agrees(bugged.tolerance)]
    assert ticked == [], (spec.net, bug, ticked)


def test_a_bug_carried_into_a_saturated_float64_loss_is_not_ticked():
    """Found by the random-network property: the bug moves fc2.out by 58, the saturated CE loss
    by 3.6e-8, under float64's rtol·Σ|terms| (1e-9 · ~100) but a million units of rounding."""
    net = "conv(1,2) maxpool(2) conv(1,2) maxpool(2) fc(4) fc(2)"
    common = ["--net", net, "--seed", "1", "--channels", "2", "--size", "9", "--loss", "ce"]
    common += ["--classes", "3", "--method", "im2col", "--dtype", "float64"]
    code, doc, output = _doc(*common, "--bug", "weights-reinitialised")
    assert code == 1, output[-1500:]
    loss = next(s for s in doc["stages"] if s["name"] == "loss")
    assert loss["agrees"] is False and loss["end_to_end_max_abs_diff"] > 1e-8
    clean_code, clean, _output = _doc(*common)
    assert clean_code == 0 and all(s["agrees"] is not False for s in clean["stages"])


@pytest.mark.parametrize("bug", ["stride-ignored", "padding-not-removed", "same-padding-symmetric"])
def test_net_hints_reveal_the_bug(bug):
    layer = BUGS[bug].needs.net
    code, doc, output = _doc("--net", f"{layer} maxpool(2) fc(1)", "--size", "8", "--bug", bug)
    assert code == 1, output[-1500:]
    assert any(s["agrees"] is False for s in doc["stages"])


def test_a_bug_that_no_scenario_refuses_is_never_refused_in_the_default_run():
    for bug, entry in BUGS.items():
        code, _doc_, output = _doc("--seed", "42", "--bug", bug)
        assert code in (1, 2), output
        if entry.needs is None:
            assert code == 1, (bug, output[-500:])


# --------------------------------------------------------------- (c) torch is never bent
@pytest.mark.parametrize("scenario", ["default", "avg", "gradients"])
@pytest.mark.parametrize("bug", BUGS)
def test_torch_reference_is_byte_identical_with_and_without_a_bug(bug, scenario):
    code, doc, _ = _doc(*SCENARIOS[scenario], "--bug", bug)
    if code == 2:
        return  # refused (a scenario that cannot reveal it): nothing ran
    clean = _clean(*SCENARIOS[scenario])
    for stage in doc["stages"]:
        if stage["name"] in clean:
            assert stage["reference"] == clean[stage["name"]]["reference"], stage["name"]


def test_kernel_flipped_max_pool_argmax_is_torchs_own():
    """The issue's case: torch's argmax under --bug is what torch's max_pool2d picks."""
    code, doc, _ = _doc("--seed", "42", "--bug", "kernel-flipped", "--only", "*")
    stages = {s["name"]: s for s in doc["stages"]}
    x = torch.tensor(stages["input"]["values"], dtype=torch.float32)
    w = torch.tensor(stages["conv.weight"]["reference"], dtype=torch.float32)
    b = torch.tensor(stages["conv.bias"]["reference"], dtype=torch.float32)
    _, flat = F.max_pool2d(F.conv2d(x, w, b), 2, return_indices=True)
    width = 4
    i, j = torch.arange(2).view(1, 1, 2, 1), torch.arange(2).view(1, 1, 1, 2)
    local = (flat // width - 2 * i) * 2 + (flat % width - 2 * j)
    assert stages["pool.argmax"]["reference"] == local.tolist()
    assert code == 1


# --------------------------------------------------------- --bug with --net, --save-scenario
def test_bug_on_a_net_plants_into_its_first_conv_and_refuses_other_first_layers():
    code, doc, _ = _doc("--net", "conv(2,3) relu conv(2,3) fc(1)", "--bug", "kernel-flipped")
    assert code == 1 and doc["scenario"]["bug"] == "kernel-flipped"
    failing = [s["name"] for s in doc["stages"] if s["agrees"] is False]
    assert "conv1.out" in failing and "conv1.weight" not in failing
    result = invoke("run", "--net", "maxpool(2) conv(2,3) fc(1)", "--bug", "kernel-flipped")
    assert result.exit_code == 2 and "first layer, which must be a conv" in result.output


def test_save_scenario_keeps_the_bug(tmp_path):
    first = invoke("run", "--bug", "kernel-flipped", "--save-scenario", tmp_path / "s")
    assert first.exit_code == 1
    text = (tmp_path / "s" / "scenario.toml").read_text(encoding="utf-8")
    assert 'bug = "kernel-flipped"' in text
    code, doc, _ = _doc("--scenario", tmp_path / "s" / "scenario.toml")
    assert code == 1 and doc["scenario"]["bug"] == "kernel-flipped"


# ------------------------------------------------------------- saturation, numeric checks
def test_a_saturated_loss_is_said_on_every_gradient_verdict_and_the_example_is_not():
    trace = attach_reference(run_pipeline(build_scenario(ScenarioSpec(seed=42, pool="avg"))))
    sigma = torch.sigmoid(torch.tensor(trace["fc.out"].values, dtype=torch.float64))
    assert float(sigma.max()) < 1e-7  # saturated by torch's own judgement
    for stage in trace:
        said = "saturated" in verdict_text(stage, trace.tolerance).plain
        assert said == stage.is_gradient, stage.name
    result = invoke("run", *SCENARIOS["gradients"])
    assert result.exit_code == 0 and "saturated" not in result.output


def test_a_stage_whose_cells_all_sit_at_a_tie_is_not_checked_numerically():
    code, doc, _ = _doc("--seed", "42", "--gradcheck", "--only", "grad.*")
    stages = {s["name"]: s for s in doc["stages"]}
    numeric = stages["grad.conv.weight"]["numeric"]
    assert numeric["checked"] == 0 and numeric["agrees"] is None and numeric["kinks"] == 18
    trace = attach_numeric(attach_reference(run_pipeline(build_scenario(ScenarioSpec(seed=42)))))
    text = verdict_text(trace["grad.conv.weight"], trace.tolerance).plain
    assert "not checked numerically (all 18 cells sit at a max-pool tie)" in text
    assert "= numeric" not in text and text.startswith("✓ loop = im2col = torch ·")
    # the example for gradient demos checks every cell, and a wrong gradient fails there
    code, doc, _ = _doc(*SCENARIOS["gradients"], "--gradcheck", "--only", "grad.*")
    for stage in doc["stages"]:
        if "numeric" in stage:
            assert stage["numeric"]["checked"] == stage["numeric"]["of"], stage["name"]
            assert stage["numeric"]["agrees"] is True
    code, doc, _ = _doc(*SCENARIOS["gradients"], "--gradcheck", "--bug",
                        "overwrite-not-accumulate", "--only", "grad.input")  # fmt: skip
    assert code == 1 and doc["stages"][0]["numeric"]["agrees"] is False
