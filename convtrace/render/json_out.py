"""The ``--json`` document, written as it is produced: never a whole-document copy in memory.

The document is ``{"scenario": {…}, "tolerance": rtol, "stages": [{"name", "title", "axes"?,
"shape", "values", "reference", "max_abs_diff", "end_to_end_max_abs_diff", "formula",
"agrees", "numeric"?, "alternatives"}, …]}`` (``reference``: torch's own run; ``max_abs_diff``
what the verdict judged, torch on our inputs; ``tolerance`` the rule's rtol),
the same text ``json.dumps`` of the whole would give. Arrays go out one innermost row at a
time, so memory stays at one row of Python floats beyond the trace itself (a whole-document
``tolist()`` + ``dumps`` took 3.5 GB for a 0.9 GB run). It is always valid JSON: a non-finite
number (which the pipeline refuses, but torch's values or a ``--bug`` shape mismatch can hold)
is written as ``null``.
"""

from __future__ import annotations

import json
import math
from typing import TextIO

import numpy as np

from ..core.errors import ParameterError
from ..i18n import _

#: Characters one number takes in the document, at most (``-1.2345678901234567e-123, ``).
CHARS_PER_NUMBER = 26


def _number(value):
    """A float for JSON, or None where JSON has no number (NaN, ±Inf)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _arrays(stage) -> list[np.ndarray]:
    arrays = [stage.values, stage.reference, *stage.alternatives.values()]
    return [np.asarray(a) for a in arrays if a is not None]


def document_elements(stages) -> int:
    """How many numbers the document of ``stages`` holds (values, torch's, other methods)."""
    return sum(a.size for stage in stages for a in _arrays(stage))


def check_document_size(stages, max_elements: int) -> None:
    """Refuse a document of more numbers than ``--max-elements`` allows, before writing it."""
    count = document_elements(stages)
    if count > max_elements:
        size = count * CHARS_PER_NUMBER
        text = f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{max(size / 1e6, 0.1):.1f} MB"
        raise ParameterError(
            _(
                "the --json document would hold {count:,} numbers (up to {text} "
                "of text), more than the limit of {max_elements:,}; choose "
                "stages with --only (e.g. 'grad.conv.*'), a smaller --size or "
                "--batch, or raise the limit with --max-elements {count}"
            ).format(count=count, text=text, max_elements=max_elements)
        )


def write_array(array, stream: TextIO) -> None:
    """``json.dumps(array.tolist())``, written one innermost row at a time (NaN/Inf → null)."""
    a = np.asarray(array)
    if a.ndim == 0:
        stream.write(json.dumps(_number(a) if a.dtype.kind == "f" else a.item()))
        return
    if a.ndim == 1:
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            stream.write(json.dumps([_number(v) for v in a]))
        else:
            stream.write(json.dumps(a.tolist()))
        return
    stream.write("[")
    for k in range(a.shape[0]):
        if k:
            stream.write(", ")
        write_array(a[k], stream)
    stream.write("]")


def _optional_array(array, stream: TextIO) -> None:
    if array is None:
        stream.write("null")
    else:
        write_array(array, stream)


def write_trace_document(trace, stages, stream: TextIO) -> None:
    """Write the ``--json`` document of ``stages`` (of ``trace``) to ``stream``, then a newline."""
    rtol = trace.tolerance
    rule = f"|Δ| ≤ {rtol:g}·Σ|terms|"  # the agreement rule, in English as every JSON key
    head = json.dumps({"scenario": trace.scenario.describe(), "tolerance": rtol, "rule": rule})
    stream.write(head[:-1] + ', "stages": [')
    for number, s in enumerate(stages):
        if number:
            stream.write(", ")
        fields = {"name": s.name, "title": s.title}
        axes = getattr(s, "axes", None)
        if axes is not None:
            fields["axes"] = list(axes)
        fields["shape"] = list(s.shape)
        stream.write(json.dumps(fields)[:-1] + ', "values": ')
        write_array(s.values, stream)
        stream.write(', "reference": ')
        _optional_array(s.reference, stream)
        tail = {
            "max_abs_diff": _number(s.max_abs_diff),
            "end_to_end_max_abs_diff": _number(s.end_to_end_diff),
            "formula": s.formula,
            "agrees": s.agrees(rtol),
        }
        if s.numeric is not None:
            tail["numeric"] = {
                "checked": s.numeric.checked,
                "of": s.numeric.of,
                "kinks": int(s.numeric.kinks.sum()),
                "max_error": _number(s.numeric.max_error(s.values, s.terms)),
                "tolerance": s.numeric.tolerance,
                "agrees": s.numeric_agrees(),  # null: no cell could be checked
            }
        stream.write(", " + json.dumps(tail)[1:-1] + ', "alternatives": {')
        for k, (name, values) in enumerate(s.alternatives.items()):
            stream.write((", " if k else "") + json.dumps(name) + ": ")
            write_array(values, stream)
        stream.write("}}")
    stream.write("]}\n")
