"""R8 unsafe paths: NUL bytes, very long names, directories given as files, symlinks, existing
outputs (swapped arguments, output = input), unwritable folders.

Command-line cases run `recio` as a real subprocess, as an unprivileged user when this process
is root (setpriv), inside a sandbox whose every file is fingerprinted before and after: a changed
or removed file the user had is `destroyed`. An error must be one line (no traceback) with exit
status 1-3; 70, a traceback or a signal is a crash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from context import Context, env_with_repo
from outcome import CRASH, DESTROYED, ORIGINAL, SILENT, TYPED, Row

NOBODY = 65534


def _snapshot(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                out[path] = "link:" + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    out[path] = hashlib.sha1(f.read()).hexdigest()
    return out


def _demote() -> list[str] | None:
    """The command prefix that runs as `nobody`, or None when that is impossible."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _cli(prefix: list[str], args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = env_with_repo() | {"HOME": str(cwd), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "recio", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _judge_cli(proc: subprocess.CompletedProcess[str], expect_ok: bool) -> tuple[str, str]:
    err = proc.stderr.strip()
    lines = [line for line in err.splitlines() if line.strip()]
    if proc.returncode < 0 or proc.returncode == 70 or "Traceback" in err:
        return CRASH, f"rc {proc.returncode}: {err[-300:]}"
    if proc.returncode == 0:
        return (ORIGINAL if expect_ok else SILENT), lines[-1] if lines else ""
    if proc.returncode in (1, 2, 3):
        if len(lines) > 1 and not expect_ok:
            return TYPED, f"rc {proc.returncode} ({len(lines)} lines): {lines[-1][:200]}"
        return TYPED, f"rc {proc.returncode}: {lines[-1][:240] if lines else '(no message)'}"
    return CRASH, f"rc {proc.returncode}: {err[-300:]}"


def unsafe_paths(ctx: Context) -> Row:
    row = Row(
        "R8",
        "unsafe paths: NUL, long names, dir-as-file, symlinks, existing outputs, no permission",
    )
    prefix = _demote()
    if prefix is None:
        row.skipped = "running as root and setpriv is missing: cannot test as a normal user"
        return row
    root = ctx.scratch("r8")
    os.chmod(root, 0o777)
    rows = "\n".join(f'{{"id": {i}, "x": {i * 0.5}}}' for i in range(50)) + "\n"

    def sandbox(name: str) -> Path:
        box = root / name
        box.mkdir()
        (box / "rows.jsonl").write_text(rows)
        (box / "data.csv").write_text("a,b\n1,2\n3,4\n")
        (box / "keep").mkdir()
        (box / "keep" / "precious.txt").write_text("the user's file\n")
        (box / "locked").mkdir()
        os.symlink(box / "keep" / "precious.txt", box / "link.tfrecord")
        for folder, dirs, files in os.walk(box):
            for n in dirs:
                os.chmod(os.path.join(folder, n), 0o777)
            for n in files:
                os.chmod(os.path.join(folder, n), 0o666)
        os.chmod(box, 0o777)
        os.chmod(box / "locked", 0o555)
        return box

    long255 = "n" * (255 - len(".tfrecord")) + ".tfrecord"
    long256 = "n" * (256 - len(".tfrecord")) + ".tfrecord"
    deep = "/".join(["d" * 200] * 22) + "/x.tfrecord"
    # (name, argv, output expected to appear (None: an error is expected))
    cases: list[tuple[str, list[str], str | None]] = [
        ("output is an existing folder", ["write", "keep", "rows.jsonl"], None),
        ("output in a missing folder", ["write", "missing/out.tfrecord", "rows.jsonl"], None),
        ("output in an unwritable folder", ["write", "locked/out.tfrecord", "rows.jsonl"], None),
        ("output is a symlink to a user file", ["write", "link.tfrecord", "rows.jsonl"], None),
        ("arguments swapped (output = existing CSV)", ["write", "data.csv", "rows.jsonl"], None),
        ("output is the input", ["write", "rows.jsonl", "rows.jsonl"], None),
        ("output name of 255 bytes (the limit)", ["write", long255, "rows.jsonl"], long255),
        ("output name of 256 bytes", ["write", long256, "rows.jsonl"], None),
        ("output path over PATH_MAX", ["write", deep, "rows.jsonl"], None),
        ("input is a folder", ["write", "out.tfrecord", "keep"], None),
        ("input missing", ["write", "out.tfrecord", "nope.jsonl"], None),
        ("read a folder without record files", ["read", "keep"], None),
        ("read a file without permission", ["read", "locked/secret.tfrecord"], None),
        ("verify a symlink loop", ["verify", "loop.tfrecord"], None),
        (
            "sharded output in an unwritable folder",
            ["write", "locked/o.tfrecord", "rows.jsonl", "--shards", "3"],
            None,
        ),
    ]
    if ctx.budget.beam:
        cases.append(
            (
                "job csv --output is a file",
                ["job", "csv", "data.csv", "--output", "rows.jsonl", "-q"],
                None,
            )
        )
    for i, (name, argv, expected_output) in enumerate(cases):
        box = sandbox(f"c{i}")
        if "permission" in name:
            secret = box / "locked" / "secret.tfrecord"
            os.chmod(box / "locked", 0o777)
            secret.write_bytes(b"")
            os.chmod(secret, 0o000)
            os.chmod(box / "locked", 0o555)
        if "loop" in name:
            os.symlink(box / "loop.tfrecord", box / "loop.tfrecord")
        before = _snapshot(root)
        proc = _cli(prefix, argv, box)
        outcome, detail = _judge_cli(proc, expected_output is not None)
        after = _snapshot(root)
        changed = [p for p, h in before.items() if after.get(p) != h]
        created = sorted(set(after) - set(before))
        if expected_output is not None:
            created = [p for p in created if not p.endswith(expected_output)]
        if changed:
            outcome = DESTROYED
            detail += f"; changed {[os.path.relpath(p, box) for p in changed]}"
        debris = [os.path.relpath(p, box) for p in created]
        row.add(outcome, {"case": name, "detail": detail}, valid_input=expected_output is not None)
        row.notes.append(
            f"{name}: {outcome} ({detail})" + (f"; left {debris[:3]}" if debris else "")
        )
    _library_cases(row)
    row.notes.append(
        "command-line cases ran as uid 65534 (setpriv)" if prefix else "ran as a normal user"
    )
    _tf_paths(ctx, row, root)
    return row


def _library_cases(row: Row) -> None:
    """NUL bytes cannot reach argv; the libraries take them from Python callers."""
    from recordio.errors import StructuredError

    def writer() -> None:
        from recordio import TFRecordWriter

        TFRecordWriter("bad\0name.tfrecord").close()

    def reader() -> None:
        from recordio import read_records

        list(read_records("bad\0name.tfrecord"))

    def expand() -> None:
        from recordio import expand_paths

        expand_paths(["bad\0name*.tfrecord"])

    def loader() -> None:
        from pipeline.loaders import NumpyLoader

        next(iter(NumpyLoader("bad\0dir", label="y")))

    for name, fn in (
        ("TFRecordWriter", writer),
        ("read_records", reader),
        ("expand_paths", expand),
        ("NumpyLoader", loader),
    ):
        try:
            fn()
            outcome, detail = SILENT, "no error"
        except StructuredError as error:
            outcome, detail = TYPED, f"{type(error).__name__}: {error}"
        except Exception as error:  # noqa: BLE001
            outcome, detail = CRASH, f"{type(error).__name__}: {error}"
        row.add(outcome, {"case": f"NUL byte in a path: {name}", "detail": detail})
        row.notes.append(f"NUL byte in a path ({name}): {outcome} ({detail[:200]})")


def _tf_paths(ctx: Context, row: Row, root: Path) -> None:
    if not ctx.tf.available:
        row.tf_note = f"TF not run: {ctx.tf.why}"
        return
    box = root / "tf"
    box.mkdir()
    victim = box / "data.csv"
    victim.write_text("a,b\n1,2\n")
    (box / "keep").mkdir()
    results = {}
    for name, target in (
        ("existing user file", victim),
        ("existing folder", box / "keep"),
        ("name of 256 bytes", box / ("n" * 256)),
    ):
        try:
            ctx.tf.call("write", path=str(target), codec="NONE", records=[])
            results[name] = "written"
        except RuntimeError as error:
            results[name] = "error" if "Error" in str(error) else str(error)[:80]
    destroyed = victim.read_text() != "a,b\n1,2\n"
    row.tf.update({"destroyed" if destroyed else "kept": 1})
    row.tf_note = (
        "tf.io.TFRecordWriter: "
        + ", ".join(f"{k}: {v}" for k, v in results.items())
        + ("; the existing user file was replaced without a word" if destroyed else "")
    )
