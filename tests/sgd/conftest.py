import pytest
from typer.testing import CliRunner


@pytest.fixture
def invoke_cli(monkeypatch):
    """Run the CLI at 100 columns without colour, through main()'s error handling."""
    from convtrace.cli.main import app

    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()

    def _invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return _invoke
