"""`--bug ID` on run/forward/backward/explain: the catalog bug planted into the conv layer
turns the stages it touches red against torch, and never crashes the pipeline."""

import json

import pytest

from convtrace.core.layers.bugs import BUGS  # the plantable ones (run --bug)

# Flags under which each bug shows, and a stage it must turn red.
SHOWS = {
    "kernel-flipped": ([], "conv.out"),
    "stride-ignored": (["--stride", "2", "--size", "7"], "grad.conv.weight"),
    "same-padding-symmetric": (["--padding", "same", "--kernel", "2"], "conv.out"),
    "padding-not-removed": (["--padding", "same"], "grad.input"),
    "overwrite-not-accumulate": ([], "grad.input"),
    "grad-not-summed-over-batch": (["--batch", "3"], "grad.conv.weight"),
    "channels-last-output": ([], "conv.out"),
    "dF-dX-swapped": ([], "grad.input"),
    "weights-reinitialised": ([], "conv.out"),
}


# Bugs of the backward pass: exactly these stages disagree, the forward ones all agree.
BACKWARD_ONLY = {
    "padding-not-removed": {"grad.input"},
    "overwrite-not-accumulate": {"grad.input"},
    "grad-not-summed-over-batch": {"grad.conv.weight", "grad.conv.bias"},
    "dF-dX-swapped": {"grad.conv.weight", "grad.input"},
}


def test_every_bug_has_a_scenario():
    assert set(SHOWS) == set(BUGS)


@pytest.mark.parametrize("bug", sorted(SHOWS))
def test_a_planted_bug_turns_its_stage_red(invoke, bug):
    flags, stage = SHOWS[bug]
    result = invoke("run", "--bug", bug, *flags, "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["scenario"]["bug"] == bug
    stages = {s["name"]: s for s in doc["stages"]}
    assert stages[stage]["agrees"] is False
    assert stages["input"]["agrees"] and stages["loss"]["agrees"] is not None  # still ran on
    red = {name for name, s in stages.items() if s["agrees"] is False}
    if bug in BACKWARD_ONLY:
        assert red == BACKWARD_ONLY[bug]


def test_layout_bugs_say_what_the_pipeline_repaired(invoke):
    result = invoke("run", "--bug", "channels-last-output")
    assert result.exit_code == 1
    assert "bug channels-last-output" in " ".join(result.stdout.split())
    assert "moved to (N, F, H, W) for the next layer" in result.stdout
    assert "shapes differ · ours (1, 4, 4, 2) ≠ torch (1, 2, 4, 4)" in result.stdout


def test_without_a_bug_the_scenario_says_none(invoke):
    doc = json.loads(invoke("forward", "--json").stdout)
    assert doc["scenario"]["bug"] is None


@pytest.mark.parametrize("command", ["forward", "backward"])
def test_forward_and_backward_take_a_bug(invoke, command):
    result = invoke(command, "--bug", "kernel-flipped")
    assert result.exit_code == 1 and "conv.out" in result.stdout


def test_explain_with_a_bug_disagrees_with_the_trace(invoke):
    result = invoke("explain", "conv.out[0,1,2,2]", "--bug", "kernel-flipped")
    assert result.exit_code == 1
    assert "differs from the trace's conv.out[0,1,2,2]" in result.stdout


def test_an_unknown_bug_is_exit_2_listing_the_ids(invoke):
    result = invoke("run", "--bug", "off-by-one")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith("Error: --bug 'off-by-one' is not in the catalog; ids: kernel-flipped")
    assert all(bug in line for bug in BUGS)
    assert invoke("run", "--bug", "kernel-flipped", "--dilation", "2").exit_code == 2


def test_a_layout_bug_is_repaired_before_the_activation_too(invoke):
    result = invoke("run", "--bug", "channels-last-output", "--activation", "relu", "--json")
    assert result.exit_code == 1, result.output
    stages = {s["name"]: s for s in json.loads(result.stdout)["stages"]}
    assert [name for name, s in stages.items() if s["agrees"] is False] == ["conv.out"]
