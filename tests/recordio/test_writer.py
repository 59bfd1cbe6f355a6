"""TFRecordWriter: atomic publication (also under SIGKILL, RELIABILITY R5 small), lifecycle,
file-object targets and options."""

from __future__ import annotations

import gc
import io
import os
import random
import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from recordio import (
    CompressionError,
    RecordIOError,
    TFRecordReader,
    TFRecordWriter,
    WriterClosedError,
    read_records,
    write_records,
)
from tests.recordio._support import CODECS, RECORDS, frame, read_all, use_backend


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("codec", CODECS)
def test_nothing_under_the_final_name_until_close(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "out.tfrecord"
    with TFRecordWriter(path, codec) as writer:
        writer.write_many(RECORDS)
        writer.flush()
        assert not path.exists()
        (temp,) = listing(tmp_path)
        assert temp.startswith(".out.tfrecord.tmp-")  # hidden, in the target folder
    assert listing(tmp_path) == ["out.tfrecord"]
    assert list(read_records(path)) == list(RECORDS)


@pytest.mark.parametrize("codec", CODECS)
def test_a_failing_with_block_leaves_nothing_and_keeps_the_old_file(
    tmp_path: Path, codec: str
) -> None:
    path = tmp_path / "out.tfrecord"
    with pytest.raises(ZeroDivisionError), TFRecordWriter(path, codec) as writer:
        writer.write(b"partial")
        writer.flush()
        1 / 0  # noqa: B018
    assert listing(tmp_path) == []
    write_records(path, RECORDS, codec)
    with pytest.raises(KeyboardInterrupt), TFRecordWriter(path, codec) as writer:
        writer.write(b"replacement")
        raise KeyboardInterrupt
    assert listing(tmp_path) == ["out.tfrecord"]
    assert list(read_records(path)) == list(RECORDS)


def test_an_unclosed_writer_is_discarded_not_published(tmp_path: Path) -> None:
    writer = TFRecordWriter(tmp_path / "out", "GZIP")
    writer.write_many(RECORDS)
    writer.flush()
    del writer
    gc.collect()
    assert listing(tmp_path) == []


def test_abort_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"old")
    writer = TFRecordWriter(path)
    writer.write(b"new")
    writer.abort()
    assert listing(tmp_path) == ["out"] and path.read_bytes() == b"old"
    with pytest.raises(WriterClosedError):
        writer.write(b"more")


KILL_CHILD = textwrap.dedent(
    """
    import itertools, sys
    from recordio import TFRecordWriter
    folder = sys.argv[1]
    codecs = ["NONE", "GZIP", "ZLIB"]
    records = [b"%08d" % i * 16 for i in range(1000)]
    print("ready", flush=True)
    for n in itertools.count():
        with TFRecordWriter(f"{folder}/part-{n:05d}", codecs[n % 3]) as writer:
            for i, record in enumerate(records):
                writer.write(record)
                if i % 50 == 49:
                    writer.flush()
    """
)


def test_sigkill_mid_write_never_leaves_a_partial_file(
    tmp_path: Path, python_exe, python_env, repo_root
) -> None:
    """A child writes file after file and is killed at a random moment: every file under a
    final name is complete; the one being written is only a hidden temp file."""
    expected = [b"%08d" % i * 16 for i in range(1000)]
    rng = random.Random(1234)
    published = temps = 0
    for trial in range(5):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        child = subprocess.Popen(
            [python_exe, "-c", KILL_CHILD, str(folder)],
            env=python_env,
            cwd=repo_root,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.02, 0.3))
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
        child.stdout.close()
        for name in listing(folder):
            if name.startswith("."):
                assert ".tmp-" in name
                temps += 1
                continue
            published += 1
            got, error = read_all((folder / name).read_bytes())
            assert (got == expected, error) == (True, None), name
        shutil.rmtree(folder)  # ~100 files of 128 KiB a trial
    assert published > 0 and temps > 0  # the kills landed both between and inside files


def test_write_and_flush_after_close_raise(tmp_path: Path) -> None:
    writer = TFRecordWriter(tmp_path / "out")
    writer.write(b"a")
    writer.close()
    writer.close()  # a second close is fine, as in TF
    with pytest.raises(WriterClosedError) as caught:
        writer.write(b"b")
    assert caught.value.path == str(tmp_path / "out")
    with pytest.raises(WriterClosedError):
        writer.flush()
    assert writer.records_written == 1
    assert isinstance(caught.value, RecordIOError)


@pytest.mark.parametrize("codec", CODECS)
def test_writing_to_a_binary_file_object(codec: str) -> None:
    out = io.BytesIO()
    with TFRecordWriter(out, codec) as writer:
        assert writer.write_many(iter(RECORDS)) == 3
    assert not out.closed  # the caller owns it
    assert read_all(out.getvalue(), codec) == (list(RECORDS), None)
    if codec == "NONE":
        assert out.getvalue() == frame(RECORDS)


def test_overwrite_false_refuses_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"keep me")
    with pytest.raises(RecordIOError, match="exists"):
        TFRecordWriter(path, overwrite=False)
    assert listing(tmp_path) == ["out"] and path.read_bytes() == b"keep me"
    write_records(path, RECORDS)  # the default replaces, as TF does
    assert list(read_records(path)) == list(RECORDS)
    write_records(tmp_path / "new", RECORDS, overwrite=False)
    assert list(read_records(tmp_path / "new")) == list(RECORDS)


def test_a_missing_folder_is_an_error_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(RecordIOError, match="does not exist"):
        TFRecordWriter(tmp_path / "nowhere" / "out")
    assert listing(tmp_path) == []


def test_flushed_temp_file_holds_the_records_so_far(tmp_path: Path) -> None:
    for codec in CODECS:
        path = tmp_path / f"out-{codec}"
        with TFRecordWriter(path, codec) as writer:
            writer.write_many(RECORDS)
            writer.flush()
            (temp,) = (p for p in tmp_path.iterdir() if p.name.startswith(f".out-{codec}"))
            data = temp.read_bytes()
            assert read_all(data, strict=False) == (list(RECORDS), None)
            got, error = read_all(data)
            assert got == list(RECORDS)
            # ZLIB: no end marker yet; GZIP: flush() ends a gzip member, so the file is whole.
            assert (error is None) == (codec != "ZLIB")


@pytest.mark.parametrize("backend", ["c", "python", "table"])
def test_record_types_and_sizes(backend: str) -> None:
    records = [b"", bytearray(b"ba"), memoryview(b"xmvx")[1:3], b"y" * 70_000, b"z", b""]
    with use_backend(backend):
        out = io.BytesIO()
        with TFRecordWriter(out) as writer:
            for record in records:
                writer.write(record)
        assert writer.records_written == len(records)
        assert out.getvalue() == frame(bytes(r) for r in records)


@pytest.mark.parametrize("level", [-1, 10, 99])
def test_bad_levels_raise(level: int) -> None:
    for codec in ("GZIP", "ZLIB"):
        with pytest.raises(CompressionError):
            TFRecordWriter(io.BytesIO(), codec, level=level)


def test_fsync_false_still_publishes_atomically(tmp_path: Path) -> None:
    path = tmp_path / "out"
    with TFRecordWriter(path, "GZIP", fsync=False) as writer:
        writer.write_many(RECORDS)
        assert not path.exists()
    assert list(TFRecordReader(path)) == list(RECORDS)


def test_temp_names_are_unique_per_writer(tmp_path: Path) -> None:
    first = TFRecordWriter(tmp_path / "out")
    second = TFRecordWriter(tmp_path / "out")
    assert len(listing(tmp_path)) == 2
    first.write(b"first")
    second.write(b"second")
    first.close()
    second.close()  # the last close wins, and nothing is left behind
    assert listing(tmp_path) == ["out"]
    assert list(read_records(tmp_path / "out")) == [b"second"]
    assert os.stat(tmp_path / "out").st_size == 16 + 6


@pytest.mark.parametrize("backend", ["c", "python"])
def test_records_are_taken_when_written_not_when_framed(backend: str) -> None:
    """A reused bytearray must not change records already written, and a memoryview of wider
    items is framed by its bytes, not its item count (small and large-record paths alike)."""
    from array import array

    buffer = bytearray(b"first")
    ints = array("i", range(3))
    big = array("i", range(20_000))  # 20,000 items, 80,000 bytes: the large-record path
    with use_backend(backend):
        out = io.BytesIO()
        with TFRecordWriter(out) as writer:
            writer.write(buffer)
            buffer[:] = b"later"
            writer.write(buffer)
            writer.write(memoryview(ints))
            writer.write(memoryview(big))
    expected = [b"first", b"later", ints.tobytes(), big.tobytes()]
    assert read_all(out.getvalue()) == (expected, None)
