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
