"""The Typer shell: commands (``main``), shared options, exit codes. Entry point:
``convtrace.cli.main:main``."""
