"""TFRecordReader on good files: sources, compression names and detection, resuming, batches,
large records and limits."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from recordio import (
    Compression,
    CompressionError,
    CorruptRecordError,
    RecordIOError,
    RecordTooLargeError,
    TFRecordReader,
    TFRecordWriter,
    read_records,
    write_records,
)
from recordio._source import CHUNK
from tests.recordio._support import CODECS, RECORDS, encode, feed_pipe, read_all, use_backend


@pytest.fixture(params=["c", "python"])
def backend(request: pytest.FixtureRequest):
    with use_backend(request.param):
        yield request.param


def records_of(count: int, size: int = 50) -> list[bytes]:
    return [(b"%06d:" % i) * (1 + (i * 7) % size) for i in range(count)]


SOURCES: dict[str, Callable[[bytes, Path], BinaryIO | Path]] = {
    "path": lambda data, tmp: _to_path(data, tmp),
    "file": lambda data, tmp: open(_to_path(data, tmp), "rb"),  # noqa: SIM115
    "bytesio": lambda data, tmp: io.BytesIO(data),
    "pipe": lambda data, tmp: feed_pipe(data),
    "raw-pipe": lambda data, tmp: feed_pipe(data, buffering=0),
    "trickling-raw-pipe": lambda data, tmp: feed_pipe(data, buffering=0, trickle=5),
}


def _to_path(data: bytes, tmp: Path) -> Path:
    path = tmp / "records"
    path.write_bytes(data)
    return path


def read_source(source: BinaryIO | Path, **options) -> list[bytes]:
    with TFRecordReader(source, **options) as reader:
        records = list(reader)
    if not isinstance(source, Path):
        source.close()
    return records


# -- sources -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("codec", CODECS)
def test_every_source_kind_reads_every_codec(tmp_path: Path, source: str, codec: str) -> None:
    records = records_of(300) + [b""]
    data = encode(records, codec)
    assert read_source(SOURCES[source](data, tmp_path)) == records


def test_reader_closes_its_own_file_but_not_the_callers(tmp_path: Path) -> None:
    path = _to_path(encode(RECORDS), tmp_path)
    with TFRecordReader(path) as reader:
        assert next(iter(reader)) == RECORDS[0]
    assert reader._file.closed
    handle = open(path, "rb")  # noqa: SIM115
    assert list(TFRecordReader(handle)) == list(RECORDS)
    assert not handle.closed
    handle.close()
    assert list(read_records(path)) == list(read_records(str(path), "NONE")) == list(RECORDS)


@pytest.mark.parametrize("codec", CODECS)
def test_a_file_object_handed_over_mid_way(tmp_path: Path, codec: str) -> None:
    """The record stream starts where the file object stands, not at byte 0 of the file."""
    records = [b"first", b"x" * (5 << 20), b"last"]  # the large record outgrows a chunk
    stream = encode(records, codec, level=1)
    path = tmp_path / "embedded"
    path.write_bytes(b"some other header " * 3 + stream)
    with open(path, "rb") as handle:
        handle.seek(54)
        assert read_source(handle) == records
    with open(path, "rb") as handle:
        handle.seek(54)
        with TFRecordReader(handle, start_offset=21) as reader:
            assert list(reader) == records[1:]
    if codec == "NONE":
        with open(path, "rb") as handle:
            handle.seek(54)
            with pytest.raises(RecordIOError, match="past the end"):
                list(TFRecordReader(handle, start_offset=len(stream) + 1))


def test_a_reader_iterates_once() -> None:
    reader = TFRecordReader(io.BytesIO(encode(RECORDS)))
    assert list(reader) == list(RECORDS)
    with pytest.raises(RecordIOError, match="only once"):
        list(reader)


# -- compression names and detection ------------------------------------------------------------

SPELLINGS = [
    ("", "NONE"),
    ("NONE", "NONE"),
    ("none", "NONE"),
    ("GZIP", "GZIP"),
    ("gzip", "GZIP"),
    ("Gzip", "GZIP"),
    (" gzip ", "GZIP"),
    ("gz", "GZIP"),
    ("ZLIB", "ZLIB"),
    ("zlib", "ZLIB"),
    ("Zlib", "ZLIB"),
    (0, "NONE"),  # TF's TFRecordCompressionType enum
    (1, "ZLIB"),
    (2, "GZIP"),
    (Compression.GZIP, "GZIP"),
]
MAGIC = {"NONE": b"\x0e\x00\x00\x00", "GZIP": b"\x1f\x8b\x08", "ZLIB": b"\x78"}


@pytest.mark.parametrize(("spelling", "codec"), SPELLINGS)
def test_every_spelling_writes_and_reads_its_codec(tmp_path: Path, spelling, codec: str) -> None:
    path = tmp_path / "f"
    with TFRecordWriter(path, spelling) as writer:
        writer.write_many(RECORDS)
    assert writer.compression == codec
    assert path.read_bytes().startswith(MAGIC[codec])
    with TFRecordReader(path, spelling) as reader:
        assert list(reader) == list(RECORDS)
        assert reader.compression == codec
    assert Compression.parse(spelling) == codec


def test_none_and_auto_mean_detect_for_reading_only(tmp_path: Path) -> None:
    assert Compression.parse(None) is None
    assert Compression.parse("auto") is None
    assert Compression.parse(None, allow_auto=False) == "NONE"
    with pytest.raises(CompressionError):
        TFRecordWriter(io.BytesIO(), "auto")
    assert TFRecordWriter(io.BytesIO(), None).compression == "NONE"


@pytest.mark.parametrize(
    "bad", ["snappy", "SNAPPY", "lz4", "gzip2", "zip", 3, -1, True, 1.0, b"GZIP"]
)
def test_unknown_compression_names_raise(bad) -> None:
    with pytest.raises(CompressionError):
        Compression.parse(bad)
    with pytest.raises(CompressionError):
        TFRecordReader(io.BytesIO(encode(RECORDS)), bad)
    with pytest.raises(CompressionError):
        TFRecordWriter(io.BytesIO(), bad)
    with pytest.raises(ValueError):  # CompressionError is also a ValueError, like TF's
        Compression.parse(bad)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("level", [None, 0, 1, 6, 9])
def test_auto_detects_every_codec_and_level(codec: str, level) -> None:
    data = encode(records_of(20), codec, level=level)
    with TFRecordReader(io.BytesIO(data)) as reader:
        assert list(reader) == records_of(20)
        assert reader.compression == codec


@pytest.mark.parametrize("actual", CODECS)
@pytest.mark.parametrize("given", CODECS)
def test_the_wrong_explicit_codec_raises_compression_error(actual: str, given: str) -> None:
    data = encode(RECORDS, actual)
    if given == actual:
        assert read_all(data, given) == (list(RECORDS), None)
        return
    with pytest.raises(CompressionError) as caught:
        TFRecordReader(io.BytesIO(data), given)
    assert given in str(caught.value)
    assert caught.value.kind == "compression"


@pytest.mark.parametrize("given", [None, *CODECS])
def test_an_empty_file_has_no_records_whatever_the_codec(given) -> None:
    assert read_all(b"", given) == ([], None)
    assert read_all(b"", given, strict=False) == ([], None)


# -- resuming and batches -----------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("source", ["path", "bytesio"])
def test_start_offset_resumes_exactly_after_any_record(
    tmp_path: Path, backend: str, codec: str, source: str
) -> None:
    records = records_of(40)
    data = encode(records, codec)
    for k in [0, 1, 7, 39, 40]:
        reader = TFRecordReader(SOURCES[source](data, tmp_path))
        iterator = iter(reader)
        head = [next(iterator) for _ in range(k)]
        offset, index = reader.offset, reader.index
        reader.close()
        assert head == records[:k]
        assert index == k
        assert offset == sum(16 + len(r) for r in records[:k])
        with TFRecordReader(SOURCES[source](data, tmp_path), start_offset=offset) as resumed:
            assert list(resumed) == records[k:], k
            assert resumed.index == len(records) - k


@pytest.mark.parametrize("codec", CODECS)
def test_offset_after_each_batch_is_a_resume_point(codec: str) -> None:
    records = records_of(25)
    data = encode(records, codec)
    reader = TFRecordReader(io.BytesIO(data))
    seen: list[bytes] = []
    for batch in reader.iter_batches(6):
        seen += batch
        with TFRecordReader(io.BytesIO(data), start_offset=reader.offset) as rest:
            assert seen + list(rest) == records
        assert reader.index == len(seen)


@pytest.mark.parametrize("codec", CODECS)
def test_bad_start_offsets_raise(tmp_path: Path, codec: str) -> None:
    data = encode(RECORDS, codec)
    with pytest.raises(CorruptRecordError):  # not a record boundary
        list(TFRecordReader(io.BytesIO(data), start_offset=5))
    for source in ("path", "bytesio"):
        with pytest.raises(RecordIOError, match="past the end"):
            list(TFRecordReader(SOURCES[source](data, tmp_path), start_offset=96))
    with pytest.raises(ValueError):
        TFRecordReader(io.BytesIO(data), start_offset=-1)


@pytest.mark.parametrize("size", [1, 3, 1024, 5000])
def test_iter_batches_sizes(backend: str, size: int) -> None:
    records = records_of(1000)
    batches = list(TFRecordReader(io.BytesIO(encode(records))).iter_batches(size))
    assert [r for batch in batches for r in batch] == records
    assert all(0 < len(batch) <= size for batch in batches)
    if size <= 1000:
        assert all(len(batch) == size for batch in batches[:-1])
    assert len(list(TFRecordReader(io.BytesIO(encode(records))).iter_batches(0))[0]) == 1


# -- large records, verify=False, limits ------------------------------------------------------


BIG = 2 << 20


@pytest.mark.parametrize(
    "into_big", [5, 12, 1000, BIG + 13, BIG + 14, BIG + 15, BIG + 16, BIG + 21]
)
@pytest.mark.parametrize("source", ["path", "bytesio", "pipe", "raw-pipe"])
def test_large_records_on_every_path(tmp_path: Path, into_big: int, source: str) -> None:
    """Records over 1 MiB, with the reader's first 4 MiB chunk ending `into_big` bytes into a
    2 MiB record's frame: in its header, data, footer (1-3 bytes in) or just after it."""
    first = CHUNK - 16 - into_big
    records = [b"a" * first, bytes(range(256)) * (BIG // 256), b"tail", b"b" * (3 << 19), b""]
    data = encode(records)
    assert read_source(SOURCES[source](data, tmp_path)) == records


def test_large_records_compressed(backend: str) -> None:
    records = [b"x" * 100, os.urandom(3 << 20), b"", b"y" * (5 << 20)]
    for codec in ("GZIP", "ZLIB"):
        assert read_all(encode(records, codec, level=1), codec) == (records, None)


@pytest.mark.parametrize("codec", CODECS)
def test_verify_false_reads_the_same_records(backend: str, codec: str) -> None:
    records = records_of(200) + [b"", os.urandom(70_000)]
    data = encode(records, codec)
    assert read_all(data, verify=False) == (records, None)


def test_verify_false_skips_the_crc_checks() -> None:
    damaged = bytearray(encode(RECORDS))
    damaged[45] ^= 0x01  # a data byte of record 1
    records, error = read_all(bytes(damaged))
    assert isinstance(error, CorruptRecordError) and records == list(RECORDS[:1])
    records, error = read_all(bytes(damaged), verify=False)
    assert error is None and records[1] == bytes(damaged[42:59]) != RECORDS[1]


@pytest.mark.parametrize("codec", CODECS)
def test_max_record_bytes_is_enforced(tmp_path: Path, codec: str) -> None:
    records = [b"a" * 10, b"b" * 1000, b"c" * 10]
    data = encode(records, codec)
    assert read_all(data, max_record_bytes=1000) == (records, None)
    got, error = read_all(data, max_record_bytes=999)
    assert got == records[:1]
    assert isinstance(error, RecordTooLargeError)
    assert (error.claimed, error.limit, error.index, error.offset) == (1000, 999, 1, 26)
    assert error.kind == "too_large"
    assert read_all(encode([b"", b""], codec), max_record_bytes=0) == ([b"", b""], None)
    for huge in (2**63, 2**64, 2**70):  # no limit at all; must not wrap around in C
        assert read_all(data, max_record_bytes=huge) == (records, None)
    with pytest.raises(ValueError):
        TFRecordReader(io.BytesIO(data), max_record_bytes=-1)


def test_errors_name_the_file_record_and_offset(tmp_path: Path) -> None:
    damaged = bytearray(encode(RECORDS))
    damaged[45] ^= 0x01
    path = tmp_path / "damaged.tfrecord"
    path.write_bytes(damaged)
    with pytest.raises(CorruptRecordError) as caught:
        list(read_records(path))
    error = caught.value
    assert (error.path, error.index, error.offset, error.part) == (str(path), 1, 30, "data_crc")
    assert str(error).startswith(f"{path}: record 1 at byte 30: data CRC mismatch")
    assert "\n" not in str(error)


def test_write_records_then_read_records(tmp_path: Path) -> None:
    for codec in CODECS:
        path = tmp_path / f"out.{codec}"
        assert write_records(path, iter(RECORDS), codec) == 3
        assert list(read_records(path)) == list(RECORDS)


def test_a_wrapping_file_object_is_not_sized_by_its_fileno(tmp_path: Path) -> None:
    """gzip.GzipFile hands out the fileno() of the compressed file: its size says nothing about
    the stream the wrapper yields, so it must not turn valid records into a truncation error."""
    import gzip

    records = [bytes([i % 251]) * 1000 for i in range(5000)]  # past the first 4 MiB chunk
    path = tmp_path / "wrapped.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(encode(records))
    with gzip.open(path, "rb") as wrapper, TFRecordReader(wrapper) as reader:
        assert list(reader) == records
