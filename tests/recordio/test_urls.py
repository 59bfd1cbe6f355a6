"""recordio paths as fsspec URLs (memory://), and local paths that never import fsspec."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import uuid

import numpy as np
import pytest

from recordio import (
    CorruptRecordError,
    IndexedReader,
    RecordIOError,
    StaleIndexError,
    TFRecordWriter,
    paths,
    read_records,
    write_records,
)
from recordio.files import expand_paths
from recordio.index import build_index, count_records, index_file, index_path, load_index
from recordio.manifest import check_folder, read_manifest
from recordio.shards import ShardedWriter
from recordio.verify import verify_file

fsspec = pytest.importorskip("fsspec")
RECORDS = [b"record %d" % i for i in range(40)]


@pytest.fixture
def base() -> str:
    folder = f"memory://t{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("memory").mkdir(folder.split("://")[1])
    return folder


@pytest.mark.parametrize("codec", ["NONE", "GZIP", "ZLIB"])
def test_write_and_read_a_url(base: str, codec: str) -> None:
    url = f"{base}/x.tfrecord"
    assert write_records(url, RECORDS, codec) == len(RECORDS)
    assert list(read_records(url)) == RECORDS
    report = verify_file(url)
    assert report.ok and report.records == len(RECORDS)
    with pytest.raises(RecordIOError, match="already exists"):
        TFRecordWriter(url, overwrite=False)


def test_an_aborted_write_leaves_nothing(base: str) -> None:
    with pytest.raises(RuntimeError), TFRecordWriter(f"{base}/y.tfrecord") as writer:
        writer.write(b"a")
        raise RuntimeError("stop")
    assert fsspec.filesystem("memory").ls(base.split("://")[1]) == []


def test_a_shard_set_with_its_manifest(base: str) -> None:
    with ShardedWriter(f"{base}/s.tfrecord.gz", 3) as writer:
        writer.write_many(RECORDS)
    manifest = read_manifest(f"{base}/s.manifest.json")
    assert [s.records for s in manifest.shards] == [14, 13, 13]
    assert expand_paths([base]) == manifest.paths() == writer.names
    assert expand_paths([f"{base}/s.manifest.json"]) == writer.names
    assert expand_paths([f"{base}/s-*.tfrecord.gz"]) == writer.names
    assert sorted(r for p in writer.names for r in read_records(p)) == sorted(RECORDS)
    assert check_folder(base).ok
    fsspec.filesystem("memory").rm(writer.names[1].split("://")[1])
    assert [i.kind for i in check_folder(base).issues] == ["missing_shard"]


def test_http_is_read_only() -> None:
    with pytest.raises(RecordIOError, match="read-only"):
        TFRecordWriter("https://example.invalid/x.tfrecord")


def test_local_paths_do_not_import_fsspec(tmp_path) -> None:
    code = (
        "import sys; from recordio import write_records, read_records;"
        f"write_records({str(tmp_path / 'a.tfrecord')!r}, [b'x']);"
        f"assert list(read_records({str(tmp_path / 'a.tfrecord')!r})) == [b'x'];"
        "assert 'fsspec' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("codec", ["NONE", "GZIP", "ZLIB"])
def test_index_sidecar_on_a_url(base: str, codec: str) -> None:
    """`FILE.idx` is written next to a URL, used for counting and random access, and refused
    once the file changes."""
    url = f"{base}/x.tfrecord"
    records = [bytes([i % 251]) * (i * 37 % 900) for i in range(3000)]
    with TFRecordWriter(url, codec, member_bytes=16 << 10) as writer:
        for record in records:
            writer.write(record)
    index = index_file(url)
    assert index_path(url) == f"{url}.idx" and paths.exists(f"{url}.idx")
    assert expand_paths([base]) == [url]  # the sidecar is not a record file
    loaded = load_index(url)
    assert np.array_equal(loaded.offsets, index.offsets) and len(loaded) == len(records)
    assert count_records(url) == len(records)
    if codec == "GZIP":
        assert loaded.member_count > 1
    picks = np.random.default_rng(3).permutation(len(records))[:500]
    with IndexedReader(url) as reader:
        assert len(reader) == len(records)
        assert reader.take(picks) == [records[i] for i in picks]
        assert reader[-1] == records[-1] and reader[10:20] == records[10:20]
        assert list(reader) == records
    write_records(url, records[::-1], codec, overwrite=True)
    with pytest.raises(StaleIndexError, match="rebuild it"):
        load_index(url)
    with pytest.raises(StaleIndexError):
        IndexedReader(url).take([0])
    assert IndexedReader(url, use_sidecar=False).take([0]) == [records[-1]]


def test_random_access_on_a_url_checks_the_crcs(base: str) -> None:
    url = f"{base}/x.tfrecord"
    write_records(url, [b"a" * 100, b"b" * 100, b"c" * 100])
    index = build_index(url)
    memory = fsspec.filesystem("memory")
    inner = url.split("://", 1)[1]
    data = bytearray(memory.cat_file(inner))
    data[116 + 16 + 50] ^= 1  # a byte in the second record's data
    damaged = f"{base}/damaged.tfrecord"
    memory.pipe_file(damaged.split("://", 1)[1], bytes(data))
    reader = IndexedReader(damaged, index=dataclasses.replace(index, path=damaged, file_size=0,
                                                              fingerprint=b""))  # fmt: skip
    assert reader.take([0, 2]) == [b"a" * 100, b"c" * 100]
    with pytest.raises(CorruptRecordError) as caught:
        reader.take([2, 1])
    assert caught.value.index == 1 and caught.value.path == damaged


def test_a_missing_url_is_file_not_found(base: str) -> None:
    with pytest.raises(FileNotFoundError):
        count_records(f"{base}/none.tfrecord")
    with pytest.raises(FileNotFoundError):
        load_index(f"{base}/none.tfrecord")


def test_far_apart_records_come_from_separate_ranges(base: str) -> None:
    url = f"{base}/big.tfrecord"
    records = [bytes([i]) * (30 << 10) for i in range(40)]  # 30 KiB each: 3 apart > RANGE_GAP
    write_records(url, records)
    picks = [39, 0, 20, 1, 21, 38, 0]
    with IndexedReader(url) as reader:
        assert reader.take(picks) == [records[i] for i in picks]
