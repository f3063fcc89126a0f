"""``python -m convtrace``: the same as the ``convtrace`` command."""

from .cli.main import main

if __name__ == "__main__":
    main()
