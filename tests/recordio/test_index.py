"""Index sidecars and random access: what a sequential read returns, at any index, and a stale
or foreign index is refused."""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordio import (
    IndexedReader,
    IndexFileError,
    StaleIndexError,
    TruncatedRecordError,
    build_index,
    count_records,
    index_file,
    index_path,
    is_record_file,
    load_index,
    read_records,
    record_files,
    write_records,
)
from recordio.errors import CorruptRecordError
from tests.conftest import DATA_DIR
from tests.recordio._support import use_backend

SUFFIX = {"NONE": "", "GZIP": ".gz", "ZLIB": ".zz"}


def records_of(count: int, seed: int = 3) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.choice([0, 1, 30, 830, 5000])) for _ in range(count)]


def written(tmp_path: Path, records: list[bytes], codec: str, **options: object) -> Path:
    path = tmp_path / f"data.tfrecord{SUFFIX[codec]}"
    write_records(path, records, codec, **options)
    return path


@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize(
    ("codec", "options"),
    [("NONE", {}), ("GZIP", {"member_bytes": 4096}), ("GZIP", {"member_bytes": 0}), ("ZLIB", {})],
)
def test_random_access_returns_what_a_sequential_read_returns(
    tmp_path: Path, backend: str, codec: str, options: dict[str, int]
) -> None:
    records = records_of(300)
    path = written(tmp_path, records, codec, **options)
    rng = np.random.default_rng(1)
    with use_backend(backend), IndexedReader(path, workers=2) as reader:
        assert len(reader) == len(records) == count_records(path)
        assert list(reader) == list(read_records(path)) == records
        picks = rng.integers(-len(records), len(records), 200)
        assert reader.take(picks) == [records[i] for i in picks]
        assert reader[7] == records[7] and reader[-1] == records[-1]
        assert reader[10:20:3] == records[10:20:3]
        assert reader.take([]) == []
        with pytest.raises(IndexError):
            reader[len(records)]
        with pytest.raises(IndexError):
            reader.take([0, -len(records) - 1])


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3000), max_size=60),
    member_bytes=st.sampled_from([0, 64, 1000, 1 << 20]),
    data=st.data(),
)
def test_any_records_any_members(tmp_path_factory, sizes, member_bytes, data) -> None:
    records = [bytes([i % 251]) * size for i, size in enumerate(sizes)]
    path = written(tmp_path_factory.mktemp("h"), records, "GZIP", member_bytes=member_bytes)
    with IndexedReader(path, workers=2) as reader:
        assert len(reader) == len(records)
        if records:
            picks = data.draw(st.lists(st.integers(0, len(records) - 1), max_size=30))
            assert reader.take(picks) == [records[i] for i in picks]
    assert list(read_records(path)) == records


def test_tf_written_references_index_and_read_at_random() -> None:
    for name, codec in [("tf_none.tfrecord", "NONE"), ("tf_gzip.tfrecord.gz", "GZIP"),
                        ("tf_zlib.tfrecord.zz", "ZLIB")]:  # fmt: skip
        path = DATA_DIR / name
        expected = list(read_records(path))
        index = build_index(path)
        assert index.compression == codec and len(index) == len(expected) == 5
        assert index.offsets[:3].tolist() == [0, 19, 35]
        with IndexedReader(path, use_sidecar=False) as reader:
            assert reader.take([4, 0, 2, 2]) == [expected[i] for i in (4, 0, 2, 2)]
            assert list(reader) == expected


def test_the_sidecar_round_trips_and_makes_count_cheap(tmp_path: Path) -> None:
    records = records_of(50)
    path = written(tmp_path, records, "GZIP", member_bytes=2000)
    index = index_file(path)
    assert Path(index_path(path)).exists() and index_path(path) == f"{path}.idx"
    loaded = load_index(path)
    assert loaded.offsets.tolist() == index.offsets.tolist()
    assert loaded.members.tolist() == index.members.tolist() and loaded.member_count > 1
    assert count_records(path) == 50
    with IndexedReader(path) as reader:
        assert reader.record_index.fingerprint == index.fingerprint
        assert reader[49] == records[49]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


@pytest.mark.parametrize("change", ["append", "same_size", "touch"])
def test_a_stale_index_is_refused(tmp_path: Path, change: str) -> None:
    path = written(tmp_path, [*records_of(39), b"z" * 100], "NONE")
    index_file(path)
    stat = os.stat(path)
    if change == "append":
        with open(path, "ab") as file:
            file.write(b"x")
    elif change == "same_size":
        data = bytearray(path.read_bytes())
        data[-10] ^= 1  # in the last record's data
        path.write_bytes(bytes(data))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # only the content differs
    else:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    with pytest.raises(StaleIndexError, match="rebuild"):
        load_index(path)
    with pytest.raises(StaleIndexError):
        count_records(path)
    with pytest.raises(StaleIndexError):
        len(IndexedReader(path))
    if change != "append":  # a header scan ignores the sidecar when told to
        assert count_records(path, use_sidecar=False) == 40
    index_file(path, strict=False)  # rebuilt: usable again
    assert len(IndexedReader(path)) == 40


def test_a_damaged_or_foreign_index_is_refused(tmp_path: Path) -> None:
    path = written(tmp_path, records_of(10), "NONE")
    sidecar = Path(index_file(path) and index_path(path))
    data = bytearray(sidecar.read_bytes())
    data[40] ^= 0xFF
    sidecar.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="damaged"):
        load_index(path)
    sidecar.write_bytes(b"offset length\n0 30\n")
    with pytest.raises(IndexFileError, match="not a recio index"):
        load_index(path)
    assert StaleIndexError.__mro__[1] is IndexFileError
    assert IndexFileError("x").kind == "bad_index" and StaleIndexError("x").kind == "stale_index"


def test_index_files_are_never_read_as_records(tmp_path: Path) -> None:
    for name in ("a.tfrecord.idx", "a.tfrecord-00000-of-00002.idx", "b-00001-of-00002.idx",
                 "c.tfrecord.gz.idx"):  # fmt: skip
        assert not is_record_file(name), name
    path = written(tmp_path, records_of(5), "NONE")
    index_file(path)
    assert record_files(str(tmp_path)) == [str(path)]


def test_count_without_an_index(tmp_path: Path) -> None:
    records = records_of(120)
    for codec, options in [("NONE", {}), ("GZIP", {"member_bytes": 3000}), ("ZLIB", {})]:
        path = written(tmp_path, records, codec, **options)
        assert count_records(path, use_sidecar=False) == 120
    empty = written(tmp_path, [], "NONE")
    assert count_records(empty) == 0 and len(IndexedReader(empty)) == 0


def test_damage_is_a_typed_error(tmp_path: Path) -> None:
    records = records_of(30)
    path = written(tmp_path, records, "NONE")
    data = path.read_bytes()
    cut = tmp_path / "cut.tfrecord"
    cut.write_bytes(data[:-3])
    with pytest.raises(TruncatedRecordError):
        build_index(cut)
    header = tmp_path / "header.tfrecord"
    header.write_bytes(data + b"\x01\x02")
    with pytest.raises(TruncatedRecordError, match="header"):
        build_index(header)
    assert len(build_index(header, strict=False)) == 30
    with IndexedReader(path) as reader:
        index = reader.record_index
    hit = next(i for i in range(5, 30) if len(records[i]) >= 30)
    flipped = bytearray(data)
    flipped[int(index.offsets[hit]) + 14] ^= 4  # inside the record's data
    path.write_bytes(bytes(flipped))
    os.utime(path, ns=(index.mtime_ns, index.mtime_ns))
    with IndexedReader(path, index=index) as reader:
        assert reader[hit - 1] == records[hit - 1]
        with pytest.raises(CorruptRecordError, match="data CRC") as caught:
            reader.take([3, hit])
        assert caught.value.index == hit
        assert IndexedReader(path, index=index, verify=False)[hit] != records[hit]
    with pytest.raises(FileNotFoundError):
        build_index(tmp_path / "missing.tfrecord")


def test_a_reader_pickles_into_another_process_state(tmp_path: Path) -> None:
    records = records_of(20)
    path = written(tmp_path, records, "GZIP", member_bytes=1000)
    reader = IndexedReader(path)
    assert reader[3] == records[3]
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.take([19, 0]) == [records[19], records[0]]
    reader.close()
    clone.close()


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 300), max_size=20),
    junk=st.binary(max_size=40),
    cut=st.integers(0, 50),
)
def test_the_c_primitives_match_their_python_twins(sizes, junk, cut) -> None:
    speedups = pytest.importorskip("recordio._speedups")
    from recordio import _framing
    from tests.recordio._support import frame, starts

    records = [bytes([i]) * size for i, size in enumerate(sizes)]
    data = junk + frame(records)
    data = data[: max(0, len(data) - cut)]
    for pos in {0, min(len(data), len(junk)), min(len(data), len(junk) + 1)}:
        assert speedups.scan_headers(data, pos, 1 << 20, 7) == _framing.scan_headers(
            data, pos, 1 << 20, 7
        )
        assert speedups.find_header(data, pos, 1 << 20) == _framing.find_header(data, pos, 1 << 20)
    whole = frame(records)
    bounds = np.array(starts(records)[:-1], dtype=np.uint64)
    lengths = np.array([len(r) for r in records], dtype=np.uint64)
    assert speedups.gather(whole, bounds, lengths, True) == _framing.gather(
        whole, bounds, lengths, True
    )
    if records:
        wrong = lengths.copy()
        wrong[-1] += 1
        assert (
            speedups.gather(whole, bounds, wrong, True)[1:]
            == _framing.gather(whole, bounds, wrong, True)[1:]
        )
