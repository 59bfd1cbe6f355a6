"""Shard sets published as a whole: manifests, the folder check, and writers killed mid-write."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from recordio import read_records, write_records
from recordio.files import expand_paths, is_record_file
from recordio.manifest import check_folder, read_manifest
from recordio.shards import ShardedWriter
from recordio.verify import verify_folder

SHARDS = 4


def records(n: int, size: int = 40) -> list[bytes]:
    return [(b"%06d" % i) * (size // 6) for i in range(n)]


def write_set(path: Path, n: int, **kw) -> list[str]:
    with ShardedWriter(str(path), SHARDS, **kw) as writer:
        writer.write_many(records(n))
    return writer.names


def whole(folder: Path) -> bool:
    """What `recio verify FOLDER` says: a published set, every file and set ok."""
    reports, sets = verify_folder(str(folder))
    return bool(sets.manifests) and all(r.ok for r in reports) and sets.ok


def test_manifest_lists_each_shard(tmp_path: Path) -> None:
    names = write_set(tmp_path / "train.tfrecord.gz", 103)
    manifest = read_manifest(str(tmp_path / "train.manifest.json"))
    assert manifest.paths() == names
    assert [s.records for s in manifest.shards] == [26, 26, 26, 25]
    assert [s.bytes for s in manifest.shards] == [os.path.getsize(n) for n in names]
    assert manifest.compression == "GZIP"
    assert whole(tmp_path)
    # The manifest is a sidecar, never a record file; named as a path it stands for its set.
    assert not is_record_file("train.manifest.json")
    assert expand_paths([str(tmp_path / "train.manifest.json")]) == names
    assert sorted(r for n in names for r in read_records(n)) == sorted(records(103))


def test_cut_at_a_record_boundary_is_found(tmp_path: Path) -> None:
    names = write_set(tmp_path / "x.tfrecord", 40)
    size = os.path.getsize(names[1])
    with open(names[1], "r+b") as handle:  # drop the last record (16 + 36 bytes) exactly
        handle.truncate(size - 52)
    assert len(list(read_records(names[1]))) == 9  # the format itself cannot tell
    reports, sets = verify_folder(str(tmp_path))
    assert all(r.ok for r in reports)
    assert [i.kind for i in sets.issues] == ["changed_shard"]
    assert "cut short" in sets.issues[0].message


def test_missing_changed_and_unpublished(tmp_path: Path) -> None:
    names = write_set(tmp_path / "a.tfrecord", 20)
    os.unlink(names[2])
    (tmp_path / "b-00000-of-00003.tfrecord").write_bytes(b"")  # a set without its manifest
    (tmp_path / ".b-00001-of-00003.tfrecord.tmp-123-abcd1234").write_bytes(b"x")
    kinds = sorted(i.kind for i in check_folder(str(tmp_path)).issues)
    assert kinds == ["leftover_temp", "missing_shard", "unpublished_shards"]


def test_a_whole_set_without_manifest_is_a_note(tmp_path: Path) -> None:
    """TF and Beam write complete sets with no manifest: checked shard by shard, not a fault."""
    for i in range(3):
        write_records(tmp_path / f"tf-{i:05d}-of-00003.tfrecord", [b"r"] * 4)
    report = check_folder(str(tmp_path))
    assert report.ok and [n.kind for n in report.notes] == ["unmanifested_set"]
    os.unlink(tmp_path / "tf-00001-of-00003.tfrecord")
    report = check_folder(str(tmp_path))
    assert not report.ok and [i.kind for i in report.issues] == ["unpublished_shards"]


def test_bad_manifest_and_rewritten_shard(tmp_path: Path) -> None:
    names = write_set(tmp_path / "a.tfrecord", 20)
    Path(names[0]).write_bytes(Path(names[1]).read_bytes())  # valid records, same size
    issues = check_folder(str(tmp_path)).issues
    assert [i.kind for i in issues] == ["changed_shard"]
    assert "CRC32C" in issues[0].message
    (tmp_path / "a.manifest.json").write_text("{}")
    assert [i.kind for i in check_folder(str(tmp_path)).issues] == [
        "bad_manifest",
        "unpublished_shards",
    ]


def test_overwrite_is_refused_by_default(tmp_path: Path) -> None:
    write_set(tmp_path / "a.tfrecord", 5)
    from recordio import RecordIOError

    with pytest.raises(RecordIOError, match="already exists"):
        ShardedWriter(str(tmp_path / "a.tfrecord"), SHARDS)
    write_set(tmp_path / "a.tfrecord", 7, overwrite=True)
    assert read_manifest(str(tmp_path / "a.manifest.json")).records == 7


def test_a_failed_write_publishes_no_manifest(tmp_path: Path) -> None:
    def boom():
        yield b"a"
        raise RuntimeError("input failed")

    with pytest.raises(RuntimeError), ShardedWriter(str(tmp_path / "a.tfrecord"), 2) as writer:
        writer.write_many(boom())
    assert os.listdir(tmp_path) == []


def _child(folder: Path, n: int, fsync: bool) -> None:
    code = 0
    try:
        write_set(folder / "s.tfrecord", n, fsync=fsync)
    except BaseException:  # say why where the parent can read it (a forked child's stderr)
        import traceback

        (folder.parent / f"{folder.name}.child-error").write_text(traceback.format_exc())
        code = 1
    finally:
        os._exit(code)


def test_writer_killed_at_random_moments(tmp_path: Path) -> None:
    """SIGKILL anywhere in a sharded write: verify never calls an incomplete set complete."""
    n = 20_000

    def fork_writer(folder: Path, fsync: bool) -> int:
        folder.mkdir()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            _child(folder, n, fsync)
        return pid

    started = time.perf_counter()  # how long a whole write takes, child start-up included
    _, status = os.waitpid(fork_writer(tmp_path / "probe", False), 0)
    took = time.perf_counter() - started
    error = tmp_path / "probe.child-error"
    assert status == 0, error.read_text() if error.exists() else status
    assert whole(tmp_path / "probe"), verify_folder(str(tmp_path / "probe"))
    rng = random.Random(9)
    outcomes = {"complete": 0, "incomplete": 0}
    for trial in range(60):
        folder = tmp_path / f"t{trial}"
        fsync = trial % 10 == 0
        pid = fork_writer(folder, fsync)
        time.sleep(rng.uniform(0, took * (3 if fsync else 1.3)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        names = [folder / f"s-{i:05d}-of-{SHARDS:05d}.tfrecord" for i in range(SHARDS)]
        truly = all(p.exists() for p in names) and sorted(
            r for p in names for r in read_records(str(p))
        ) == sorted(records(n))
        said = whole(folder)
        assert not said or truly, f"trial {trial}: verify called an incomplete set complete"
        outcomes["complete" if said else "incomplete"] += 1
    # The kills landed before, during and after the write.
    assert outcomes["complete"] >= 3 and outcomes["incomplete"] >= 3, outcomes


def test_verify_command_on_folders(tmp_path: Path, python_env: dict[str, str]) -> None:
    import subprocess
    import sys

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "recio", "verify", *args]
        return subprocess.run(
            command, cwd=tmp_path, env=python_env, capture_output=True, text=True, timeout=60
        )

    (tmp_path / "ok").mkdir()
    write_set(tmp_path / "ok" / "s.tfrecord", 30)
    assert verify("ok").returncode == 0
    (tmp_path / "debris").mkdir()
    (tmp_path / "debris" / ".s-00000-of-00004.tfrecord.tmp-1-ab").write_bytes(b"")
    result = verify("debris", "--json")
    assert result.returncode == 3, result.stderr
    document = json.loads(result.stdout)
    assert not document["ok"]
    assert document["sets"][0]["issues"][0]["kind"] == "leftover_temp"
    names = write_set(tmp_path / "ok" / "t.tfrecord", 30)
    os.unlink(names[3])
    result = verify("ok")
    assert result.returncode == 3
    assert "missing" in result.stdout


def test_a_manifest_described_from_open_streams_is_the_same(tmp_path: Path) -> None:
    from recordio.manifest import describe_shard, describe_stream

    names = write_set(tmp_path / "x.tfrecord.gz", 77)
    for name in names:
        with open(name, "rb") as handle:
            assert describe_stream(name, handle) == describe_shard(name)
