"""--export FILE: the same view as the terminal, as a handout (.html .svg .md .txt), on every
command that shows something; the terminal output is unchanged, --quiet writes only the file."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ESCAPE = re.compile(r"\x1b\[")


class _Text(HTMLParser):
    """The visible text of an HTML page, and whether every tag it opens is closed."""

    def __init__(self):
        super().__init__()
        self.parts, self.open = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br", "link"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.parts.append(data)


def html_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert parser.open == [], f"unclosed tags {parser.open}"
    return "".join(parser.parts)


def stage_names(invoke) -> list[str]:
    import json

    return [s["name"] for s in json.loads(invoke("run", "--seed", "42", "--json").stdout)["stages"]]


def test_html_handout_holds_every_stage_and_the_worked_example(invoke, tmp_path):
    path = tmp_path / "lesson.html"
    result = invoke("run", "--seed", "42", "--export", path)
    assert result.exit_code == 0, result.output
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "http" not in re.sub(r"<!DOCTYPE[^>]*>", "", page).split("<body")[1]  # offline
    assert re.search(r"color: #[0-9a-f]{6}", page)  # colours kept
    text = html_text(path)
    for name in stage_names(invoke):
        assert f"{name} " in text, name
    grad_w = text[text.index("grad.conv.weight ") :]
    assert re.search(r"0 │\s+25\s+17\s+13", grad_w), grad_w[:600]
    assert "✓ 25 of 25 stages agree" in text


def test_svg_handout_is_one_image(invoke, tmp_path):
    path = tmp_path / "slide.svg"
    assert invoke("run", "--seed", "42", "--only", "grad.conv.*", "--export", path).exit_code == 0
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext()).replace("\xa0", " ")
    assert "grad.conv.weight" in text and "25" in text and "grad.input" not in text


def test_markdown_handout_has_a_heading_formula_table_and_verdict_per_stage(invoke, tmp_path):
    path = tmp_path / "lesson.md"
    assert invoke("run", "--seed", "42", "--export", path).exit_code == 0
    md = path.read_text(encoding="utf-8")
    headings = re.findall(r"^### `([^`]+)`", md, flags=re.M)
    assert headings == stage_names(invoke)
    section = md[md.index("### `grad.conv.weight`") : md.index("### `grad.conv.bias`")]
    assert "`∂L/∂W_row = Σ_n ∂L/∂H[n] @ X_col[n]ᵀ`" in section
    assert "| **0** | 25 | 17 | 13 |" in section
    assert "**✓ loop = im2col = torch · max |Δ| 0**" in section
    assert md.rstrip().endswith("**✓ 25 of 25 stages agree · |Δ| ≤ 1e-05·Σ|terms|**")
    assert not ESCAPE.search(md)


def test_markdown_shows_torch_beside_a_value_only_where_they_differ(invoke, tmp_path):
    path = tmp_path / "bug.md"
    result = invoke("run", "--bug", "stride-ignored", "--stride", "2", "--export", path)
    assert result.exit_code == 1
    md = path.read_text(encoding="utf-8")
    assert "✗" in md and "(torch" in md
    # the terminal's closing lines
    assert "**✗ 12 of 22 stages agree · |Δ| ≤ 1e-05·Σ|terms|**" in md
    assert re.search(r"\*\*✗ 10 stages disagree: conv.out, .*grad.input\*\*\n$", md)


def test_markdown_without_torch_says_the_comparison_was_skipped(invoke, tmp_path):
    path = tmp_path / "plain.md"
    result = invoke("run", "--no-compare-torch", "--method", "im2col", "--export", path)
    assert result.exit_code == 0
    md = path.read_text(encoding="utf-8")
    assert md.endswith("*torch comparison skipped (--no-compare-torch)*\n")
    assert "stages agree" not in md


def test_text_handout_is_plain_and_the_terminal_is_unchanged(invoke, tmp_path):
    path = tmp_path / "lesson.txt"
    plain = invoke("run", "--seed", "42")
    exported = invoke("run", "--seed", "42", "--export", path)
    assert exported.exit_code == 0 and exported.output == plain.output
    text = path.read_text(encoding="utf-8")
    assert not ESCAPE.search(text)
    assert all(line == line.rstrip() for line in text.splitlines())
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "grad.conv.weight" in text and "✓ 25 of 25 stages agree" in text


def test_quiet_writes_only_the_file(invoke, tmp_path):
    path = tmp_path / "lesson.txt"
    result = invoke("run", "--seed", "42", "--export", path, "--quiet")
    assert result.exit_code == 0 and result.stdout == ""
    assert "grad.input" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["forward", "--seed", "42"], "loss"),
        (["backward", "--seed", "42"], "grad.input"),
        (["shapes", "--size", "7", "--stride", "2", "--padding", "same"], "same"),
        (["explain", "conv.out[0,1,2,2]", "--seed", "42"], "+ bias 1 = 4"),
        (["explain", "fc.out[0,0]"], "bias 1 = 18"),
        (["check", str(EXAMPLES / "students" / "stride_ignored.py")], "stride-ignored"),
        (["check", "--list-bugs"], "overwrite-not-accumulate"),
    ],
)
def test_every_command_that_shows_something_exports_it(invoke, tmp_path, args, expected):
    terminal = invoke(*args)
    path = tmp_path / "handout.txt"
    result = invoke(*args, "--export", path)
    assert result.exit_code == terminal.exit_code and result.output == terminal.output
    text = path.read_text(encoding="utf-8")
    assert expected in text
    html = tmp_path / "handout.html"
    assert invoke(*args, "--export", html, "--quiet").stdout == ""
    assert expected in html_text(html).replace("\xa0", " ")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("lesson.pdf", "'.pdf' is not a handout format; use .html, .svg, .md, .txt"),
        ("lesson", "no suffix is not a handout format"),
        ("missing/lesson.html", "the folder missing does not exist"),
    ],
)
def test_bad_export_paths_are_one_line_and_exit_2(invoke, tmp_path, monkeypatch, path, message):
    monkeypatch.chdir(tmp_path)
    for command in (["run"], ["explain", "conv.out[0,0,0,0]"], ["check", "--list-bugs"]):
        result = invoke(*command, "--export", path)
        assert result.exit_code == 2, (command, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_an_unwritable_folder_is_refused_before_any_work(invoke, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        import os

        if os.access(folder, os.W_OK):  # root ignores permissions
            pytest.skip("this user can write anywhere")
        result = invoke("run", "--export", folder / "lesson.html")
        assert result.exit_code == 2 and "cannot be written here" in result.output
    finally:
        folder.chmod(0o700)


def test_a_directory_as_the_file_is_refused(invoke, tmp_path):
    (tmp_path / "lesson.html").mkdir()
    result = invoke("run", "--export", tmp_path / "lesson.html")
    assert result.exit_code == 2 and "cannot be written here" in result.output


def test_quiet_without_export_is_refused(invoke):
    for command in (["run"], ["shapes"], ["explain", "loss"], ["check", "--list-bugs"]):
        result = invoke(*command, "--quiet")
        assert result.exit_code == 2 and "give --export FILE too" in result.output


def test_markdown_is_the_terminals_view_as_a_document(invoke, tmp_path):
    """Sections, shapes as the terminal writes them, whole tensors, the pool's marks, 1-D rows
    without a row header, and the closing table."""
    path = tmp_path / "lesson.md"
    assert invoke("run", "--seed", "42", "--export", path, "--quiet").exit_code == 0
    md = path.read_text(encoding="utf-8")
    assert re.findall(r"^## (\w+)$", md, flags=re.M) == ["Forward", "Backward"]
    assert "### `conv.bias` · (2,) · " in md and "### `loss` · scalar · " in md

    def section(name):
        start = md.index(f"### `{name}`")
        return md[start : md.index("\n### ", start + 1)]

    # conv.cols is (1, 9, 16): all 16 columns, as torch's unfold has them
    cols = section("conv.cols")
    assert "| " + " | ".join(str(j) for j in range(16)) + " |" in cols
    assert "more columns" not in cols
    # the max pool's chosen cells are marked, one per pooling window
    marked = re.findall(r"\\\[(-?[\d.]+)\\\]", section("pool.cols"))
    assert len(marked) == 2 * 2 * 2  # N·C·(windows): (1, 2, 2, 2) pooled cells
    # a 1-D tensor is one row under its indices, with no row header "0"
    bias = section("conv.bias")
    assert "| 0 | 1 |" in bias and "| **0** |" not in bias
    # the closing table lists every stage with the terminal's marks
    table = md[md.index("| stage | shape |") :]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \| (.) \|$", table, flags=re.M)
    assert [r[0] for r in rows] == stage_names(invoke)
    assert {r[3] for r in rows} == {"✓"} and ("conv.bias", "(2,)", "0", "✓") in rows


def _css_colours(html: str):
    """(class, foreground, background) of every style class, with the page's defaults."""
    body = re.search(r"body \{\s*color: (#[0-9a-f]{6});\s*background-color: (#[0-9a-f]{6})", html)
    page_fg, page_bg = body.groups()
    for name, rules in re.findall(r"\.(r\d+) \{([^}]*)\}", html):
        fg = re.search(r"(?<!-)color: (#[0-9a-f]{6})", rules)
        bg = re.search(r"background-color: (#[0-9a-f]{6})", rules)
        yield name, fg.group(1) if fg else page_fg, bg.group(1) if bg else page_bg


def _contrast(a: str, b: str) -> float:
    def luminance(hex_colour):
        def linear(c):
            c /= 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["default", "high-contrast"])
def test_every_colour_of_an_html_handout_reaches_4_5_to_1_on_its_page(invoke, tmp_path, theme):
    path = tmp_path / "lesson.html"
    args = ("--bug", "stride-ignored", "--stride", "2", "--activation", "relu", "--gradcheck")
    result = invoke("run", *args, "--theme", theme, "--export", path, "--quiet")
    assert result.exit_code == 1  # the planted bug: red verdicts are in the page too
    html = path.read_text(encoding="utf-8")
    colours = list(_css_colours(html))
    assert len(colours) >= 5
    low = [(name, fg, bg, round(_contrast(fg, bg), 2)) for name, fg, bg in colours]
    assert all(c[3] >= 4.5 for c in low), [c for c in low if c[3] < 4.5]


def test_the_contrast_check_catches_riches_dim_grey():
    assert _contrast("#7f7f7f", "#ffffff") < 4.5 and _contrast("#800080", "#000000") < 4.5
