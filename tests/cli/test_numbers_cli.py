"""Numbers as the notebook shows them, through the CLI (issue 10, items 4 and 5)."""


def test_float64_run_prints_its_near_whole_gradients_alike_for_ours_and_torch(invoke):
    out = invoke("run", "--dtype", "float64", "--only", "grad.conv.weight", "--side-by-side")
    assert out.exit_code == 0
    assert "25.0" not in out.stdout and out.stdout.count("≈25") == 2
    assert "≈n: rounds to n" in out.stdout


def test_saturated_bce_is_explained_in_one_line(invoke):
    """The default --pool avg run has z = -29: σ(z) ≈ y = 0 and every gradient ~1e-13."""
    out = invoke("run", "--pool", "avg", "--only", "loss").stdout
    notes = [line for line in out.splitlines() if "saturated" in line]
    assert len(notes) == 1
    assert "σ(-29) ≈ y = 0" in notes[0] and "--target 1" in notes[0]
    assert "--dtype float64" in notes[0] and len(notes[0]) <= 100


def test_no_saturation_note_when_gradients_are_alive(invoke):
    # z = 18 and y = 0: σ(z) rounds to 1 but the gradient σ(z) - y is 1, far from vanishing
    assert "saturated" not in invoke("run", "--only", "loss").stdout
    assert "saturated" not in invoke("run", "--pool", "avg", "--dtype", "float64").stdout


def test_saturated_cross_entropy_is_said_and_a_live_one_is_not(invoke, tmp_path):
    """Large inputs push one logit far above the others: with that class as the target every
    gradient vanishes (the note names a target that brings them back); with another it does not."""
    import numpy as np

    x = (np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6) - 10) * 40
    np.save(tmp_path / "x.npy", x)
    common = ["--net", "fc(3)", "--loss", "ce", "--classes", "3", "--input", tmp_path / "x.npy"]
    runs = {t: invoke("run", *common, "--target", t, "--only", "grad.*") for t in range(3)}
    outputs = {t: result.stdout for t, result in runs.items()}
    saturated = [t for t, out in outputs.items() if "⚠ saturated" in out]  # not tmp_path's name
    assert len(saturated) == 1, outputs
    note = next(line for line in outputs[saturated[0]].splitlines() if "⚠ saturated" in line)
    assert f"p(y={saturated[0]}) ≈ 1" in note and "--target" in note
