"""Numbers as the notebook shows them, through the CLI (issue 10, items 4 and 5)."""


def test_float64_run_prints_its_near_whole_gradients_alike_for_ours_and_torch(invoke):
    out = invoke("run", "--dtype", "float64", "--only", "grad.conv.weight", "--side-by-side")
    assert out.exit_code == 0
    assert "25.0" not in out.stdout and out.stdout.count("≈25") == 2
    assert "≈n: rounds to n" in out.stdout
