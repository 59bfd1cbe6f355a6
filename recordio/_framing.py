"""TFRecord framing in pure Python: the reference twin of the optional C accelerator.

A record is `u64le length | u32le masked_crc32c(length bytes) | data | u32le masked_crc32c(data)`.
`scan` and `frame` here define the contract that `recordio._speedups` must match exactly; the
tests run the same vectors through both.
"""

from __future__ import annotations

import mmap
import struct
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

from recordio.errors import CorruptRecordError, RecordIOError, RecordTooLargeError

ReadableBuffer: TypeAlias = "bytes | bytearray | memoryview | mmap.mmap"
MASK_DELTA = 0xA282EAD8
HEADER = 12
FOOTER = 4

# Why scan() stopped.
STOP_BATCH = 0  # max_records reached
STOP_NEED = 1  # buf ends inside a record: a = bytes the record needs in all (0 = header incomplete)
STOP_LENGTH_CRC = 2  # a = stored, b = computed
STOP_DATA_CRC = 3  # a = stored, b = computed
STOP_TOO_LARGE = 4  # a = claimed length
STOP_STALE = 5  # gather(): the header's length (a) is not the one the index gives (b)

# The longest length scan() accepts whatever max_len says: a bytes object holds at most
# sys.maxsize bytes, and the C twin computes 16 + length in 64 bits.
MAX_LENGTH = sys.maxsize - HEADER - FOOTER

_POLY = 0x82F63B78


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _make_table()


def crc32c_table(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """Table-driven CRC-32C: slow (about 15 MB/s) but needs nothing installed."""
    crc = value ^ 0xFFFFFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


try:
    import google_crc32c as _google

    def crc32c(data: bytes | bytearray | memoryview, value: int = 0) -> int:
        """CRC-32C through google-crc32c (C, hardware-accelerated)."""
        if value:
            return _google.extend(value, bytes(data))
        return _google.value(data if type(data) is bytes else bytes(data))

except ImportError:  # pragma: no cover - exercised by forcing the table backend in tests
    crc32c = crc32c_table


def mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    rot = (masked - MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    return mask(crc32c(data))


_unpack_header = struct.Struct("<QI").unpack_from
_unpack_u32 = struct.Struct("<I").unpack_from
_pack_header = struct.Struct("<Q").pack
_pack_u32 = struct.Struct("<I").pack


def scan(
    buf: bytes,
    pos: int,
    verify: bool,
    max_len: int,
    max_records: int,
    big_crc: Callable[[bytes], int] | None = None,
    *,
    crc: Callable[[bytes], int] | None = None,
) -> tuple[list[bytes], int, int, int, int]:
    """Parse complete records from `buf[pos:]`.

    Returns `(records, new_pos, status, a, b)`; `new_pos` is the start of the first record not
    returned, so a caller can refill the buffer and call again, or report an error there.
    """
    crc = crc or crc32c
    records: list[bytes] = []
    end = len(buf)
    append = records.append
    header_crc_cache: dict[bytes, bool] = {}
    while len(records) < max_records:
        if end - pos < HEADER:
            return records, pos, STOP_NEED, 0, 0
        length, stored = _unpack_header(buf, pos)
        if verify:
            key = buf[pos : pos + 12]
            if key not in header_crc_cache:
                computed = mask(crc(buf[pos : pos + 8]))
                if computed != stored:
                    return records, pos, STOP_LENGTH_CRC, stored, computed
                header_crc_cache[key] = True
        if length > max_len or length > MAX_LENGTH:
            return records, pos, STOP_TOO_LARGE, length, 0
        total = HEADER + length + FOOTER
        if end - pos < total:
            return records, pos, STOP_NEED, total, 0
        data = buf[pos + HEADER : pos + HEADER + length]
        if verify:
            (stored,) = _unpack_u32(buf, pos + HEADER + length)
            computed = mask(crc(data))
            if computed != stored:
                return records, pos, STOP_DATA_CRC, stored, computed
        append(data)
        pos += total
    return records, pos, STOP_BATCH, 0, 0


def scan_headers(
    buf: ReadableBuffer, pos: int, max_len: int, base: int
) -> tuple[bytes, int, int, int, int]:
    """Start offsets (`base + position`, u64le bytes) of the records in `buf[pos:]`, from their
    headers alone: length CRCs are checked, data is skipped unread.

    Returns `(offsets, pos, status, a, b)`; `pos` is where the next header would start and may
    lie past the end of `buf` when the last record's data is not all there.
    """
    starts: list[int] = []
    end = len(buf)
    status, a, b = STOP_NEED, 0, 0
    while end - pos >= HEADER:
        length, stored = _unpack_header(buf, pos)
        computed = masked_crc32c(buf[pos : pos + 8])
        if computed != stored:
            status, a, b = STOP_LENGTH_CRC, stored, computed
            break
        if length > max_len or length > MAX_LENGTH:
            status, a = STOP_TOO_LARGE, length
            break
        starts.append(base + pos)
        pos += HEADER + length + FOOTER
    return struct.pack(f"<{len(starts)}Q", *starts), pos, status, a, b


def find_header(buf: ReadableBuffer, start: int, max_len: int) -> int:
    """Salvage: the first position from `start` holding a header whose length CRC checks out
    (length at most `max_len`), or where fewer than 12 bytes are left; len(buf) if neither."""
    end = len(buf)
    pos = max(0, start)
    while pos + HEADER <= end:
        length, stored = _unpack_header(buf, pos)
        if masked_crc32c(buf[pos : pos + 8]) == stored and length <= max_len:
            return pos
        pos += 1
    return pos if pos < end else end


def gather(
    buf: ReadableBuffer, starts: Iterable[int], lengths: Iterable[int], verify: bool
) -> tuple[list[bytes], int, int, int, int]:
    """The records whose headers start at `starts` in `buf`, each checked against the length
    the index expects (and its CRCs when `verify`).

    Returns `(records, failed, status, a, b)`: `failed` is the position in `starts` of the first
    record that did not check out, `len(starts)` when all did.
    """
    records: list[bytes] = []
    end = len(buf)
    for i, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        start, length = int(start), int(length)
        if start > end or end - start < HEADER + length + FOOTER:
            return records, i, STOP_STALE, length, 0
        claimed, stored = _unpack_header(buf, start)
        if claimed != length:
            return records, i, STOP_STALE, claimed, length
        data = bytes(buf[start + HEADER : start + HEADER + length])
        if verify:
            computed = masked_crc32c(buf[start : start + 8])
            if computed != stored:
                return records, i, STOP_LENGTH_CRC, stored, computed
            (stored,) = _unpack_u32(buf, start + HEADER + length)
            computed = masked_crc32c(data)
            if computed != stored:
                return records, i, STOP_DATA_CRC, stored, computed
        records.append(data)
    return records, len(records), STOP_BATCH, 0, 0


def frame(records: Sequence[bytes | bytearray | memoryview]) -> bytes:
    """Frame records as TFRecord bytes, ready to write or compress."""
    parts: list[bytes | bytearray | memoryview] = []
    for data in records:
        if type(data) is memoryview:
            data = data.cast("B")  # len() in bytes, as the C twin's buffer length
        length = _pack_header(len(data))
        parts.append(length)
        parts.append(_pack_u32(masked_crc32c(length)))
        parts.append(data)
        parts.append(_pack_u32(masked_crc32c(data)))
    return b"".join(parts)


def crc32c_many(
    values: Sequence[bytes | bytearray | memoryview], start: int = 0, stop: int = -1
) -> bytes:
    """CRC-32C of `values[i][start:stop]` (stop < 0: to the end) for every value, as u32le
    bytes; a value shorter than the range raises ValueError."""
    if start < 0:
        raise ValueError("crc32c_many: start must be >= 0")
    crcs = []
    for i, value in enumerate(values):
        view = memoryview(value).cast("B")
        end = len(view) if stop < 0 else stop
        if end > len(view) or end < start:
            raise ValueError(
                f"crc32c_many: value {i} holds {len(view)} bytes, outside the range "
                f"[{start}:{stop}]"
            )
        crcs.append(crc32c(view[start:end]))
    return struct.pack(f"<{len(crcs)}I", *crcs)


def gather_slices(
    values: Sequence[bytes | bytearray | memoryview], ranges: Sequence[tuple[int, int]], size: int
) -> bytes | None:
    """For each value in turn, `value[a:b]` for each `(a, b)` in `ranges`, joined; every value
    must be exactly `size` bytes long (None when one is not)."""
    for a, b in ranges:
        if a < 0 or b < a or b > size:
            raise ValueError(f"gather_slices: range ({a}, {b}) outside {size} bytes")
    views = [memoryview(value).cast("B") for value in values]
    if any(len(view) != size for view in views):
        return None
    return b"".join(view[a:b] for view in views for a, b in ranges)


def scan_error(
    status: int,
    a: int,
    b: int,
    *,
    limit: int,
    length_hint: str = "the length field or its CRC is damaged",
    **where: Any,
) -> RecordIOError:
    """The error for a scan that stopped at damage: what every reader of frames raises."""
    if status == STOP_LENGTH_CRC:
        return CorruptRecordError(
            f"length CRC mismatch (stored 0x{a:08x}, computed 0x{b:08x})",
            part="length_crc", stored=a, computed=b, hint=length_hint, **where,
        )  # fmt: skip
    if status == STOP_DATA_CRC:
        return CorruptRecordError(
            f"data CRC mismatch (stored 0x{a:08x}, computed 0x{b:08x})",
            part="data_crc", stored=a, computed=b, hint="the record's bytes are damaged", **where,
        )  # fmt: skip
    if status == STOP_TOO_LARGE:
        return RecordTooLargeError(
            f"record claims {a} bytes, more than max_record_bytes={limit}",
            claimed=a, limit=limit, hint="raise max_record_bytes if such records are expected",
            params=("max_record_bytes",), **where,
        )  # fmt: skip
    raise AssertionError(f"unknown scan status {status}")  # pragma: no cover
