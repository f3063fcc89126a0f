"""A generated-input campaign against the convtrace command (issue 10): random options × hostile
files, each run in its own process under a memory limit and a timeout.

    python tests/campaign/fuzz_cli.py --runs 1000 --jobs 2 --seed 1

Counts what the issue asks to be zero: tracebacks, "Internal error" lines, exit codes outside
0/1/2, deaths by signal or timeout, and exit code 1 from a run whose options and files were all
valid and finite (a disagreement with torch there is a real bug). Failing command lines are
written to ``--failures`` (JSON lines) to replay. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------- files


def write_files(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """(valid files, hostile files), by a short name."""
    rng = np.random.default_rng(0)
    good, bad = {}, {}

    def put(table, name, data: bytes | str):
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        table[name] = path

    np.save(folder / "x6.npy", rng.integers(1, 10, (6, 6)).astype(np.float32))
    good["x6.npy"] = folder / "x6.npy"
    np.save(folder / "x3c.npy", rng.standard_normal((2, 3, 7, 7)))
    good["x3c.npy"] = folder / "x3c.npy"
    rows = rng.integers(0, 9, (5, 5))
    put(good, "x.csv", "\n".join(",".join(str(v) for v in row) for row in rows))
    put(good, "x.json", json.dumps(rng.integers(-3, 4, (1, 1, 6, 6)).tolist()))
    np.savez(folder / "w.npz", **{"conv.weight": rng.integers(-1, 2, (2, 1, 3, 3)).astype(float)})
    good["w.npz"] = folder / "w.npz"
    put(good, "w.json", json.dumps({"conv.bias": [0.5, -0.5]}))
    put(good, "s.toml", 'pool = "avg"\nactivation = "relu"\nsize = 7\n')

    np.save(folder / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    bad["object.npy"] = folder / "object.npy"
    put(bad, "nan.csv", "1,2,3\n4,nan,6\n7,8,9\n")
    put(bad, "inf.json", "[[1, 2], [3, 1e999]]")
    put(bad, "deep.json", "[" * 200 + "1" + "]" * 200)
    put(bad, "deep65.json", "[" * 65 + "1" + "]" * 65)
    put(bad, "ragged.json", "[[1, 2], [3]]")
    put(bad, "strings.csv", "1,2\nfive,6\n")
    put(bad, "empty.npy", b"")
    put(bad, "junk.pt", os.urandom(300))
    put(bad, "junk.npz", os.urandom(300))
    put(bad, "huge_header.npy", _npy_header("(100000, 100000, 100000)"))
    put(bad, "negative_header.npy", _npy_header("(-6, -6)"))
    np.save(folder / "big.npy", np.full((6, 6), 1e38, dtype=np.float32))
    bad["big.npy"] = folder / "big.npy"
    np.save(folder / "w3d.npy", np.ones((2, 3, 3)))
    np.savez(folder / "w3d.npz", **{"conv.weight": np.ones((2, 3, 3))})
    bad["w3d.npz"] = folder / "w3d.npz"
    np.savez(folder / "wbig.npz", **{"conv.weight": np.full((2, 1, 3, 3), 1e30)})
    bad["wbig.npz"] = folder / "wbig.npz"
    put(bad, "wkey.json", json.dumps({"conv.wieght": [[[[1]]]]}))
    put(bad, "date.toml", "size = 1979-05-27\n")
    put(bad, "table.toml", "[size]\nx = 1\n")
    put(bad, "unknown.toml", "sise = 6\n")
    put(bad, "datearr.toml", "input = [[1979-05-27, 1], [2, 3]]\n")
    put(bad, "broken.toml", "size = = 6\n")
    put(bad, "missing_path.toml", 'input = "nope.npy"\n')
    put(bad, "binary.csv", os.urandom(200))
    put(bad, "latin1.csv", "1,2\n3,\xe9\n".encode("latin-1"))
    try:  # a pickled object in a .pt: must be refused without running
        import pickle

        put(bad, "evil.pt", pickle.dumps({"x": collections.OrderedDict()}))
    except Exception:  # noqa: BLE001
        pass
    return good, bad


def _npy_header(shape: str) -> bytes:
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


# --------------------------------------------------------------------------- command lines

VALID_VALUES = {
    "--seed": ["0", "7", "42", "123456"],
    "--batch": ["1", "2", "3"],
    "--channels": ["1", "2", "3"],
    "--size": ["4", "5", "6", "7", "9", "12"],
    "--filters": ["1", "2", "4"],
    "--kernel": ["1", "2", "3"],
    "--stride": ["1", "2"],
    "--padding": ["valid", "same", "1", "0,1", "SAME"],
    "--dilation": ["1", "2"],
    "--activation": ["none", "relu", "ReLU"],
    "--pool": ["max", "avg", "none", "MAX"],
    "--pool-size": ["2"],
    "--loss": ["bce", "mse", "ce", "CE"],
    "--classes": ["2", "3", "5"],
    "--method": ["both", "im2col", "loop"],
    "--dtype": ["float32", "float64"],
    "--precision": ["2", "4", "8"],
}
HOSTILE_VALUES = [
    "-6", "0", "-1", "2147483648", "18446744073709551616", "1" * 5000, "²", "٣", "1e3", "abc",
    "", " ", "nan", "inf", "3,", ",", "1,2,3", "valid,", "💥", "--seed", "-", "0x10", "１",
]  # fmt: skip
COMMANDS = ["run", "run", "run", "forward", "backward", "explain", "shapes", "check", "help"]
CELLS = [
    "conv.out[0,0,0,0]", "pool.out[0,0,0,0]", "grad.conv.weight[0,0,0,0]", "grad.conv.bias[0]",
    "grad.input[0,0,1,1]", "loss", "fc.out[0,0]", "conv.out[9,9,9,9]",
    "conv.out[" + "9" * 5000 + "]", "conv.out[0,0", "x[]", "",
]  # fmt: skip


def command_line(rng: random.Random, good, bad, student: Path) -> tuple[list[str], bool]:
    """(arguments, valid): valid when every option and file is one a run must accept."""
    command = rng.choice(COMMANDS)
    valid = True
    if command == "help":
        return [rng.choice(["run", "explain", "shapes", "check", "bench"]), "--help"], True
    if command == "check":
        args = ["check", str(student), "--class", rng.choice(["Conv2D", "Conv2D", "Nope"])]
        return args, False  # a student's verdict is not convtrace's
    args = [command]
    if command == "explain":
        cell = rng.choice(CELLS)
        valid = cell in CELLS[:5]
        args.append(cell)
    options = list(VALID_VALUES) if command != "shapes" else [
        "--size", "--kernel", "--stride", "--padding", "--dilation"
    ]  # fmt: skip
    for option in rng.sample(options, rng.randint(0, min(6, len(options)))):
        if rng.random() < 0.15:
            args += [option, rng.choice(HOSTILE_VALUES)]
            valid = False
        else:
            args += [option, rng.choice(VALID_VALUES[option])]
    if command != "shapes" and rng.random() < 0.35:
        option = rng.choice(["--input", "--weights", "--target", "--scenario"])
        if rng.random() < 0.5:
            pool = {
                "--input": ["x6.npy", "x3c.npy", "x.csv", "x.json"],
                "--weights": ["w.npz", "w.json"],
                "--target": ["x6.npy"],
                "--scenario": ["s.toml"],
            }[option]
            args += [option, str(good[rng.choice(pool)])]
        else:
            args += [option, str(bad[rng.choice(sorted(bad))])]
        valid = False  # shapes may legitimately conflict with the flags
    if rng.random() < 0.05:
        args.append(rng.choice(["--sed", "--json=", "--only", "--bogus"]))
        valid = False
    if rng.random() < 0.2:
        args.append("--json")
    if rng.random() < 0.1:
        args += ["--only", rng.choice(["grad", "conv.*", "zzz", "grad.*"])]
        valid = False
    if "--size" in args and args[args.index("--size") + 1] in ("9", "12"):
        valid = valid and "--dilation" not in args
    return args, valid


# --------------------------------------------------------------------------- running


def limit_memory(megabytes: int):
    def apply():
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def run_one(args, valid, memory_mb: int, timeout: float, cwd: str) -> dict:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "convtrace", *args],
            capture_output=True,
            timeout=timeout,
            preexec_fn=limit_memory(memory_mb),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return {"args": args, "valid": valid, "verdict": "timeout"}
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    code = done.returncode
    if "Traceback (most recent call last)" in text:
        verdict = "traceback"
    elif "Internal error" in text:
        verdict = "internal error"
    elif code < 0:
        verdict = f"signal {-code}"
    elif code not in (0, 1, 2):
        verdict = f"exit {code}"
    elif code == 1 and valid:
        verdict = "exit 1 on valid input"
    elif code == 2 and not done.stderr.decode("utf-8", "replace").startswith("Error: "):
        verdict = "exit 2 without an Error: line"
    else:
        verdict = "ok"
    return {"args": args, "valid": valid, "code": code, "verdict": verdict, "tail": text[-300:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--failures", default="fuzz_failures.jsonl")
    options = parser.parse_args()
    rng = random.Random(options.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        good, bad = write_files(folder)
        student = folder / "student.py"
        correct = Path(__file__).resolve().parents[2] / "examples" / "students" / "correct.py"
        student.write_text(correct.read_text())
        lines = [command_line(rng, good, bad, student) for _ in range(options.runs)]
        with ThreadPoolExecutor(options.jobs) as pool:
            results = list(
                pool.map(
                    lambda line: run_one(*line, options.memory_mb, options.timeout, tmp), lines
                )
            )
    verdicts = collections.Counter(r["verdict"] for r in results)
    codes = collections.Counter(r.get("code") for r in results)
    print(f"runs: {len(results)}  (valid input: {sum(r['valid'] for r in results)})")
    print("exit codes:", dict(sorted(codes.items(), key=str)))
    print("verdicts:", dict(verdicts))
    failures = [r for r in results if r["verdict"] != "ok"]
    with open(options.failures, "w") as out:
        for r in failures:
            out.write(json.dumps(r) + "\n")
    print(f"{len(failures)} failures written to {options.failures}")


if __name__ == "__main__":
    main()
