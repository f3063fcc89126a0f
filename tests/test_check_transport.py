"""What the grader accepts from a child (check/transport.py) and how student text is shown
(check/escape.py): each refusal is tested against a reply the real worker would send."""

import io
import json
import zipfile

import numpy as np
import pytest

from convtrace.check import transport, worker
from convtrace.check.escape import csv_cell, markup, visible
from convtrace.check.transport import TransportError, decode_reply


def body(header: dict, arrays: dict | None = None, compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    payload = {k: np.asarray(v) for k, v in (arrays or {}).items()}
    payload["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    (np.savez_compressed if compressed else np.savez)(buffer, **payload)
    return buffer.getvalue()


def test_the_workers_own_reply_is_accepted():
    frame = worker.encode_frame({"status": "ok", "weight": "W", "printed": 3}, {"out": np.ones(4)})
    header, arrays = decode_reply(frame[8:])
    assert header["status"] == "ok" and header["weight"] == "W" and header["printed"] == 3
    assert np.array_equal(arrays["out"], np.ones(4))


def test_a_message_is_an_id_with_escaped_capped_fields():
    error = worker.describe_exception(ValueError("\x1b[2J" + "x" * 1000), "/nowhere.py")
    header, _ = decode_reply(body({"status": "error", **error}))
    message = header["message"]
    assert message.startswith("raised ValueError: \\x1b[2J") and "\x1b" not in message
    assert len(message) < 250 and message.msgid == "raised {kind}: {message}"


@pytest.mark.parametrize(
    "header",
    [
        {"status": "error", "id": "nope", "fields": {}},
        {"status": "error", "id": "raised", "fields": {"kind": "X", "extra": "{m:>1000000000}"}},
        {"status": "error", "id": "raised", "fields": {"kind": ["a list"]}},
        {"status": "error", "id": "raised_message", "fields": {"kind": "X"}},
        {"status": "pwned"},
        {"status": "ok", "printed": -1},
        {"status": "ok", "weight": {"a": 1}},
    ],
)
def test_a_forged_header_is_refused(header):
    with pytest.raises(TransportError):
        decode_reply(body(header))


def test_a_template_from_the_child_is_never_formatted():
    forged = {"status": "error", "id": "raised", "fields": {"kind": "{0.__class__}"}}
    header, _ = decode_reply(body({**forged, "template": "{kind:>1000000000}"}))
    assert str(header["message"]) == "raised {0.__class__}"


def test_nan_in_the_header_is_refused():
    raw = b'{"status": "ok", "printed": NaN}'
    buffer = io.BytesIO()
    np.savez(buffer, __header__=np.frombuffer(raw, np.uint8))
    with pytest.raises(TransportError):
        decode_reply(buffer.getvalue())


@pytest.mark.parametrize(
    "arrays, compressed",
    [
        ({"out": np.zeros(10)}, True),  # compression: a small zip can inflate into gigabytes
        ({"secret": np.zeros(3)}, False),  # an unknown member
        ({"out": np.array(["text"])}, False),  # not numbers
        ({"out": np.zeros((1, 1, 1, 1, 2))}, False),  # five axes
        ({"out": np.zeros(transport.MAX_ELEMENTS + 1, dtype=np.uint8)}, False),  # too many
    ],
)
def test_bad_arrays_are_refused_before_they_are_read(arrays, compressed):
    with pytest.raises(TransportError):
        decode_reply(body({"status": "ok"}, arrays, compressed))


def test_an_object_array_is_refused_and_no_pickle_runs():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        npy = io.BytesIO()
        np.lib.format.write_array(npy, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        archive.writestr("out.npy", npy.getvalue())
        head = io.BytesIO()
        np.lib.format.write_array(head, np.frombuffer(b'{"status": "ok"}', np.uint8))
        archive.writestr("__header__.npy", head.getvalue())
    with pytest.raises(TransportError):
        decode_reply(buffer.getvalue())


def test_a_header_that_lies_about_its_size_is_refused():
    data = bytearray(body({"status": "ok"}, {"out": np.zeros(4)}))
    at = data.index(b"(4,)")
    data[at : at + 4] = b"(9,)"
    with pytest.raises(TransportError):
        decode_reply(bytes(data))


def test_visible_leaves_nothing_a_terminal_interprets():
    text = "a\x1b[31mb\x07c\x9bd\u202ee\u200bf\ud800g\rh\ni"
    shown = visible(text, lines=3)
    assert all(ch.isprintable() for ch in shown)
    assert "\\x1b[31m" in shown and "\\u202e" in shown and "\\x9b" in shown
    assert visible("plain text") == "plain text"


def test_visible_caps_lines_and_width():
    shown = visible("x" * 500 + "\nsecond", width=50)
    assert shown == "x" * 50 + "…"
    assert visible("one\ntwo\nthree", lines=2) == "one⏎two⏎…"


def test_markup_is_escaped_for_rich():
    from rich.console import Console

    console = Console(record=True, width=100)
    console.print(markup("[/] [link=https://e.example]x[/link] [bold]b[/bold]"))
    assert "[/] [link=https://e.example]x[/link] [bold]b[/bold]" in console.export_text()
    assert "<a href" not in console.export_html()


@pytest.mark.parametrize(
    "value, cell",
    [
        ('=HYPERLINK("http://e")', '\'=HYPERLINK("http://e")'),
        ("+1+2", "'+1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("-2.5", "-2.5"),
        ("raised ValueError: x", "raised ValueError: x"),
        (100.0, "100.0"),
        (True, "yes"),
    ],
)
def test_csv_cells_cannot_be_formulas(value, cell):
    assert csv_cell(value) == cell
