"""Usage errors through the entry point: one `Error:` line, exit code 2 (issue 10, item 8)."""

from __future__ import annotations

import pytest

from convtrace.cli.main import main


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--sed", "4"], "No such option: --sed"),
        (["run", "--seeed", "4"], "did you mean --seed (or"),
        (["run", "--seed", "abc"], "--seed must be a whole number, got 'abc'"),
        (["run", "--precision", "99"], "--precision must be between 0 and 12, got 99"),
        (["explain"], "CELL is missing"),
        (["rnu"], "No such command 'rnu'. Did you mean 'run'?"),
        (["shapes", "--kernel"], "--kernel needs a value"),
        (["check", "--timeout"], "--timeout needs a value"),
        (["bench", "--preset", "huge"], "--preset must be one of small, medium, large; got 'huge'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, expected):
    code, out, err = run_main(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ")
    assert expected in lines[0]
    assert "╭" not in err and "Usage:" not in err


def test_the_error_line_points_at_the_command_help(capsys):
    _, _, err = run_main(capsys, "run", "--sed", "4")
    assert err.rstrip().endswith("(see convtrace run --help)")


def test_help_and_no_arguments_still_show_help(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0 and "Usage" in out and "run" in out
    code, out, err = run_main(capsys)
    assert code == 0 and "Usage" in out + err


def test_exit_codes_of_commands_pass_through(capsys):
    code, out, _ = run_main(capsys, "shapes", "--size", "7")
    assert code == 0 and "H_out" in out
    code, _, err = run_main(capsys, "shapes", "--size", "0")
    assert code == 2 and err.startswith("Error: ") and len(err.splitlines()) == 1
