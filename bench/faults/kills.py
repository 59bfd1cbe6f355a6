"""R5 crash safety: `recio write` processes (single files and shards, every codec) killed with
SIGKILL at random moments; every final name must hold nothing or a complete valid file.

TensorFlow's writer gets the same treatment (forked from the TF worker): it writes in place, so a
kill leaves a torn file, detected (DataLoss) or silently short.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from context import Context, env_with_repo
from outcome import ORIGINAL, TORN, Row, digest

ROWS = 8000
CONFIGS = [  # (output name, extra arguments)
    ("out.tfrecord", []),
    ("out.tfrecord.gz", []),
    ("out.tfrecord.zz", ["-c", "ZLIB"]),
    ("out.tfrecord", ["--shards", "8"]),
    ("out.tfrecord.gz", ["--shards", "50"]),
]


def _input(folder: Path) -> Path:
    path = folder / "rows.jsonl"
    with open(path, "w") as f:
        for i in range(ROWS):
            f.write(json.dumps({"id": i, "x": [i * 0.5, 1.0], "name": f"row{i}"}) + "\n")
    return path


def _command(out: Path, rows: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "recio", "write", str(out), str(rows), *extra]


def _published(folder: Path) -> dict[str, list[str]]:
    """Record fingerprints of every final (not hidden) file in `folder`; None-like [] plus a
    marker when a file does not read cleanly."""
    from recordio import RecordIOError, is_record_file, read_records

    out: dict[str, list[str]] = {}
    for name in sorted(os.listdir(folder)):
        if not is_record_file(name):  # temporary files, manifests, index sidecars
            continue
        try:
            out[name] = [digest(r) for r in read_records(str(folder / name))]
        except RecordIOError as error:
            out[name] = [f"ERROR {error.kind}"]
    return out


def kills(ctx: Context) -> Row:
    row = Row("R5", "SIGKILL during `recio write` (single and sharded, NONE/GZIP/ZLIB)")
    base = ctx.scratch("r5")
    rows = _input(base)
    env = env_with_repo()
    rng = ctx.rng("kills")
    references: dict[int, dict[str, list[str]]] = {}
    windows: dict[int, tuple[float, float]] = {}
    for i, (name, extra) in enumerate(CONFIGS):  # one clean run each: the expected files, timing
        folder = base / f"ref-{i}"
        folder.mkdir()
        start = time.monotonic()
        subprocess.run(
            _command(folder / name, rows, extra), env=env, check=True, capture_output=True
        )
        full = time.monotonic() - start
        references[i] = _published(folder)
        windows[i] = (0.0, full * 1.1)
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import recio.cli"], env=env, check=True)
    startup = time.monotonic() - start
    partial_sets = debris = nothing = 0
    trials = ctx.budget.kill_trials
    plan = []
    for trial in range(trials):
        i = trial % len(CONFIGS)
        lo, hi = windows[i]
        if rng.random() < 0.7:  # most kills land while records are written, not at import time
            lo = min(startup * 0.8, hi * 0.5)
        plan.append((trial, i, rng.uniform(lo, hi)))
    for pair in range(0, trials, 2):  # two at a time: one per core
        running = []
        for trial, i, delay in plan[pair : pair + 2]:
            name, extra = CONFIGS[i]
            folder = base / f"t{trial}"
            folder.mkdir()
            proc = subprocess.Popen(
                _command(folder / name, rows, extra),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            running.append((trial, i, delay, folder, proc, time.monotonic()))
        for _, _, delay, _, proc, started in sorted(running, key=lambda r: r[2]):
            time.sleep(max(0.0, started + delay - time.monotonic()))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for trial, i, delay, folder, _, _ in running:
            name, extra = CONFIGS[i]
            debris += sum(1 for n in os.listdir(folder) if n.startswith("."))
            seen = _published(folder)
            want = references[i]
            torn = [n for n, got in seen.items() if want.get(n) != got]
            if torn:
                config = " ".join([name, *extra])
                example = {"trial": trial, "config": config, "files": torn[:3], "delay_s": delay}
                row.add(TORN, example)
            elif not seen:
                nothing += 1
                row.add("nothing_published")
            else:
                if len(seen) != len(want):
                    partial_sets += 1
                row.add(ORIGINAL)
    row.notes.append(
        f"{trials} kills, delays uniform over the whole run (30 %) or after start-up"
        f" ({startup:.2f} s, 70 %);"
        f" {nothing} left nothing under a final name, {row.recio[ORIGINAL]} complete files,"
        f" {row.recio[TORN]} torn; {partial_sets} sharded trials had published some but"
        " not all shards"
        f" (each of them complete); {debris} temporary files left behind (SIGKILL cannot clean up)"
    )
    if partial_sets:
        row.recio["partial_shard_set"] = partial_sets
    _tf_kills(ctx, row, base)
    return row


def _tf_kills(ctx: Context, row: Row, base: Path) -> None:
    if not ctx.tf.available:
        row.tf_note = f"TF not run: {ctx.tf.why}"
        return
    rng = ctx.rng("tf-kills")
    folder = base / "tf"
    folder.mkdir()
    n = ctx.budget.tf_kill_trials
    counts = {"nothing": 0, "complete": 0, "torn (error)": 0, "torn (silently short)": 0}
    for codec in ("NONE", "GZIP"):
        delays = [rng.uniform(0.0, 0.25) for _ in range(n // 2)]
        reply = ctx.tf.call(
            "kill_writer", folder=str(folder), codec=codec, size=400, count=50_000, delays=delays
        )
        for res in reply["results"]:
            if not res["exists"]:
                counts["nothing"] += 1
            elif res["error"] is None and res["n"] == 50_000:
                counts["complete"] += 1
            elif res["error"] is not None:
                counts["torn (error)"] += 1
            else:
                counts["torn (silently short)"] += 1
    row.tf.update({k: v for k, v in counts.items() if v})
    row.tf_note = f"tf.io.TFRecordWriter (NONE, GZIP) killed {n} times, 50,000 x 400 B"
