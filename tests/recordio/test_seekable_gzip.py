"""recio's GZIP: many members of whole records, which TF, Beam and gzip read unchanged, and which
recio's reader inflates in parallel."""

from __future__ import annotations

import gzip
import io
import random
import struct
import zlib
from pathlib import Path

import pytest

from recordio import IndexedReader, TFRecordReader, build_index, count_records, write_records
from recordio._members import HEADER_BYTES, inflate_member, parse_header
from recordio.errors import OptionError
from tests.recordio._support import frame, is_prefix, read_all


def example_like(count: int, seed: int = 5) -> list[bytes]:
    """Records shaped like the mnist Examples of the benchmarks: 784 random bytes and a label."""
    rng = random.Random(seed)
    return [b"\x0a\x90\x06" + rng.randbytes(784) + bytes([rng.randrange(10)]) for _ in range(count)]


def members_of(data: bytes) -> list[bytes]:
    """Split a gzip file into its members, by the size fields recio writes."""
    out, at = [], 0
    while at < len(data):
        header = parse_header(data[at : at + HEADER_BYTES])
        assert header is not None and header.member_bytes is not None
        out.append(data[at : at + header.member_bytes])
        at += header.member_bytes
    return out


def test_members_hold_whole_records_and_inflate_alone(tmp_path: Path) -> None:
    records = example_like(3000)
    path = tmp_path / "m.tfrecord.gz"
    write_records(path, records, "GZIP", member_bytes=256 << 10)
    data = path.read_bytes()
    members = members_of(data)
    assert len(members) >= 9
    stream = b""
    for member in members:
        header = parse_header(member)
        assert header is not None
        part = inflate_member(member, header)
        got, error = read_all(part)  # each member alone is a valid record stream
        assert error is None and len(got) == header.records and len(part) == header.stream_bytes
        stream += part
    assert stream == frame(records) == gzip.decompress(data)
    assert count_records(path, use_sidecar=False) == 3000
    index = build_index(path)
    assert index.member_count == len(members)


def test_members_cost_under_one_percent(tmp_path: Path) -> None:
    rng = random.Random(2)
    text = [(b"feature=%d;label=%d;" % (rng.randrange(1000), i % 7)) * 40 for i in range(4000)]
    for records in (example_like(4000), text):
        sizes = []
        for member_bytes in (0, 1 << 20):
            path = tmp_path / f"s{member_bytes}.tfrecord.gz"
            write_records(path, records, "GZIP", member_bytes=member_bytes)
            sizes.append(path.stat().st_size)
        assert sizes[1] <= sizes[0] * 1.01, sizes


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_parallel_inflate_reads_the_same_records(tmp_path: Path, workers: int) -> None:
    records = example_like(2000) + [b"x" * (3 << 20)] + example_like(50, seed=9)
    path = tmp_path / "p.tfrecord.gz"
    write_records(path, records, "GZIP", member_bytes=64 << 10)
    with TFRecordReader(path, workers=workers) as reader:
        assert list(reader) == records
    with open(path, "rb") as handle:  # a file object, read as it comes
        assert list(TFRecordReader(handle, workers=workers)) == records
    with TFRecordReader(path, workers=workers, start_offset=16 + len(records[0])) as reader:
        assert next(iter(reader)) == records[1]
    with pytest.raises(OptionError):
        TFRecordReader(path, workers=0)
    with pytest.raises(OptionError):
        write_records(path, records, "GZIP", member_bytes=-1)


def test_level_and_empty_files(tmp_path: Path) -> None:
    records = example_like(100)
    for level in (None, 1, 6, 9):
        path = tmp_path / f"l{level}.tfrecord.gz"
        write_records(path, records, "GZIP", level=level, member_bytes=10_000)
        assert list(TFRecordReader(path)) == records
    empty = tmp_path / "empty.tfrecord.gz"
    write_records(empty, [], "GZIP")
    assert gzip.decompress(empty.read_bytes()) == b"" and list(TFRecordReader(empty)) == []


def test_every_bit_flip_of_a_two_member_file() -> None:
    """A flip anywhere (size field included: the header CRC guards it) is a typed error or
    changes nothing; never a wrong record."""
    records = [b"first member %d" % i for i in range(3)] + [b"second"]
    out = io.BytesIO()
    from recordio import TFRecordWriter

    with TFRecordWriter(out, "GZIP", member_bytes=60, level=6) as writer:
        writer.write_many(records)
    data = out.getvalue()
    assert len(members_of(data)) == 2
    quiet = []
    for byte in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[byte] ^= 1 << bit
            for strict in (True, False):
                got, error = read_all(bytes(damaged), strict=strict)
                assert is_prefix(got, records), (byte, bit)
                if error is None and strict:
                    assert got == records
                    quiet.append((byte, bit))
    # Only the unused padding bits of each member's last deflate byte may flip unnoticed.
    ends, at = [], 0
    for member in members_of(data):
        at += len(member)
        ends.append(at - 9)
    assert {byte for byte, _ in quiet} <= set(ends), (quiet, ends)


def test_fhcrc_protects_the_size_field() -> None:
    member = members_of(io.BytesIO(_one_member()).getvalue())[0]
    damaged = bytearray(member)
    damaged[20] ^= 1  # inside member_bytes
    with pytest.raises(ValueError, match="header crc"):
        parse_header(bytes(damaged))
    assert (
        struct.unpack_from("<H", member, HEADER_BYTES - 2)[0]
        == zlib.crc32(member[: HEADER_BYTES - 2]) & 0xFFFF
    )


def _one_member() -> bytes:
    out = io.BytesIO()
    write_records(out, [b"a", b"b"], "GZIP")
    return out.getvalue()


@pytest.mark.requires_tf
def test_tensorflow_reads_members_unchanged(tmp_path: Path) -> None:
    import tensorflow as tf

    records = example_like(1500) + [b"", b"z" * 100_000]
    path = tmp_path / "tf.tfrecord.gz"
    write_records(path, records, "GZIP", member_bytes=100_000)
    assert len(members_of(path.read_bytes())) > 10
    iterated = list(tf.compat.v1.io.tf_record_iterator(str(path), tf.io.TFRecordOptions("GZIP")))
    dataset = [t.numpy() for t in tf.data.TFRecordDataset(str(path), compression_type="GZIP")]
    assert iterated == dataset == records
    # and recio reads what TF wrote as one stream, and indexes it
    tf_path = tmp_path / "by_tf.tfrecord.gz"
    with tf.io.TFRecordWriter(str(tf_path), tf.io.TFRecordOptions("GZIP")) as writer:
        for record in records[:300]:
            writer.write(record)
    assert list(TFRecordReader(tf_path)) == records[:300]
    with IndexedReader(tf_path) as reader:
        assert reader.record_index.member_count == 1 and reader.take([299, 5]) == [
            records[299],
            records[5],
        ]


@pytest.mark.requires_beam
def test_beam_reads_members_unchanged(tmp_path: Path) -> None:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.util import assert_that, equal_to

    records = example_like(400)
    path = tmp_path / "beam.tfrecord.gz"
    write_records(path, records, "GZIP", member_bytes=50_000)
    assert len(members_of(path.read_bytes())) > 3
    options = PipelineOptions(["--runner=FnApiRunner"])
    with beam.Pipeline(options=options) as pipeline:
        read = pipeline | beam.io.ReadFromTFRecord(str(path), coder=beam.coders.BytesCoder())
        assert_that(read, equal_to(records))


@pytest.mark.parametrize("member_bytes", [0, 4096])  # one stream (as TF writes) / many members
@pytest.mark.parametrize("cache_bytes", [0, 10_000, 32 << 20])
def test_random_access_with_any_member_cache(
    tmp_path: Path, member_bytes: int, cache_bytes: int
) -> None:
    """Whatever the cache keeps (nothing, a few members, the whole file), takes in any order
    return the records a sequential read returns."""
    records = [bytes([i % 256]) * random.Random(i).randrange(0, 700) for i in range(2000)]
    path = tmp_path / "x.tfrecord.gz"
    write_records(path, records, "GZIP", member_bytes=member_bytes)
    rng = random.Random(7)
    with IndexedReader(path, cache_bytes=cache_bytes) as reader:
        for _ in range(5):
            picks = rng.sample(range(len(records)), 300)
            assert reader.take(picks) == [records[i] for i in picks]
        assert list(reader) == records
    with pytest.raises(OptionError, match="cache_bytes"):
        IndexedReader(path, cache_bytes=-1)
