"""Grade a folder of real CS231n submissions and print the agreement table.

    python scripts/grade_corpus.py FOLDER [--labels LABELS.csv] [--jobs 2]

The folder stays outside the repository (public code is never committed). For every ``.py``
file: ``scripts/torch_judge.py`` (torch only, each file in a child process with a time limit)
gives the independent verdict; ``convtrace check FOLDER --api cs231n --json`` (one command, as a
teacher runs it) gives the grader's verdict and the ids it names. With ``--labels`` (a CSV
with columns ``file`` and ``ids``: the mistakes a person saw reading the code, space-separated
ids, empty for none), each named id is also checked against the label.

Printed: one row per file (judge, convtrace, ids named, label, agreement), then the figures:
false passes, false failures, right id (every failing file whose named ids are exactly its
label's), wrong ids (an id named that the label does not have), and the time per file.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
JUDGE = HERE / "torch_judge.py"


def judge(files: list[Path], jobs: int) -> dict[str, dict]:
    """The torch judge's verdicts per file, ``jobs`` judge processes side by side."""
    chunks = [files[i::jobs] for i in range(jobs)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(JUDGE), *map(str, chunk)], stdout=subprocess.PIPE, text=True
        )
        for chunk in chunks
        if chunk
    ]
    verdicts: dict[str, dict] = {}
    for proc in procs:
        out, _ = proc.communicate(timeout=3600)
        for line in out.splitlines():
            verdicts.update({Path(k).name: v for k, v in json.loads(line).items()})
    return verdicts


def check(folder: Path) -> tuple[dict[str, dict], float]:
    """convtrace's JSON document per file, and the wall time of the whole command."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "convtrace", "check", str(folder), "--api", "cs231n", "--json"],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    documents = json.loads(done.stdout)["files"]
    return {Path(d["file"]).name: d for d in documents}, elapsed


def read_labels(path: str | None) -> dict[str, list[str]]:
    if not path:
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["file"]: row["ids"].split() for row in csv.DictReader(handle)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--labels")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    files = sorted(p for p in Path(args.folder).glob("*.py") if p.is_file())
    labels = read_labels(args.labels)

    start = time.perf_counter()
    verdicts_by_file = judge(files, args.jobs)
    judged = time.perf_counter() - start
    documents, elapsed = check(Path(args.folder))
    rows = [(p, verdicts_by_file.get(p.name, {}), documents.get(p.name, {})) for p in files]
    counts = {"files": 0, "false_pass": 0, "false_fail": 0, "failing": 0, "right_id": 0,
              "wrong_id": 0, "no_pattern": 0}  # fmt: skip
    print(f"{'file':44} {'judge':6} {'check':6} {'ids named':34} {'label':34} agree")
    for path, verdicts, doc in rows:
        counts["files"] += 1
        judged_pass = all(v.get("verdict") != "fail" for v in verdicts.values())
        passed = bool(doc.get("passed"))
        named = list(doc.get("diagnosis") or [])
        label = labels.get(path.name)
        agree = "yes" if passed == judged_pass else "NO"
        if passed and not judged_pass:
            counts["false_pass"] += 1
        if judged_pass and not passed:
            counts["false_fail"] += 1
        if not judged_pass:
            counts["failing"] += 1
            if label is not None:
                if set(named) - set(label):
                    counts["wrong_id"] += 1
                    agree += ", wrong id"
                elif named and set(named) == set(label):
                    counts["right_id"] += 1
                else:
                    agree += ", id missed" if named else ", no known pattern"
                if not named:
                    counts["no_pattern"] += 1
        shown_label = "-" if label is None else " ".join(label) or "(none)"
        print(
            f"{path.name[:44]:44} {'pass' if judged_pass else 'fail':6} "
            f"{'pass' if passed else 'fail':6} {' '.join(named)[:34]:34} {shown_label[:34]:34} "
            f"{agree}"
        )
    failing = counts["failing"] or 1
    print()
    print(f"files {counts['files']}; judge fails {counts['failing']}")
    print(f"false passes {counts['false_pass']}; false failures {counts['false_fail']}")
    if labels:
        print(
            f"right id {counts['right_id']} of {counts['failing']} failing files "
            f"({100 * counts['right_id'] / failing:.0f}%); wrong ids {counts['wrong_id']}; "
            f"no known pattern {counts['no_pattern']}"
        )
    print(f"convtrace check on the folder: {elapsed:.1f} s wall for {len(files)} files "
          f"({elapsed / max(1, len(files)):.2f} s a file, torch import included); "
          f"the judge: {judged:.1f} s")  # fmt: skip
    return 0 if counts["false_pass"] == counts["false_fail"] == counts["wrong_id"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
