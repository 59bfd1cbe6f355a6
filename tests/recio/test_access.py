"""`recio index`, `recio count`, `recio recover` and `recio read --salvage`, run as a user runs
them: subprocesses, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recordio import read_records, write_records


@pytest.fixture
def run(tmp_path: Path, python_env: dict[str, str]):
    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "recio", *args],
            cwd=tmp_path,
            env=python_env,
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )

    return _run


def no_traceback(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return result


RECORDS = [os.urandom(300) for _ in range(2500)]


def test_index_then_count_in_o1(run, tmp_path: Path) -> None:
    write_records(tmp_path / "a.tfrecord.gz", RECORDS, "GZIP")
    write_records(tmp_path / "b.tfrecord", RECORDS[:7])
    done = no_traceback(run("index", "a.tfrecord.gz", "b.tfrecord"))
    assert done.returncode == 0, done.stderr
    assert "a.tfrecord.gz.idx: 2500 records" in done.stderr
    assert (tmp_path / "b.tfrecord.idx").exists()
    counted = no_traceback(run("count", "--json", "*.tfrecord*"))  # the glob matches .idx too
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout) == {
        "files": {"a.tfrecord.gz": 2500, "b.tfrecord": 7},
        "total": 2507,
    }
    assert run("count", ".").stdout.splitlines()[-1] == "2507\ttotal"  # a folder: record files


def test_a_stale_index_is_refused_with_what_to_do(run, tmp_path: Path) -> None:
    path = tmp_path / "s.tfrecord"
    write_records(path, RECORDS[:10])
    assert run("index", "s.tfrecord").returncode == 0
    write_records(path, RECORDS[:11])
    done = no_traceback(run("count", "s.tfrecord"))
    assert done.returncode == 1 and "recio index s.tfrecord" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert run("count", "--no-index", "s.tfrecord").stdout.split()[0] == "11"


def test_recover_and_read_salvage(run, tmp_path: Path) -> None:
    source = tmp_path / "in.tfrecord.gz"
    write_records(source, RECORDS, "GZIP", member_bytes=64 << 10)
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0x10
    source.write_bytes(bytes(data))
    done = no_traceback(run("recover", "in.tfrecord.gz", "out.tfrecord.gz"))
    assert done.returncode == 3, done.stderr
    assert "skipped" in done.stderr and "records kept" in done.stderr
    kept = list(read_records(tmp_path / "out.tfrecord.gz"))
    assert len(kept) >= len(RECORDS) - 1 and all(record in RECORDS for record in kept)
    again = no_traceback(run("recover", "in.tfrecord.gz", "out.tfrecord.gz"))
    assert again.returncode == 2 and "--overwrite" in again.stderr
    same = no_traceback(run("recover", "in.tfrecord.gz", "in.tfrecord.gz", "--overwrite"))
    assert same.returncode == 2 and "is the input" in same.stderr
    assert source.read_bytes() == bytes(data)
    read = no_traceback(run("read", "--raw", "--salvage", "in.tfrecord.gz"))
    assert read.returncode == 3 and len(read.stdout.splitlines()) == len(kept)
    plain = no_traceback(run("read", "--raw", "in.tfrecord.gz"))
    assert plain.returncode == 3 and len(plain.stderr.strip().splitlines()) == 1
    clean = tmp_path / "clean.tfrecord"
    write_records(clean, RECORDS[:5])
    report = no_traceback(run("recover", "clean.tfrecord", "copy.tfrecord", "--json"))
    assert report.returncode == 0 and json.loads(report.stdout)["records"] == 5


def test_help_has_examples(run) -> None:
    for command in ("index", "count", "recover"):
        done = run(command, "--help")
        assert done.returncode == 0 and "Example: recio" in done.stdout
    assert "--salvage" in run("read", "--help").stdout
