"""Salvage on seeded damage: every intact record outside the damage comes back, in order, and
no record is invented (payloads that hold valid-looking frames included)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from recordio import read_records, write_records
from recordio._members import HEADER_BYTES, parse_header
from recordio.errors import OptionError
from recordio.recover import TooMuchDamageError, recover_file, salvage_records
from tests.recordio._support import frame, starts

SEEDS = range(12)


def payloads(count: int, seed: int) -> list[bytes]:
    """Random records; some carry a whole valid TFRecord frame inside their payload."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        body = rng.randbytes(rng.randrange(20, 600))
        if i % 5 == 2:
            at = rng.randrange(len(body))
            body = body[:at] + frame([b"embedded %d" % i]) + body[at:]
        out.append(body)
    return out


def damage(data: bytes, how: str, rng: random.Random, low: int = 0) -> tuple[bytes, int, int]:
    """Damaged bytes and the damaged span [start, end) of the original file."""
    at = rng.randrange(low, len(data) - 1)
    size = rng.randrange(1, 200)
    if how == "overwrite":
        junk = rng.randbytes(min(size, len(data) - at))
        return data[:at] + junk + data[at + len(junk) :], at, at + len(junk)
    if how == "delete":
        return data[:at] + data[at + size :], at, at + size
    if how == "insert":
        return data[:at] + rng.randbytes(size) + data[at:], at, at
    if how == "zero_page":
        page = at // 4096 * 4096
        return (
            data[:page] + bytes(min(4096, len(data) - page)) + data[page + 4096 :],
            page,
            page + 4096,
        )
    raise AssertionError(how)


def is_subsequence(got: list[bytes], records: list[bytes]) -> bool:
    it = iter(records)
    return all(any(r == x for x in it) for r in got)


def salvage(path: Path) -> tuple[list[bytes], list]:
    regions: list = []
    return list(salvage_records(path, on_damage=regions.append)), regions


@pytest.mark.parametrize("how", ["overwrite", "delete", "insert", "zero_page"])
def test_uncompressed_damage_keeps_every_intact_record(tmp_path: Path, how: str) -> None:
    for seed in SEEDS:
        rng = random.Random(seed)
        records = payloads(60, seed)
        data = frame(records)
        bounds = starts(records)
        damaged, lo, hi = damage(data, how, rng)
        path = tmp_path / "d.tfrecord"
        path.write_bytes(damaged)
        got, regions = salvage(path)
        assert is_subsequence(got, records), (seed, how)  # in order, none invented
        intact = [
            r for r, a, b in zip(records, bounds, bounds[1:], strict=False) if b <= lo or a >= hi
        ]
        assert is_subsequence(intact, got), (seed, how, len(intact), len(got))
        if got != records:
            assert regions and all(r.kind for r in regions)


@pytest.mark.parametrize("how", ["overwrite", "delete", "insert", "flip"])
def test_damaged_gzip_members_cost_at_most_their_own_records(tmp_path: Path, how: str) -> None:
    for seed in SEEDS:
        rng = random.Random(100 + seed)
        records = payloads(400, seed)
        clean = tmp_path / "c.tfrecord.gz"
        write_records(clean, records, "GZIP", member_bytes=8 << 10)
        data = clean.read_bytes()
        members = member_spans(data)
        assert len(members) > 5
        if how == "flip":
            at = rng.randrange(len(data))
            damaged = bytearray(data)
            damaged[at] ^= 1 << rng.randrange(8)
            damaged, lo, hi = bytes(damaged), at, at + 1
        else:
            damaged, lo, hi = damage(data, how, rng)
        path = tmp_path / "d.tfrecord.gz"
        path.write_bytes(damaged)
        got, regions = salvage(path)
        assert is_subsequence(got, records), (seed, how)
        # Records of members that lie wholly outside the damage all come back.
        intact = [
            record
            for (a, b, first, count) in members
            if b <= lo or a >= hi
            for record in records[first : first + count]
        ]
        assert is_subsequence(intact, got), (seed, how, len(intact), len(got))


def member_spans(data: bytes) -> list[tuple[int, int, int, int]]:
    """(start, end, first record, records) of each member of a recio gzip file."""
    spans, at, first = [], 0, 0
    while at < len(data):
        header = parse_header(data[at : at + HEADER_BYTES])
        assert header is not None and header.member_bytes and header.records is not None
        spans.append((at, at + header.member_bytes, first, header.records))
        first += header.records
        at += header.member_bytes
    return spans


def test_one_flipped_byte_in_a_1500_record_gzip_shard_loses_one_record(tmp_path: Path) -> None:
    """The issue's case: before, records 1246-1499 (intact) were lost with the damaged one."""
    rng = random.Random(7)
    records = [rng.randbytes(rng.randrange(200, 1200)) for _ in range(1500)]
    for member_bytes in (0, 1 << 20):
        path = tmp_path / f"s{member_bytes}.tfrecord.gz"
        write_records(path, records, "GZIP", member_bytes=member_bytes)
        data = bytearray(path.read_bytes())
        for trial in range(5):
            damaged = bytearray(data)
            damaged[rng.randrange(100, len(data) - 20)] ^= 1 << rng.randrange(8)
            bad = tmp_path / "bad.tfrecord.gz"
            bad.write_bytes(bytes(damaged))
            got, regions = salvage(bad)
            assert len(got) >= len(records) - 1, (member_bytes, trial, len(got))
            assert is_subsequence(got, records) and regions


def test_recover_writes_a_new_file_and_never_over_its_input(tmp_path: Path) -> None:
    records = payloads(50, 1)
    data = bytearray(frame(records))
    data[300:340] = bytes(40)
    source = tmp_path / "in.tfrecord"
    source.write_bytes(bytes(data))
    target = tmp_path / "out.tfrecord"
    report = recover_file(source, target)
    assert report.records == len(list(read_records(target))) and 45 <= report.records < 50
    assert report.regions and not report.ok
    with pytest.raises(OptionError, match="exists"):
        recover_file(source, target)
    with pytest.raises(OptionError, match="is the input"):
        recover_file(source, source, overwrite=True)
    assert source.read_bytes() == bytes(data)
    again = recover_file(source, target, overwrite=True, output_compression="GZIP")
    assert list(read_records(target)) == list(read_records(target, "GZIP")) and again.records
    noise = tmp_path / "noise.tfrecord"  # ten damaged regions: every other data CRC is wrong
    noise.write_bytes(
        b"".join(
            frame([b"r%d" % i])[: -1 if i % 2 else None] + (b"X" if i % 2 else b"")
            for i in range(20)
        )
    )
    with pytest.raises(TooMuchDamageError):
        recover_file(noise, tmp_path / "n.tfrecord", max_regions=3)
    assert not (tmp_path / "n.tfrecord").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
