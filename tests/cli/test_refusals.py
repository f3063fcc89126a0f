"""Hostile and odd inputs seen in the field: each is accepted consistently or refused with
``Error: <sentence>`` and exit 2, never an internal error, a traceback or invalid JSON."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest


def refused(result, *words):
    """Exit 2 with one ``Error:`` sentence naming each of ``words``."""
    assert result.exit_code == 2, result.output
    assert "Internal error" not in result.output and "Traceback" not in result.output
    assert "Error:" in result.output
    for word in words:
        assert word in result.output, (word, result.output)


# ----------------------------------------------------------------- item 9: case of choices
@pytest.mark.parametrize(
    ("flag", "value", "key", "normal"),
    [
        ("--loss", "CE", "loss", "ce"),
        ("--pool", "MAX", "pool", "max"),
        ("--pool", "Avg", "pool", "avg"),
        ("--method", "IM2COL", "method", "im2col"),
        ("--dtype", "FLOAT64", "dtype", "float64"),
        ("--activation", "ReLU", "activation", "relu"),
        ("--padding", "SAME", "padding", "same"),
    ],
)
def test_choices_accept_any_case_in_the_run_and_the_json(invoke, flag, value, key, normal):
    result = invoke("run", flag, value, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["scenario"][key] == normal
    assert all(stage["agrees"] for stage in document["stages"])


def test_loss_ce_in_capitals_draws_the_same_network_as_lower_case(invoke):
    upper = json.loads(invoke("run", "--loss", "CE", "--json").stdout)
    lower = json.loads(invoke("run", "--loss", "ce", "--json").stdout)
    assert upper == lower


# ----------------------------------------------------------------- item 10: overflow
def test_float32_input_near_its_limit_is_refused_naming_the_stage_and_range(invoke, tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.full((6, 6), 1e38, np.float32))
    with warnings.catch_warnings():  # numpy's overflow warning would become an exception
        warnings.simplefilter("error", RuntimeWarning)
        result = invoke("run", "--input", path)
    refused(result, "overflowed", "float32", "3.403e+38", "--dtype float64")


def test_overflow_with_json_prints_no_document(invoke, tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.full((6, 6), 1e38, np.float32))
    result = invoke("run", "--input", path, "--json")
    refused(result, "overflowed")
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


def test_float64_near_its_limit_names_float64(invoke, tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.full((6, 6), 1e308))
    refused(invoke("run", "--input", path, "--dtype", "float64"), "overflowed", "float64")


def test_a_float64_file_beyond_float32_is_refused_before_the_cast(invoke, tmp_path):
    path = tmp_path / "huge.npy"
    np.save(path, np.full((6, 6), 1e300))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = invoke("run", "--input", path)
    refused(result, str(path), "float32", "--dtype float64")


def test_large_but_representable_weights_still_agree_with_torch(invoke, tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, **{"conv.weight": np.full((2, 1, 3, 3), 1e30)})
    result = invoke("run", "--weights", path, "--json")
    assert result.exit_code == 0, result.output
    assert all(s["agrees"] for s in json.loads(result.stdout)["stages"])


def test_huge_logits_do_not_make_the_losses_overflow(invoke, tmp_path):
    """bce and ce are computed from logits in a stable form: a logit of 1e30 is no overflow."""
    path = tmp_path / "w.npz"
    np.savez(path, **{"fc.bias": np.full(3, 1e30) * np.array([1, -1, 0])})
    result = invoke("run", "--weights", path, "--loss", "ce", "--json")
    assert result.exit_code == 0, result.output
    path1 = tmp_path / "w1.npz"
    np.savez(path1, **{"fc.bias": np.array([1e30])})
    result = invoke("run", "--weights", path1, "--json")
    assert result.exit_code == 0, result.output


# ----------------------------------------------------------------- item 11: sizes no machine holds
def test_shapes_of_a_size_beyond_int32_is_refused_without_allocating(invoke):
    refused(invoke("shapes", "--size", 2147483648, "--json"), "--size 2147483648", "1,000,000")


@pytest.mark.parametrize("option", ["--kernel", "--stride", "--dilation", "--padding"])
def test_shapes_refuses_every_oversized_number_naming_its_option(invoke, option):
    refused(invoke("shapes", option, 10**30), f"{option} {10**30}")


def test_explain_index_of_5000_digits_is_a_sentence(invoke):
    result = invoke("explain", f"conv.out[{'9' * 5000},0,0,0]")
    refused(result, "5000 digits")
    assert "4300" not in result.output


# ----------------------------------------------------------------- item 17: bounded by the budget
def test_shapes_of_a_million_draws_a_fixed_width_strip_quickly(invoke):
    import time

    start = time.perf_counter()
    result = invoke("shapes", "--size", 1_000_000, "--stride", 7)
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - start < 10
    lines = result.output.splitlines()
    assert len(lines) < 30 and all(len(line) <= 100 for line in lines)
    assert "571,428 in all" in result.output or "in all" in result.output


def test_shapes_json_of_a_million_is_exact_about_the_unread_count(invoke):
    import torch

    # The same rule at a size torch can check: 50 rows, stride 7, kernel 3: rows no window reads
    # have a zero gradient in torch's conv.
    x = torch.ones(1, 1, 50, 1, requires_grad=True)
    torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 1), stride=(7, 1)).sum().backward()
    expected = int((x.grad[0, 0, :, 0] == 0).sum())
    doc = json.loads(invoke("shapes", "--size", 50, "--stride", 7, "--json").stdout)
    assert doc["axes"][0]["unread_count"] == expected
    big = json.loads(invoke("shapes", "--size", 1_000_000, "--stride", 7, "--json").stdout)
    assert big["axes"][0]["unread_count"] == 1_000_000 - 3 * ((1_000_000 - 3) // 7 + 1)
    assert len(big["axes"][0]["unread"]) <= 12


@pytest.mark.parametrize("size", [87, 200, 5000])
def test_shapes_strip_never_wraps_at_100_columns(invoke, size):
    result = invoke("shapes", "--size", size, "--stride", 3, "--dilation", 2, "--kernel", 2)
    assert result.exit_code == 0, result.output
    strips = [line for line in result.output.splitlines() if "rows    " in line]
    assert len(strips) == 1 and all(len(line) <= 100 for line in result.output.splitlines())


def test_a_raised_max_elements_the_machine_cannot_hold_is_a_sentence(invoke, monkeypatch):
    from convtrace.scenario import validation

    monkeypatch.setattr(validation, "available_memory", lambda: 2**30)
    result = invoke("run", "--size", 3000, "--max-elements", 10**12, "--method", "im2col")
    refused(result, "--max-elements", "GiB", "cannot hold")


# ----------------------------------------------------------------- item 14: the option typed
def test_negative_size_names_size(invoke):
    result = invoke("run", "--size", -6)
    refused(result, "--size must be at least 1, got -6")
    assert "--height" not in result.output


def test_a_stride_that_shrinks_the_map_below_the_pool_names_the_stride(invoke):
    refused(invoke("run", "--stride", 10), "stride 10×10", "conv output 1×1", "--stride")


def test_a_single_bce_target_out_of_range_is_named_as_typed(invoke):
    result = invoke("run", "--target", 2)
    refused(result, "--target 2", "got 2")
    assert "2.0 to 2.0" not in result.output


# ----------------------------------------------------------------- item 13: weights shapes
@pytest.mark.parametrize(
    ("key", "shape", "expected"),
    [
        ("conv.weight", (2, 3, 3), "(2, 1, 3, 3)"),
        ("conv.weight", (2, 1, 3, 3, 1), "(2, 1, 3, 3)"),
        ("conv.bias", (2, 1), "(2,)"),
        ("fc.weight", (1, 1, 8), "(out, 8)"),
        ("fc.weight", (8,), "(out, 8)"),
        ("fc.bias", (1, 1), "(1,)"),
    ],
)
def test_weights_of_the_wrong_rank_name_the_expected_shape(invoke, tmp_path, key, shape, expected):
    path = tmp_path / "w.npz"
    np.savez(path, **{key: np.ones(shape)})
    refused(invoke("run", "--weights", path), key, expected)


def test_json_weights_of_the_wrong_rank_are_refused(invoke, tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"conv.weight": np.ones((2, 3, 3)).tolist()}))
    refused(invoke("run", "--weights", path), "conv.weight", "(2, 1, 3, 3)")


# ----------------------------------------------------------------- item 12: scenario files
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("seed = 1979-05-27\n", ["seed", "(a date)"]),
        ("kernel = 07:32:00\n", ["kernel", "(a time)"]),
        ("size = {a = 1}\n", ["size", "(a table)"]),
        ("batch = true\n", ["batch", "(a boolean)"]),
        ("seed = [1, 2]\n", ["seed", "(a list)"]),
        ("input = [[1979-05-27, 2]]\n", ["input", "(a date)"]),
        ("target = [1, 1979-05-27T07:32:00]\n", ["target", "(a date-time)"]),
        ('[weights]\n"conv.bias" = [1979-05-27, 1]\n', ["weights", "conv.bias", "(a date)"]),
        ("colour = 1\n", ["colour"]),
        ('input = "missing.npy"\n', ["missing.npy", "does not exist", "key input"]),
    ],
)
def test_scenario_file_values_of_the_wrong_kind_name_the_key_and_file(
    invoke, tmp_path, text, words
):
    path = tmp_path / "s.toml"
    path.write_text(text)
    refused(invoke("run", "--scenario", path), "s.toml", *words)


@pytest.mark.parametrize("depth", [65, 490])
def test_arrays_nested_past_numpy_s_limit_are_a_sentence(invoke, tmp_path, depth):
    toml = tmp_path / "s.toml"
    toml.write_text("input = " + "[" * depth + "1" + "]" * depth + "\n")
    refused(invoke("run", "--scenario", toml), "s.toml")
    as_json = tmp_path / "x.json"
    as_json.write_text("[" * depth + "1" + "]" * depth)
    refused(invoke("run", "--input", as_json), "x.json")


def test_save_scenario_in_a_directory_with_a_newline_and_quotes_replays(invoke, tmp_path):
    directory = tmp_path / 'odd\nname "quoted" \\ \x7f'
    first = invoke("run", "--loss", "ce", "--save-scenario", directory, "--json")
    assert first.exit_code == 0, first.output
    again = invoke("run", "--scenario", directory / "scenario.toml", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["stages"] == json.loads(first.stdout)["stages"]


# ----------------------------------------------------------------- item 16: also seen
def test_superscript_padding_is_refused(invoke):
    refused(invoke("run", "--padding", "²"), "padding", "'²'")


@pytest.mark.parametrize("seed", [2**64, -(2**63) - 1])
def test_seeds_outside_the_generator_are_refused(invoke, seed):
    refused(invoke("run", "--seed", seed), "--seed", str(seed))


def test_the_largest_seed_the_generator_takes_runs(invoke):
    assert invoke("run", "--seed", 2**64 - 1, "--json").exit_code == 0


def test_npy_header_with_negative_dimensions_is_refused(invoke, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((6, 6)))
    path.write_bytes(path.read_bytes().replace(b"(6, 6)", b"(-6, -6)", 1))
    refused(invoke("run", "--input", path), "(-6, -6)")


@pytest.mark.parametrize("kind", ["sparse", "quantized", "meta"])
def test_pt_with_a_non_dense_tensor_is_refused(invoke, tmp_path, kind):
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tensor = {
            "sparse": lambda: torch.zeros(2, 1, 3, 3).to_sparse(),
            "quantized": lambda: torch.quantize_per_tensor(
                torch.zeros(2, 1, 3, 3), 0.1, 0, torch.qint8
            ),
            "meta": lambda: torch.zeros(2, 1, 3, 3, device="meta"),
        }[kind]()
        torch.save({"conv.weight": tensor}, tmp_path / "w.pt")
    refused(invoke("run", "--weights", tmp_path / "w.pt"), kind, "conv.weight")


@pytest.mark.parametrize("option", ["--input", "--weights", "--scenario"])
def test_a_file_name_longer_than_the_system_allows_is_a_sentence(invoke, option):
    suffix = {"--input": ".npy", "--weights": ".npz", "--scenario": ".toml"}[option]
    refused(invoke("run", option, "a" * 400 + suffix), option)


@pytest.mark.parametrize(
    "option",
    ["--batch", "--channels", "--size", "--height", "--filters", "--kernel", "--stride",
     "--padding", "--dilation", "--pool-size", "--pool-stride", "--classes"],
)  # fmt: skip
def test_run_refuses_every_oversized_integer_with_a_sentence(invoke, option):
    result = invoke("run", option, 10**30, "--pool", "none", "--loss", "ce", "--json")
    refused(result, "10000000000000000000000000000" if option != "--batch" else "limit")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--height", -3, "--width", 5), "--height must be at least 1, got -3"),
        (("--height", 0, "--size", 5), "--height must be at least 1, got 0"),
        (("--width", 10**7, "--height", 3), "--width 10000000"),
        (("--size", -6), "--size must be at least 1, got -6"),
    ],
)
def test_shapes_names_the_size_option_typed(invoke, args, message):
    refused(invoke("shapes", *args), message)


def test_float64_values_close_to_its_limit_that_do_not_overflow_are_drawn(invoke, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.full((6, 6), 1e307))  # the logit is -8e307: finite, a third of the max
    result = invoke("run", "--input", path, "--dtype", "float64")
    assert result.exit_code == 0, result.output
    assert "25 of 25 stages agree" in result.output


def test_numbers_of_5000_digits_anywhere_are_a_sentence(invoke, tmp_path):
    digits = "1" * 5000
    refused(invoke("run", "--padding", digits), "--padding", "5000 digits")
    refused(invoke("shapes", "--padding", f"3,{digits}"), "--padding", "5000 digits")
    target = invoke("run", "--target", digits)
    refused(target, "--target")
    assert len(target.output) < 300
    toml = tmp_path / "s.toml"
    toml.write_text(f"seed = {digits}\n")
    refused(invoke("run", "--scenario", toml), "s.toml", "too long")


def test_npy_header_declaring_70_dimensions_is_refused(invoke, tmp_path):
    path = tmp_path / "x.npy"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + "1, " * 70 + "), }"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    size = len(header).to_bytes(2, "little")
    path.write_bytes(b"\x93NUMPY\x01\x00" + size + header.encode() + np.zeros(1).tobytes())
    refused(invoke("run", "--input", path), "70 dimensions")
