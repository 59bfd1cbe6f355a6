"""recordio paths as fsspec URLs (memory://), and local paths that never import fsspec."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from recordio import RecordIOError, TFRecordWriter, read_records, write_records
from recordio.files import expand_paths
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
