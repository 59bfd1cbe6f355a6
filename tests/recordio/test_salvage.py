"""Salvage (`on_damage=`) and verify_file: damaged regions in the middle of a file cost only the
records they touch, each region is reported once, and nothing is invented (RELIABILITY R4, small).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from recordio import Damage, TFRecordReader, verify_file
from tests.recordio._support import encode, frame, starts, use_backend

# 60 records of 80-300 bytes (~11 KiB): room for a zeroed 4 KiB page in the middle. Records are
# longer than any deletion below, so a deletion never lines a stale length up with a later
# record's header (the one case salvage cannot tell from a real record; see Edit.apply).
RECORDS = [random.Random(i).randbytes(random.Random(-i).randrange(80, 300)) for i in range(60)]
STARTS = starts(RECORDS)
DATA = frame(RECORDS)


@dataclass(frozen=True)
class Edit:
    """Replace DATA[start:end] by `new` (start == end: an insertion)."""

    start: int
    end: int
    new: bytes

    def apply(self, data: bytes = DATA) -> bytes:
        return data[: self.start] + self.new + data[self.end :]

    def moved(self, offset: int) -> int:
        """Where an offset of the original file at or after `end` is in the damaged file."""
        return offset + len(self.new) - (self.end - self.start)

    def where(self, i: int) -> int | None:
        """Where record i's frame still sits, byte for byte, in the damaged file (None: lost).

        Decided on the bytes, not on the edit's span, so that an edit which happens to
        rewrite a byte with its old value does not count as damage."""
        damaged = self.apply()
        frame_bytes = DATA[STARTS[i] : STARTS[i + 1]]
        for at in (STARTS[i], self.moved(STARTS[i])):
            before_edit = STARTS[i + 1] <= self.start and at == STARTS[i]
            after_edit = STARTS[i] >= self.end and at == self.moved(STARTS[i])
            if (before_edit or after_edit) and damaged[at : at + len(frame_bytes)] == frame_bytes:
                return at
        return None


def salvage(data: bytes, compression: str | None = "NONE") -> tuple[list[bytes], list[Damage]]:
    damages: list[Damage] = []
    with TFRecordReader(io.BytesIO(data), compression, on_damage=damages.append) as reader:
        records = list(reader)
    return records, damages


def check_one_region(edit: Edit, records: list[bytes], damages: list[Damage]) -> None:
    """Every intact record comes back, in order; the damage is reported once, from the start of
    the first lost record (or of the garbage) to the start of the next intact one."""
    where = [edit.where(i) for i in range(len(RECORDS))]
    assert records == [r for r, at in zip(RECORDS, where, strict=True) if at is not None]
    assert len(damages) == 1, damages
    (damage,) = damages
    lost = [i for i, at in enumerate(where) if at is None]
    if lost:
        assert damage.offset == STARTS[lost[0]]
        following = [at for at in where[lost[-1] + 1 :] if at is not None]
    else:  # garbage between two records
        assert damage.offset == edit.start
        following = [edit.moved(edit.end)]
    damaged_size = len(edit.apply())
    assert damage.end == (following[0] if following else damaged_size) or (
        damage.end is None and not following
    )
    assert damage.kind.startswith(("corrupt_", "truncated_", "too_large"))
    assert damage.message.startswith("<stream>: ")


EDITS = {
    "flipped data byte": Edit(STARTS[10] + 40, STARTS[10] + 41, bytes([DATA[STARTS[10] + 40] ^ 4])),
    "overwritten header": Edit(STARTS[20], STARTS[20] + 12, b"\xa5" * 12),
    "overwritten length CRC": Edit(STARTS[20] + 8, STARTS[20] + 12, b"\x00" * 4),
    "overwritten data CRC": Edit(STARTS[21] - 4, STARTS[21], b"\x00" * 4),
    "zeroed 4 KiB page": Edit(4096, 8192, bytes(4096)),
    "deleted data bytes": Edit(STARTS[30] + 20, STARTS[30] + 27, b""),
    "deleted header bytes": Edit(STARTS[30] + 2, STARTS[30] + 5, b""),
    "deleted across a boundary": Edit(STARTS[31] - 6, STARTS[31] + 6, b""),
    "inserted bytes": Edit(STARTS[40] + 50, STARTS[40] + 50, b"inserted!"),
    "garbage between records": Edit(STARTS[41], STARTS[41], b"garbage" * 5),
    "damaged first header": Edit(0, 12, b"\x01" * 12),
    "damaged last header": Edit(STARTS[59], STARTS[59] + 12, b"\x02" * 12),
    "damaged last data": Edit(STARTS[59] + 20, STARTS[59] + 21, b"\xff"),
}


@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("name", sorted(EDITS))
def test_salvage_keeps_every_record_outside_the_damage(backend: str, name: str) -> None:
    edit = EDITS[name]
    with use_backend(backend):
        records, damages = salvage(edit.apply())
    check_one_region(edit, records, damages)
    if name == "flipped data byte":
        assert (damages[0].index, damages[0].kind) == (10, "corrupt_data_crc")
    if name == "overwritten header":
        assert (damages[0].index, damages[0].kind) == (20, "corrupt_length_crc")


def random_edit(rng: random.Random) -> Edit:
    kind = rng.choice(["overwrite", "delete", "insert", "zero page", "flip"])
    at = rng.randrange(len(DATA) - 100)
    if kind == "flip":
        return Edit(at, at + 1, bytes([DATA[at] ^ (1 << rng.randrange(8))]))
    if kind == "overwrite":
        size = rng.randrange(1, 65)
        return Edit(at, at + size, rng.randbytes(size))
    if kind == "delete":
        return Edit(at, at + rng.randrange(1, 65), b"")
    if kind == "insert":
        return Edit(at, at, rng.randbytes(rng.randrange(1, 65)))
    page = rng.randrange(len(DATA) // 4096) * 4096
    return Edit(page, min(page + 4096, len(DATA)), bytes(min(4096, len(DATA) - page)))


@pytest.mark.parametrize("seed", range(8))
def test_salvage_on_seeded_random_damage(seed: int) -> None:
    rng = random.Random(seed)
    for case in range(60):
        edit = random_edit(rng)
        if edit.apply() == DATA:
            continue  # e.g. an overwrite with the same bytes
        records, damages = salvage(edit.apply())
        try:
            check_one_region(edit, records, damages)
        except AssertionError as error:
            raise AssertionError(f"seed {seed} case {case}: {edit}") from error


def test_salvage_reports_several_regions_in_order() -> None:
    edits = [EDITS["flipped data byte"], EDITS["overwritten header"], EDITS["deleted data bytes"]]
    data = DATA
    for edit in reversed(edits):  # apply from the end so earlier offsets stay valid
        data = edit.apply(data)
    records, damages = salvage(data)
    lost = {10, 20, 30}
    assert records == [r for i, r in enumerate(RECORDS) if i not in lost]
    assert [d.offset for d in damages] == [STARTS[10], STARTS[20], STARTS[30]]
    assert [d.kind for d in damages] == [
        "corrupt_data_crc",
        "corrupt_length_crc",
        "corrupt_data_crc",
    ]


@pytest.mark.parametrize("codec", ["GZIP", "ZLIB"])
def test_salvage_inside_a_compressed_stream(codec: str) -> None:
    """Damage made before compression is salvaged like in a plain file; damage to the compressed
    stream itself ends the file, reported once, after every record before it."""
    edit = EDITS["overwritten header"]
    records, damages = salvage(_compress(edit.apply(), codec), codec)
    check_one_region(edit, records, damages)

    whole = encode(RECORDS, codec)
    cut = whole[: len(whole) // 2]
    records, damages = salvage(cut, codec)
    assert records == RECORDS[: len(records)] and 0 < len(records) < len(RECORDS)
    assert len(damages) == 1 and damages[0].kind == "compressed_stream"
    assert damages[0].index == len(records)


def _compress(data: bytes, codec: str) -> bytes:
    import zlib

    deflate = zlib.compressobj(6, zlib.DEFLATED, 31 if codec == "GZIP" else 15)
    return deflate.compress(data) + deflate.flush()


def test_salvage_never_raises_for_a_cut_file() -> None:
    for cut in range(0, len(DATA), 97):
        records, damages = salvage(DATA[:cut])
        complete = sum(1 for end in STARTS[1:] if end <= cut)
        assert records == RECORDS[:complete]
        assert len(damages) == (0 if cut in STARTS else 1)


# -- verify_file ---------------------------------------------------------------------------------


def test_verify_file_reports_every_region_and_counts(tmp_path: Path) -> None:
    good = tmp_path / "good.tfrecord"
    good.write_bytes(DATA)
    report = verify_file(good)
    assert report.ok and report.issues == []
    assert (report.records, report.payload_bytes, report.file_bytes) == (
        60,
        sum(map(len, RECORDS)),
        len(DATA),
    )
    assert report.compression == "NONE"
    assert report.to_dict()["ok"] is True

    data = EDITS["deleted data bytes"].apply(DATA)
    data = EDITS["overwritten header"].apply(data)
    data = EDITS["flipped data byte"].apply(data)
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(data + b"\x01\x02\x03")  # and a partial header at the end
    report = verify_file(bad)
    assert not report.ok
    assert report.records == 57
    assert report.file_bytes == len(data) + 3
    assert [i.kind for i in report.issues] == [
        "corrupt_data_crc",
        "corrupt_length_crc",
        "corrupt_data_crc",
        "truncated_header",
    ]
    assert [i.offset for i in report.issues][:3] == [STARTS[10], STARTS[20], STARTS[30]]
    assert verify_file(bad, strict=False).issues[-1].kind != "truncated_header"


@pytest.mark.parametrize("codec", ["GZIP", "ZLIB"])
def test_verify_file_on_compressed_damage(tmp_path: Path, codec: str) -> None:
    whole = encode(RECORDS, codec)
    path = tmp_path / f"cut.{codec}"
    path.write_bytes(whole[:-10])
    report = verify_file(path)
    assert not report.ok and report.compression == codec
    assert report.records == len(RECORDS) - 1 or report.records == len(RECORDS)
    assert [i.kind for i in report.issues] == ["compressed_stream"]
    (tmp_path / "ok").write_bytes(whole)
    assert verify_file(tmp_path / "ok").records == 60


def test_verify_file_unreadable_and_wrong_compression(tmp_path: Path) -> None:
    report = verify_file(tmp_path / "missing")
    assert [i.kind for i in report.issues] == ["unreadable"]
    path = tmp_path / "plain"
    path.write_bytes(DATA)
    report = verify_file(path, "GZIP")
    assert [i.kind for i in report.issues] == ["compression"] and report.records == 0


@pytest.mark.parametrize("gap", [0, 5, 11, 12])
def test_salvage_does_not_depend_on_where_a_chunk_ends(gap: int) -> None:
    """A damaged record ending `gap` bytes before the reader's first 4 MiB chunk does: salvage
    must see the header after it before deciding, or later record indices shift by one."""
    from recordio._source import CHUNK

    rng = random.Random(gap)
    records = [rng.randbytes(1000) for _ in range(4600)]
    k = 4000
    records[0] = rng.randbytes(1000 + CHUNK - gap - starts(records)[k + 1])
    offsets = starts(records)
    assert offsets[k + 1] == CHUNK - gap
    data = bytearray(frame(records))
    for i in (k, 4500):
        data[offsets[i] + 100] ^= 1
    damages: list[Damage] = []
    with TFRecordReader(io.BytesIO(bytes(data)), on_damage=damages.append) as reader:
        got = list(reader)
        assert reader.index == len(records)
    assert got == [r for i, r in enumerate(records) if i not in (k, 4500)]
    assert [(d.index, d.offset, d.end, d.kind) for d in damages] == [
        (i, offsets[i], offsets[i + 1], "corrupt_data_crc") for i in (k, 4500)
    ]


def test_a_damaged_record_then_stray_bytes_at_the_end() -> None:
    """Stray bytes after a damaged last record say its length is stale: one region to the end."""
    data = bytearray(DATA + b"\x01\x02\x03")
    data[STARTS[59] + 20] ^= 1
    records, damages = salvage(bytes(data))
    assert records == RECORDS[:59]
    assert [(d.index, d.offset, d.end, d.kind) for d in damages] == [
        (59, STARTS[59], len(data), "corrupt_data_crc")
    ]
