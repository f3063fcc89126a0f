"""explain: every cell kind's terms add up to the trace's value and torch's, in as many terms as
the geometry implies, over the default scenario and non-trivial ones."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convtrace.core.errors import ConvtraceError
from convtrace.explain.cell import explain_cell, explanation_document, parse_cell
from convtrace.explain.sums import explainable
from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.pipeline import run_pipeline
from convtrace.tracing.reference import attach_reference

SCENARIOS = {
    "default": {},
    "batch2-same-s2-d2-relu-avg": dict(
        batch=2,
        channels=2,
        height=7,
        width=7,
        padding="same",
        stride=2,
        dilation=2,
        activation="relu",
        pool="avg",
        pool_stride=1,
    ),
    "pad1-k2-s2-ce-float64-overlapping-max": dict(
        batch=3,
        channels=3,
        height=5,
        width=8,
        kernel=2,
        padding=1,
        stride=2,
        filters=3,
        loss="ce",
        dtype="float64",
        pool_size=2,
        pool_stride=1,
        seed=7,
    ),
    "no-pool-mse-loop": dict(channels=2, pool="none", loss="mse", method="loop", seed=3),
}
_TRACES = {}


def trace_of(name):
    if name not in _TRACES:
        spec = ScenarioSpec(**SCENARIOS[name])
        _TRACES[name] = attach_reference(run_pipeline(build_scenario(spec)))
    return _TRACES[name]


def expected_term_count(trace, stage, index):
    """How many terms the geometry implies, counted by brute force over every combination."""
    layer, (family, role) = explainable(trace.layers)[stage]
    if (family, role) == ("loss", "grad"):
        return 1  # one cell of the loss's derivative is one term
    if family == "loss":
        z = trace[f"{trace.layers[-1].name}.out"]
        return z.shape[0] if trace.scenario.loss == "ce" else int(np.prod(z.shape))
    if family in ("act", "flatten"):
        return 1
    in_shape = trace[layer.in_stage].shape
    out_shape = trace[f"{layer.name}.out"].shape
    if family == "fc":
        return {"out": in_shape[1], "weight": in_shape[0], "bias": in_shape[0]}.get(
            role, out_shape[1]
        )
    if family == "pool":
        (ph, pw), (sh, sw) = layer.kernel_size, layer.stride
        if role == "out":
            return ph * pw
        _, _, r, q = index
        return sum(
            1
            for i, j in itertools.product(range(out_shape[2]), range(out_shape[3]))
            if 0 <= r - i * sh < ph and 0 <= q - j * sw < pw
        )
    n_count, c_count = in_shape[:2]
    f_count, _, kh, kw = layer.weight.shape
    h_out, w_out = out_shape[2:]
    if role == "out":
        return c_count * kh * kw
    if role in ("weight", "bias"):
        return n_count * h_out * w_out  # padding reads included, as factor 0
    _, _, r, q = index
    (pt, _), (pl, _) = layer.pads
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    return sum(
        1
        for _f, i, j, u, v in itertools.product(
            range(f_count), range(h_out), range(w_out), range(kh), range(kw)
        )
        if i * sh + u * dh - pt == r and j * sw + v * dw - pl == q
    )


def _loss_parts(m, loss):
    """Σ|parts| of one averaged loss term, from the numbers it was made of."""
    if loss == "ce":
        return abs(m["lse"]) * 2 + abs(m["z_target"])
    if loss == "mse":
        return (abs(m["z"]) + abs(m["y"])) ** 2
    return abs(m["z"]) * (1 + abs(m["y"])) + abs(m["inner"])


def check(trace, stage, index):
    e = explain_cell(trace, stage, index)
    # the agreement rule: rtol·Σ|terms| (no floor of 1: a 1e-13 cell is judged at its scale)
    scale = sum(abs(t.product) for t in e.terms) + abs(e.bias or 0)
    if stage == "loss":  # each averaged term is made of parts that cancel: their size counts
        scale = sum(_loss_parts(t.meta, trace.scenario.loss) * t.meta["scale"] for t in e.terms)
    elif e.kind == "loss_grad":  # σ(z) − y, softmax − one-hot, 2(z − y): both parts' size
        scale = sum(abs(f) for f in e.terms[0].meta.values()) * 2 * e.terms[0].factors[1]
    tol = (1e-5 if trace.dtype == "float32" else 1e-9) * scale + np.finfo(trace.dtype).tiny
    cell_value = float(trace[stage].values[index])
    torch_value = float(trace[stage].local[index])  # torch on the inputs the terms read
    assert e.trace_value == cell_value
    assert e.reference == torch_value
    assert abs(e.value - cell_value) <= tol, (e.cell, e.value, cell_value)
    assert abs(e.value - torch_value) <= tol, (e.cell, e.value, torch_value)
    assert math.fsum([t.product for t in e.terms] + [e.bias or 0]) == pytest.approx(e.value)
    for t in e.terms:
        assert t.product == pytest.approx(math.prod(t.factors))
    assert len(e.terms) == expected_term_count(trace, stage, index), e.cell
    assert e.agrees_with_trace and e.agrees_with_reference
    return e


def some_cells(trace, stage, limit=12):
    """Corners and a spread of cells of a stage (every cell when there are few)."""
    shape = trace[stage].shape
    cells = list(np.ndindex(*shape))
    if len(cells) <= limit:
        return cells
    step = len(cells) // limit
    return cells[::step] + [cells[-1]]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_terms_add_up_to_the_trace_and_torch(scenario):
    trace = trace_of(scenario)
    covered = [stage for stage in explainable(trace.layers) if stage in trace]
    # every layer's output and gradient stages, the loss: all but im2col's helper tensors
    assert {"conv.out", "fc.out", "loss", "grad.conv.weight", "grad.input"} <= set(covered)
    for stage in covered:
        for index in some_cells(trace, stage):
            check(trace, stage, index)


def test_worked_example_conv_out_has_nine_terms_and_value_4():
    trace = trace_of("default")
    e = check(trace, "conv.out", (0, 1, 2, 2))
    assert e.value == 4 and e.bias == 1 and len(e.terms) == 9
    # the nine products of the window at rows/cols 2..4 with filter 1
    window = trace.scenario.x[0, 0, 2:5, 2:5].ravel()
    kernel = trace.scenario.conv_weight[1, 0].ravel()
    assert [t.factors for t in e.terms] == [[a, w] for a, w in zip(window, kernel, strict=True)]
    assert e.details["column"] == 10 and e.details["row"] == 1
    assert e.details["im2col_dot"] + e.bias == 4


def test_worked_example_weight_gradient_is_25():
    e = check(trace_of("default"), "grad.conv.weight", (0, 0, 0, 0))
    assert e.value == 25 and len(e.terms) == 16


def test_conv_terms_are_the_im2col_column_times_the_weight_row():
    trace = trace_of("pad1-k2-s2-ce-float64-overlapping-max")
    n, f, i, j = 2, 1, 1, 3
    e = explain_cell(trace, "conv.out", (n, f, i, j))
    w_out = trace["conv.out"].shape[3]
    column = trace["conv.cols"].values[n, :, i * w_out + j]
    row = trace["conv.weight_rows"].values[f]
    assert [t.factors[0] for t in e.terms] == list(column)
    assert [t.factors[1] for t in e.terms] == list(row)


def test_im2col_view_without_the_traces_x_col():
    trace = trace_of("no-pool-mse-loop")  # --method loop: no conv.cols stage
    assert "conv.cols" not in trace
    e = explain_cell(trace, "conv.out", (0, 1, 3, 1))
    assert e.details["column"] == 3 * 4 + 1
    assert e.details["im2col_dot"] + e.bias == pytest.approx(e.trace_value, abs=1e-4)


def test_padding_reads_are_terms_with_factor_zero():
    trace = trace_of("batch2-same-s2-d2-relu-avg")
    e = explain_cell(trace, "grad.conv.weight", (1, 1, 0, 2))
    padding = [t for t in e.terms if t.meta["input"] is None]
    assert padding and all(t.factors[1] == 0 and t.product == 0 for t in padding)
    assert all(t.where.split("·")[1].startswith("pad(") for t in padding)
    assert e.details["padding_terms"] == len(padding)


def test_max_pool_chooses_the_traces_argmax_and_sends_the_gradient_there():
    trace = trace_of("pad1-k2-s2-ce-float64-overlapping-max")
    for index in some_cells(trace, "pool.out"):
        e = explain_cell(trace, "pool.out", index)
        chosen = e.details["chosen"]
        assert chosen == trace["pool.argmax"].values[index]
        assert [t.factors[1] for t in e.terms] == [float(k == chosen) for k in range(4)]
        ((position, share),) = e.details["grad_goes"]
        assert position == e.terms[chosen].meta["position"]
        assert share == trace["grad.pool.out"].values[index]


def test_avg_pool_shares_the_gradient_evenly():
    trace = trace_of("batch2-same-s2-d2-relu-avg")
    e = explain_cell(trace, "pool.out", (1, 0, 1, 1))
    g = float(trace["grad.pool.out"].values[1, 0, 1, 1])
    assert e.details["source"] == "act.out" and e.details["overlapping"]
    assert [share for _, share in e.details["grad_goes"]] == [g / 4] * 4


def test_input_gradient_counts_overlapping_windows():
    trace = trace_of("default")
    e = check(trace, "grad.input", (0, 0, 2, 2))
    assert e.details["windows"] == 9 and len(e.terms) == 18  # 9 windows × 2 filters
    corner = check(trace, "grad.input", (0, 0, 0, 0))
    assert corner.details["windows"] == 1 and len(corner.terms) == 2


def test_a_pixel_no_tap_reaches_has_no_terms_and_zero_gradient():
    trace = trace_of("batch2-same-s2-d2-relu-avg")  # stride 2, dilation 2: odd pixels unread
    e = check(trace, "grad.input", (0, 0, 1, 1))
    assert e.terms == [] and e.value == 0 and e.details["windows"] == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.integers(1, 2),
    channels=st.integers(1, 2),
    size=st.integers(5, 8),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same", "1", "0,2"]),
    activation=st.sampled_from(["none", "relu"]),
    pool=st.sampled_from(["max", "avg", "none"]),
    loss=st.sampled_from(["bce", "mse", "ce"]),
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 1000),
    data=st.data(),
)
def test_any_scenario_any_cell(
    batch,
    channels,
    size,
    kernel,
    stride,
    dilation,
    padding,
    activation,
    pool,
    loss,
    dtype,
    seed,
    data,
):
    spec = ScenarioSpec(
        batch=batch,
        channels=channels,
        height=size,
        width=size,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        activation=activation,
        pool=pool,
        pool_size=1 if size < 7 else 2,
        loss=loss,
        dtype=dtype,
        seed=seed,
    )
    try:
        scenario = build_scenario(spec)
    except ConvtraceError:
        return  # a kernel that does not fit: not this test's concern
    trace = attach_reference(run_pipeline(scenario))
    for stage in explainable(trace.layers):
        if stage in trace:
            shape = trace[stage].shape
            index = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
            check(trace, stage, index)


def test_json_document_lists_every_term():
    trace = trace_of("pad1-k2-s2-ce-float64-overlapping-max")
    e = explain_cell(trace, "grad.conv.weight", (2, 1, 1, 0))
    doc = explanation_document(e)
    assert doc["cell"] == "grad.conv.weight[2,1,1,0]" and doc["term_count"] == 3 * 3 * 5
    assert len(doc["terms"]) == doc["term_count"]
    assert {"factors", "product", "where"} <= set(doc["terms"][0])
    assert "bias" not in doc and doc["reference"] == e.reference
    conv = explanation_document(explain_cell(trace, "conv.out", (0, 0, 0, 0)))
    assert conv["bias"] == trace.scenario.conv_bias[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("conv.out[0,1,2,2]", ("conv.out", (0, 1, 2, 2))),
        ("  Grad.Conv.Bias[ 1 ] ", ("grad.conv.bias", (1,))),
        ("grad.input[0, 0, 3, -1]", ("grad.input", (0, 0, 3, -1))),
        ("loss", ("loss", ())),
        ("conv2.out[0,3,1,1]", ("conv2.out", (0, 3, 1, 1))),
        ("grad.act1.out[0,1]", ("grad.act1.out", (0, 1))),
    ],
)
def test_parse_cell(text, expected):
    assert parse_cell(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "conv.out",
        "conv.out[]",
        "conv.out[a,b]",
        "[0]",
        "conv.out[0,1",
        "",
        "conv.out(0)",
        "loss[x]",
    ],
)
def test_parse_cell_explains_the_syntax(text):
    with pytest.raises(ConvtraceError, match=r"write a cell as stage\[i,j,...\]"):
        parse_cell(text)


@pytest.mark.parametrize(
    "stage, index, message",
    [
        (
            "conv.outt",
            (0,),
            r"conv.outt is not a stage of this network; explain covers: conv.out\[n,f,i,j\], "
            r"pool.out\[n,c,i,j\], flatten.out\[n,k\], fc.out\[n,o\], loss, ",
        ),
        ("pool.argmax", (0, 0, 0, 0), "pool.argmax is a stage of this network, but explain has no"),
        (
            "fc2.out",
            (0, 0),
            r"fc2.out is not a stage of this network \(it has no layer called fc2\)",
        ),
        (
            "loss",
            (0,),
            "loss is one number, so a cell needs 0 indices; got 1: .0.; write it as loss",
        ),
        (
            "conv.out",
            (0, 2, 0, 0),
            r"conv.out\[n,f,i,j\] has shape \(1, 2, 4, 4\); index "
            r"\[0, 2, 0, 0\] is out of range: f = 2, but f runs from 0 to 1",
        ),
        ("grad.input", (0, 0, -1, 0), "r = -1, but r runs from 0 to 5"),
        ("conv.out", (0, 1), r"has shape \(1, 2, 4, 4\), so a cell needs 4 indices; got 2"),
        ("grad.conv.bias", (0, 0), r"grad.conv.bias\[f\] has shape \(2,\), so a cell needs 1"),
    ],
)
def test_errors_name_the_valid_shape(stage, index, message):
    with pytest.raises(ConvtraceError, match=message):
        explain_cell(trace_of("default"), stage, index)


def test_stages_missing_from_the_run():
    with pytest.raises(ConvtraceError, match=r"pool.out is not a stage .*no layer called pool"):
        explain_cell(trace_of("no-pool-mse-loop"), "pool.out", (0, 0, 0, 0))
    forward_only = run_pipeline(build_scenario(ScenarioSpec()), backward=False)
    with pytest.raises(ConvtraceError, match="grad.input is not in this run .*backward"):
        explain_cell(forward_only, "grad.input", (0, 0, 0, 0))


def test_without_reference_torch_is_none_and_not_a_failure():
    trace = run_pipeline(build_scenario(ScenarioSpec()))
    e = explain_cell(trace, "conv.out", (0, 0, 0, 0))
    assert e.reference is None and e.agrees_with_reference is None and e.agrees_with_trace
