"""R12 a damaged shard in a Beam job (`recio job transform` over TFRecord input) and in both
loaders (NumpyLoader, tf_dataset): strict reading must fail naming the shard (and the offset);
salvage must return exactly the intact records and report the damage; never a silent drop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from context import Context, env_with_repo
from outcome import CRASH, ORIGINAL, SILENT, TYPED, Row

HERE = Path(__file__).resolve().parent
SHARDS, PER_SHARD = 3, 100


def _make_shards(folder: Path, env: dict[str, str]) -> None:
    rows = folder / "rows.jsonl"
    with open(rows, "w") as f:
        for i in range(SHARDS * PER_SHARD):
            f.write(json.dumps({"id": i, "x": i * 0.25, "y": i % 2}) + "\n")
    data = folder / "data"
    data.mkdir()
    cmd = [sys.executable, "-m", "recio", "write", str(data / "part.tfrecord"), str(rows)]
    subprocess.run([*cmd, "--shards", str(SHARDS)], env=env, check=True, capture_output=True)
    rows.unlink()


def _damage(folder: Path, how: str) -> tuple[str, int]:
    """Damage shard 1; returns its name and how many of its records stay intact."""
    shard = sorted(p for p in (folder / "data").iterdir())[1]
    data = bytearray(shard.read_bytes())
    if how == "bit flip":
        data[len(data) // 2] ^= 0x10
        shard.write_bytes(bytes(data))
        return shard.name, PER_SHARD - 1
    cut = len(data) * 2 // 3
    shard.write_bytes(bytes(data[:cut]))
    return shard.name, -1  # the intact count is what salvage finds before the cut


def _judge(res: dict, shard: str, salvage: bool, intact: int) -> tuple[str, str]:
    total = SHARDS * PER_SHARD
    if res["error"] is not None:
        if not res["typed"]:
            return CRASH, f"{res['error']}: {res['msg'][:200]}"
        named = shard in res["msg"]
        return (
            TYPED,
            f"{res['error']} after {res['rows']} rows; names the shard: {named};"
            f" {res['msg'][:160]}",
        )
    if salvage:
        ok = len(set(res["ids"])) == res["rows"] and res["rows"] < total and res["damage"]
        if ok and (intact < 0 or res["rows"] == total - PER_SHARD + intact):
            return ORIGINAL, f"{res['rows']} intact rows, damage reported: {res['damage'][0][:120]}"
        return SILENT, f"{res['rows']} rows, damage {res['damage'][:1]}"
    return SILENT, f"{res['rows']} of {total} rows, no error"


def pipelines(ctx: Context) -> Row:
    row = Row("R12", "damaged shard (1 of 3 x 100 records) in a Beam job and both loaders")
    env = env_with_repo()
    penv = env | {"PYTHONPATH": f"{HERE}{os.pathsep}{env['PYTHONPATH']}"}
    base = ctx.scratch("r12")
    modes = ["numpy", "numpy-salvage", "tfdata", "tfdata-verify", "tfdata-salvage"]
    tf_modes = {"tf"}
    damages = ["bit flip", "cut"]
    for how in damages:
        folder = base / how.replace(" ", "_")
        folder.mkdir()
        _make_shards(folder, env)
        shard, intact = _damage(folder, how)
        run = [m for m in modes + sorted(tf_modes) if ctx.tf.available or not m.startswith("tf")]
        proc = subprocess.run(
            [sys.executable, str(HERE / "loaders_probe.py"), str(folder / "data"), *run],
            env=penv,
            capture_output=True,
            text=True,
            timeout=600,
        )
        results = {}
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                res = json.loads(line)
                results[res["mode"]] = res
        for mode in run:
            res = results.get(mode) or {
                "error": f"rc {proc.returncode}", "typed": False, "msg": proc.stderr[-300:],
                "rows": 0, "ids": [], "damage": [],
            }  # fmt: skip
            outcome, detail = _judge(res, shard, mode.endswith("salvage"), intact)
            if mode in tf_modes:
                row.tf[outcome] += 1
                row.notes.append(f"{how}, tf.data.TFRecordDataset (TF alone): {outcome} ({detail})")
                continue
            row.add(outcome, {"case": f"{how}, {mode}", "detail": detail})
            row.notes.append(f"{how}, {mode}: {outcome} ({detail})")
        if ctx.budget.beam and (how == "bit flip" or ctx.budget.name == "full"):
            _beam_case(row, folder, shard, env, how)
    if not ctx.budget.beam:
        row.notes.append(f"Beam job not run in budget {ctx.budget.name} (ci and full run it)")
    if not ctx.tf.available:
        row.tf_note = f"TF not run: {ctx.tf.why}"
    else:
        row.tf_note = "tf.data.TFRecordDataset over the same shards"
    return row


def _beam_case(row: Row, folder: Path, shard: str, env: dict[str, str], how: str) -> None:
    out = folder / "job"
    cmd = [
        sys.executable,
        "-m",
        "recio",
        "job",
        "transform",
        str(folder / "data"),
        "--input-format",
        "tfrecord",
        "--output",
        str(out),
        "--label",
        "y",
        "-q",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    err = proc.stderr.strip()
    lines = [line for line in err.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if proc.returncode < 0 or proc.returncode == 70 or "Traceback" in err:
        outcome = CRASH
    elif proc.returncode == 0:
        outcome = SILENT
    else:
        outcome = TYPED
    leftover = sorted(os.listdir(out)) if out.exists() else []
    detail = f"rc {proc.returncode}: {last[:200]}; names the shard: {shard in err};"
    detail += f" output left: {leftover[:5]}"
    row.add(outcome, {"case": f"{how}, recio job transform", "detail": detail})
    row.notes.append(f"{how}, recio job transform (Beam FnApiRunner): {outcome} ({detail})")
