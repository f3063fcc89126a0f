"""Every command × every output option it takes: the option does what it says, or the
combination is refused with one ``Error:`` line and exit 2 before any work."""

from __future__ import annotations

import json

import pytest
import typer.main

from convtrace.cli.main import app

#: A cheap invocation of each command that takes output options.
COMMANDS = {
    "run": ["run", "--only", "loss"],
    "forward": ["forward", "--only", "loss"],
    "backward": ["backward", "--only", "loss"],
    "explain": ["explain", "loss"],
    "shapes": ["shapes", "--size", "7"],
    "check": ["check", "--list-bugs"],
}
OUTPUT_OPTIONS = (
    "--json",
    "--export",
    "--quiet",
    "--only",
    "--step",
    "--side-by-side",
    "--color",
    "--theme",
    "--precision",
    "--compare-torch",
)


def _options_of(command: str) -> set[str]:
    click_command = typer.main.get_command(app).commands[command]
    return {flag for p in click_command.params for flag in p.opts}


def _cases():
    for command in COMMANDS:
        taken = _options_of(command)
        for flag in OUTPUT_OPTIONS:
            if flag in taken:
                yield command, flag


def test_the_matrix_covers_every_output_option_somewhere():
    taken = set().union(*(_options_of(c) for c in COMMANDS))
    assert set(OUTPUT_OPTIONS) <= taken
    # every command that exports also has --quiet and --json, which these tests combine
    for command in COMMANDS:
        assert {"--export", "--quiet"} <= _options_of(command), command


@pytest.mark.parametrize(("command", "flag"), list(_cases()))
def test_each_output_option_does_what_it_says(invoke, tmp_path, command, flag):
    base = COMMANDS[command]
    handout = tmp_path / "out.html"
    extra = {
        "--json": ["--json"],
        "--export": ["--export", handout],
        "--quiet": ["--quiet", "--export", handout],
        "--only": [],  # already in base where taken
        "--step": ["--step"],  # not a terminal: prints everything, as without --step
        "--side-by-side": ["--side-by-side"],
        "--color": ["--color", "always"],
        "--theme": ["--theme", "high-contrast"],
        "--precision": ["--precision", "6"],
        "--compare-torch": ["--no-compare-torch"],
    }[flag]
    result = invoke(*base, *extra)
    assert result.exit_code == 0, result.output
    if flag == "--json":
        json.loads(result.stdout)  # nothing but the document
    elif flag == "--quiet":
        assert result.stdout == "" and handout.stat().st_size > 0
    elif flag == "--export":
        assert result.stdout.strip() and handout.stat().st_size > 0
    else:
        assert result.stdout.strip()
    if flag == "--color":
        assert "\x1b[" in result.stdout


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("suffix", [".html", ".md", ".txt", ".svg"])
def test_json_with_export_prints_the_json_and_writes_the_file(invoke, tmp_path, command, suffix):
    handout = tmp_path / f"out{suffix}"
    result = invoke(*COMMANDS[command], "--json", "--export", handout)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    assert handout.stat().st_size > 0


REFUSED = [
    (["--quiet", "--json", "--export", "{tmp}/x.html"], "--quiet"),
    (["--export", ""], "--export ''"),
    (["--export", "   "], "--export '   '"),
    (["--quiet"], "--quiet"),
    (["--lang", ""], "--lang must be one of en, es; got ''"),
]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("args", "named"), REFUSED)
def test_contradictions_are_refused_before_any_work(invoke, tmp_path, command, args, named):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--json" in args and "--json" not in _options_of(command):
        pytest.skip("no --json here")
    result = invoke(*COMMANDS[command], *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and named in lines[0], lines
    assert result.stdout == ""
    assert not (tmp_path / "x.html").exists()


def test_the_refusal_comes_before_the_trace(monkeypatch, invoke, tmp_path):
    import convtrace.tracing.run as run_module

    def boom(*args, **kwargs):
        raise AssertionError("the trace was computed")

    monkeypatch.setattr(run_module, "compute_trace", boom)
    result = invoke("run", "--quiet", "--json", "--export", tmp_path / "x.html")
    assert result.exit_code == 2 and "--quiet" in result.stderr
