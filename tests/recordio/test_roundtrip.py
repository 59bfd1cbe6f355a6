"""Property tests: whatever list of records is written comes back exactly, for every codec and
framing backend, whichever way it is read (STYLE.md point 8, RELIABILITY R10's round trip)."""

from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordio import TFRecordReader, TFRecordWriter, read_records, write_records
from tests.recordio._support import CODECS, encode, frame, read_all, use_backend


def _sized(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


small_records = st.binary(max_size=300)
# A few large ones: past the writer's 64 KiB large-record path, cheap to generate.
large_records = st.builds(_sized, st.integers(0, 2**16), st.integers(60_000, 200_000))
record_lists = st.lists(
    st.one_of(small_records, st.just(b""), large_records),
    max_size=25,
).filter(lambda records: sum(map(len, records)) < 1_000_000)
levels = st.sampled_from([None, 0, 1, 6, 9])


@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=40, deadline=None)
@given(records=record_lists, level=levels, batch=st.integers(1, 8))
def test_write_then_read_gives_the_records_back(
    backend: str, codec: str, records: list[bytes], level, batch: int
) -> None:
    with use_backend(backend):
        data = encode(records, codec, level=level)
        if codec == "NONE":
            assert data == frame(records)
        assert read_all(data) == (records, None)
        assert read_all(data, codec, strict=False) == (records, None)
        assert read_all(data, verify=False) == (records, None)
        batches = list(TFRecordReader(io.BytesIO(data)).iter_batches(batch))
        assert [r for b in batches for r in b] == records


@settings(max_examples=30, deadline=None)
@given(records=st.lists(st.binary(max_size=60), max_size=12), codec=st.sampled_from(CODECS))
def test_round_trip_with_the_table_crc(records: list[bytes], codec: str) -> None:
    """The pure-Python path with nothing optional installed (table-driven CRC)."""
    with use_backend("table"):
        assert read_all(encode(records, codec)) == (records, None)


@settings(max_examples=40, deadline=None)
@given(records=record_lists, codec=st.sampled_from(CODECS), data=st.data())
def test_resume_from_any_record(records: list[bytes], codec: str, data: st.DataObject) -> None:
    stream = encode(records, codec)
    k = data.draw(st.integers(0, len(records)))
    reader = TFRecordReader(io.BytesIO(stream))
    iterator = iter(reader)
    head = [next(iterator) for _ in range(k)]
    offset = reader.offset
    reader.close()
    rest = list(TFRecordReader(io.BytesIO(stream), start_offset=offset))
    assert head + rest == records


@settings(max_examples=15, deadline=None)
@given(records=record_lists, codec=st.sampled_from(CODECS), level=levels)
def test_round_trip_through_files(records: list[bytes], codec: str, level) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.tfrecord"
        assert write_records(path, records, codec, level=level) == len(records)
        assert list(read_records(path)) == records
        assert list(read_records(path, codec)) == records
        with TFRecordWriter(str(path), codec, level=level) as writer:  # str paths too
            writer.write_many(reversed(records))
        assert list(read_records(str(path))) == records[::-1]
