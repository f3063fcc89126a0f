import pytest
from typer.testing import CliRunner


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def invoke(runner, monkeypatch):
    """Run the CLI at a fixed 100-column width, without colour; return the Result."""
    from convtrace.cli.main import app

    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")

    def _invoke(*args, **kwargs):
        return runner.invoke(app, [str(a) for a in args], **kwargs)

    return _invoke
