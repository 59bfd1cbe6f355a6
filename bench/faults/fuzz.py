"""R10 coverage-guided fuzzing with atheris: the reader (every codec, plus a write/read round
trip), the salvage scanner, the Example decoder and the shard-name parser; each target in its own
libFuzzer process with an oracle (see fuzz_targets.py)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from context import TEST_DATA, Context, env_with_repo
from framing import structured_cases
from outcome import CRASH, ORIGINAL, Row

HERE = Path(__file__).resolve().parent
TARGETS = ("reader", "salvage", "example", "shards")


def _seed(folder: Path, target: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if target in ("reader", "salvage"):
        for path in TEST_DATA.glob("tf_*"):
            (folder / path.name).write_bytes(
                b"\x01" + path.read_bytes() if target == "reader" else path.read_bytes()
            )
        for i, (_, _, data, _) in enumerate(structured_cases()):
            (folder / f"s{i}").write_bytes(data)
    elif target == "example":
        from recordio import encode_example

        (folder / "e0").write_bytes(encode_example({"a": [1, 2], "b": [0.5], "c": [b"x"]}))
        (folder / "e1").write_bytes(b"")
    else:
        (folder / "n0").write_bytes(b"\x05out.tfrecord.gz")


def fuzz(ctx: Context) -> Row:
    row = Row(
        "R10", "coverage-guided fuzzing (atheris): reader, salvage, Example decoder, shard names"
    )
    if importlib.util.find_spec("atheris") is None:
        row.skipped = "atheris is not installed (pip install atheris)"
        return row
    seconds = ctx.budget.fuzz_seconds
    env = env_with_repo()
    env["PYTHONPATH"] = f"{HERE}{os.pathsep}{env['PYTHONPATH']}"
    jobs = []
    for target in TARGETS:
        corpus = ctx.work / "fuzz" / target
        _seed(corpus, target)
        artifacts = ctx.work / "fuzz" / f"{target}-crashes"
        artifacts.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, str(HERE / "fuzz_targets.py"), target,
            f"-max_total_time={max(1, int(seconds))}", "-max_len=65536", "-rss_limit_mb=2048",
            "-timeout=10", "-print_final_stats=1", f"-seed={ctx.seed}",
            f"-artifact_prefix={artifacts}/", str(corpus),
        ]  # fmt: skip
        jobs.append((target, artifacts, cmd))
    for pair in range(0, len(jobs), 2):  # two targets at a time: one per core
        running = []
        for target, artifacts, cmd in jobs[pair : pair + 2]:
            log_path = artifacts.parent / f"{target}.log"
            with open(log_path, "w") as log:  # a file, not a pipe: a full pipe would stall it
                proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
            running.append((target, artifacts, proc, log_path))
        for target, artifacts, proc, log_path in running:
            rc = proc.wait(timeout=seconds + 300)
            _tally(row, target, artifacts, rc, log_path.read_text(errors="replace"), seconds)
    row.recio[ORIGINAL] = row.cases - row.recio[CRASH]
    row.tf_note = "not applicable (TF has no Python-level TFRecord fuzzing)"
    return row


def _tally(row: Row, target: str, artifacts: Path, rc: int, log: str, seconds: float) -> None:
    execs = _stat(log, r"stat::number_of_executed_units:\s*(\d+)")
    cov = _last(log, r"cov: (\d+)")
    corp = _last(log, r"corp: (\d+)")
    rate = execs / seconds if execs else 0
    crashed = rc != 0
    row.cases += execs or 0
    if crashed:
        row.recio[CRASH] += 1
        lines = [line for line in log.splitlines() if "Error" in line or "assert" in line.lower()]
        example = {"outcome": CRASH, "target": target, "log": "\n".join(lines)[-600:]}
        row.examples.append(example | {"artifacts": os.listdir(artifacts)[:3]})
    row.notes.append(
        f"{target}: {execs or 0:,} execs in {seconds:.0f} s ({rate:,.0f}/s),"
        f" coverage {cov} edges, corpus {corp}, {'CRASH rc ' + str(rc) if crashed else '0 crashes'}"
    )


def _stat(log: str, pattern: str) -> int | None:
    m = re.search(pattern, log)
    return int(m.group(1)) if m else None


def _last(log: str, pattern: str) -> int | None:
    found = re.findall(pattern, log)
    return int(found[-1]) if found else None
