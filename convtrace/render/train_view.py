"""A training run on the terminal (and in handouts): the loss curve, each step's loss beside
torch's loop's, the verdict on the losses (max |Δloss|) and the final parameters' table."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from ..i18n import _
from .closing import closing_table
from .curve import LossCurve, curve_lines
from .stages import format_delta

#: a longer run's table shows every k-th step (and the last), about this many rows
TABLE_ROWS = 40


def shown_steps(count: int) -> list[int]:
    """Every step when there are at most TABLE_ROWS, else evenly spaced ones and the last."""
    if count <= TABLE_ROWS:
        return list(range(count))
    every = -(-count // TABLE_ROWS)
    return sorted({*range(0, count, every), count - 1})


def steps_table(run, precision: int = 4) -> Table:
    """step · loss · torch's loop · |Δ|, one row per step (sampled for long runs)."""
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    table.add_column(_("step"), justify="right", style="ct.axis")
    table.add_column(_("loss"), justify="right")
    has_ref = run.reference_losses is not None
    if has_ref:
        table.add_column(_("torch's loop"), justify="right")
        table.add_column("|Δ|", justify="right", style="ct.dim")
    for k in shown_steps(len(run.steps)):
        row = _step_row(run.steps[k], precision, has_ref)
        table.add_row(*row)
    return table


def loss_verdict(run) -> Text:
    """``✓ every step's loss agrees with torch's loop · max |Δloss| 1.9e-06 ·
    |Δ| ≤ 1e-05·Σ|terms|`` (the run's rule, said as ``run`` says it)."""
    diff = run.max_loss_diff
    if diff is None:
        return Text(_("torch comparison skipped (--no-compare-torch)"), "ct.dim")
    stage = run.final["train.loss"]
    agrees = stage.agrees(run.tolerance)
    words = (
        _("every step's loss agrees with torch's loop")
        if agrees
        else _("the losses disagree with torch's loop")
    )
    mark = "✓" if agrees else "✗"
    return Text(
        f"{mark} {words} · max |Δloss| {format_delta(diff)} · |Δ| ≤ {run.tolerance:g}·Σ|terms|",
        "ct.ok" if agrees else "ct.bad",
    )


def summary_line(run) -> str:
    """``30 steps · η = 0.05 · loss 11 → 0.496`` (and how the run ended, when interrupted)."""
    sgd = run.sgd
    parts = [_("{done} of {total} steps").format(done=len(run.steps), total=run.total)]
    parts.append(f"η = {sgd.lr:g}")
    if sgd.momentum:
        parts.append(f"μ = {sgd.momentum:g}")
    if sgd.weight_decay:
        parts.append(f"λ = {sgd.weight_decay:g}")
    if run.batch_size != run.scenario.x.shape[0]:
        parts.append(_("batches of {size} of {total} samples").format(
            size=run.batch_size, total=run.scenario.x.shape[0]))  # fmt: skip
    if run.steps:
        parts.append(f"loss {run.steps[0].loss + 0.0:.4g} → {run.steps[-1].loss + 0.0:.4g}")
    if run.interrupted:
        parts.append(_("stopped by Ctrl-C"))
    return " · ".join(parts)


def train_renderables(run, precision: int = 4) -> list:
    """Everything ``convtrace train`` prints after the heading, in order."""
    out = [LossCurve(run.losses), Text(summary_line(run), "ct.title"), steps_table(run, precision),
           loss_verdict(run)]  # fmt: skip
    finals = [s for s in run.final if s.name.startswith("final.")]
    if finals and run.final.has_reference:
        out.append(closing_table(finals, run.tolerance))
    return out


def train_markdown(run, heading: str, precision: int = 4) -> str:
    """The run as Markdown: heading, the curve (a fenced block), the steps' table, verdicts."""
    lines = ["# convtrace train", "", heading, "", summary_line(run), "", "```text"]
    lines += curve_lines(run.losses) + ["```", ""]
    has_ref = run.reference_losses is not None
    head = [_("step"), _("loss")] + ([_("torch's loop"), "|Δ|"] if has_ref else [])
    lines += ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for k in shown_steps(len(run.steps)):
        row = _step_row(run.steps[k], precision, has_ref)
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", loss_verdict(run).plain, ""]
    for stage in run.final:
        if stage.name.startswith("final.") and stage.max_abs_diff is not None:
            mark = "✓" if stage.agrees(run.tolerance) else "✗"
            lines.append(f"- `{stage.name}` {stage.shape}: max |Δ| "
                         f"{format_delta(stage.max_abs_diff)} {mark}")  # fmt: skip
    return "\n".join(lines) + "\n"


def train_document(run) -> dict:
    """The ``convtrace train --json`` document: {"scenario", "tolerance", "steps": [{"step",
    "loss", "reference_loss"}], "max_abs_loss_diff", "interrupted", "stages": [the final
    parameters, as ``run --json`` writes stages]}; English in every language."""
    import io
    import json

    from ..i18n import english
    from .json_out import check_document_size, write_trace_document

    stages = [s for s in run.final if s.name.startswith("final.")]
    check_document_size(stages, run.scenario.max_elements)
    stream = io.StringIO()
    with english():
        write_trace_document(run.final, stages, stream)
    doc = json.loads(stream.getvalue())
    steps = [{"step": s.step, "loss": s.loss, "reference_loss": s.reference_loss}
             for s in run.steps]  # fmt: skip
    return {"scenario": doc["scenario"], "tolerance": doc["tolerance"], "steps": steps,
            "max_abs_loss_diff": run.max_loss_diff, "interrupted": run.interrupted,
            "stages": doc["stages"]}  # fmt: skip


def _step_row(step, precision: int, has_ref: bool) -> list[str]:
    """One step's cells, for the terminal table and the Markdown export alike: step, loss, and
    (with torch's loop) torch's loss and |Δ|."""
    digits = max(precision, 1)
    row = [str(step.step), f"{step.loss + 0.0:.{digits}g}"]
    if has_ref:
        row += [f"{step.reference_loss + 0.0:.{digits}g}",
                format_delta(abs(step.loss - step.reference_loss))]  # fmt: skip
    return row
