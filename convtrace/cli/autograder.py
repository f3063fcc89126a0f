"""``convtrace autograder build``: the zip Gradescope takes; ``convtrace autograder run``: what
its ``run_autograder`` calls inside the container.

The zip holds ``setup.sh`` (installs a pinned CPU torch and the convtrace wheel carried in the
zip), ``run_autograder`` (finds the ``.py`` or ``.ipynb`` in the submission folder and writes
``results/results.json``) and ``config.json`` (API, class, timeout, language, hidden cases,
points per graded function).
Every absolute path follows ``AUTOGRADER_ROOT`` (default ``/autograder``), so the same script
runs in a temporary folder laid out like ``/autograder`` (``source/``, ``submission/``,
``results/``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

import typer

from ..i18n import _
from .errors import fail
from .help import HelpCommand, HelpGroup

app = typer.Typer(help="Gradescope autograders: build the zip, run it in the container.",
                  no_args_is_help=True, cls=HelpGroup)  # fmt: skip

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this in the container; every path follows AUTOGRADER_ROOT (default /autograder)
ROOT="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$ROOT/results"
exec "${CONVTRACE_PYTHON:-python3}" -m convtrace autograder run --root "$ROOT"
"""

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the image is built
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
if ! command -v python3 >/dev/null; then
    apt-get update && apt-get install -y python3 python3-pip
fi
# a CPU build of torch, pinned; TORCH_INDEX may name the package index of CPU builds
python3 -m pip install "torch=={torch}" ${{TORCH_INDEX:+--index-url "$TORCH_INDEX"}}
python3 -m pip install "$ROOT"/source/{wheel}
"""


def _wheel(folder: str) -> Path:
    """convtrace as a wheel, built offline from the project this package was installed from."""
    project = Path(__file__).resolve().parents[2]
    if not (project / "pyproject.toml").is_file():
        fail(_("cannot build the convtrace wheel: no pyproject.toml beside the package "
               "(install convtrace from its source)"))  # fmt: skip
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "--wheel-dir", folder, str(project)]  # fmt: skip
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}  # 1980: the wheel's own zip dates
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wheels = sorted(Path(folder).glob("convtrace-*.whl"))
    if done.returncode != 0 or not wheels:
        fail(_("pip wheel failed: {error}").format(error=done.stderr.strip()[-500:]))
    return wheels[0]


@app.command("build", cls=HelpCommand)
def build_command(
    out: Annotated[str, typer.Option("--out", metavar="ZIP", help="Where to write the zip.")] = (
        "autograder.zip"
    ),
    api: Annotated[str, typer.Option("--api", help="class (the course's layer) or cs231n.")] = (
        "class"
    ),
    class_name: Annotated[
        str, typer.Option("--class", metavar="NAME", help="--api class: the class to grade.")
    ] = "Conv2D",  # fmt: skip
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per case.")] = 10.0,
    lang: Annotated[str, typer.Option("--lang", help="The students' language: en | es.")] = "en",
    hide_cases: Annotated[
        bool, typer.Option("--hide-cases", help="Cases hidden from students.")
    ] = False,  # fmt: skip
    points: Annotated[
        str | None,
        typer.Option(
            "--points",
            metavar="KIND=N,…",
            help="Points per graded function: conv, pool, affine, relu, bn, sbn (default: "
            "100 shared by the cases).",
        ),
    ] = None,
) -> None:
    """Write the zip Gradescope takes (setup.sh, run_autograder, config.json, the wheel).

    Upload the zip as the assignment's autograder; each submission's .py or .ipynb is graded
    in the same sandbox as convtrace check, and the student reads the diagnosis and the fix.

    [bold]Examples[/bold]

      convtrace autograder build --api cs231n --out autograder.zip
      convtrace autograder build --api cs231n --points conv=50,pool=30,affine=10,relu=10
      convtrace autograder build --class Conv2D --lang es --hide-cases
    """
    if api not in ("class", "cs231n"):
        fail(_("--api {api}: give class or cs231n").format(api=api))
    if lang not in ("en", "es"):
        fail(_("--lang {lang}: give en or es").format(lang=lang))
    shares = None
    if points is not None:
        from ..check.gradescope import parse_points

        try:
            shares = parse_points(points, api)
        except ValueError as error:
            fail(str(error))
    import torch  # the version the zip pins is the one convtrace is tested with here

    config = {"api": "course" if api == "class" else "cs231n", "class": class_name,
              "timeout": timeout, "lang": lang, "hide_cases": hide_cases}  # fmt: skip
    if shares is not None:
        config["points"] = shares
    with tempfile.TemporaryDirectory(prefix="convtrace-wheel-") as folder:
        wheel = _wheel(folder)
        version = torch.__version__.split("+")[0]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in (
                ("run_autograder", RUN_AUTOGRADER),
                ("setup.sh", SETUP_SH.format(torch=version, wheel=wheel.name)),
                ("config.json", json.dumps(config, indent=1) + "\n"),
            ):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16
                archive.writestr(info, text)
            info = zipfile.ZipInfo(wheel.name)  # the fixed 1980 date of the scripts: the
            info.compress_type = zipfile.ZIP_DEFLATED  # same config makes the same zip
            archive.writestr(info, wheel.read_bytes())
    typer.echo(_("wrote {path}").format(path=out))


def find_submission(folder: Path) -> Path | None:
    """The submission's .py or .ipynb (the top level first, then one folder down)."""
    for depth in ("*", "*/*"):
        found = sorted(p for p in folder.glob(depth) if p.suffix in (".py", ".ipynb")
                       and p.is_file() and not p.name.startswith("."))  # fmt: skip
        if found:
            return found[0]
    return None


@app.command("run", cls=HelpCommand)
def run_command(
    root: Annotated[
        str | None,
        typer.Option(
            "--root", help="The autograder folder (default: $AUTOGRADER_ROOT or /autograder)."
        ),  # fmt: skip
    ] = None,
) -> None:
    """Grade the submission in ROOT/submission with ROOT/source/config.json (run_autograder)."""
    from ..i18n import language

    base = Path(root or os.environ.get("AUTOGRADER_ROOT") or "/autograder")
    config = json.loads((base / "source" / "config.json").read_text(encoding="utf-8"))
    submission = find_submission(base / "submission") or base / "submission" / "(none).py"
    from ..check.grade import CheckOptions
    from ..check.isolation import detect
    from .check_gradescope import write_gradescope

    options = CheckOptions(api=config["api"], class_name=config["class"],
                           timeout=float(config["timeout"]), isolation=detect())  # fmt: skip
    with language(config.get("lang", "en")):
        write_gradescope(submission, options, str(base / "results"),
                         bool(config.get("hide_cases")), quiet=False,
                         points=config.get("points"))  # fmt: skip
