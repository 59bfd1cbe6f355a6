"""Protocol-buffer wire-format primitives, written by hand: the one wire walker of recio.

The Example codec, the JSON conversion and the loaders' template decoder all walk messages with
these functions.

recordio must not depend on the protobuf package (its major versions break generated code), and
the Example schema is small and frozen, so reading and writing the wire format directly is both
safer and faster. Every reader here is bounds-checked and raises `ExampleDecodeError` with the byte
position; none of them can raise IndexError or struct.error on hostile input.

numpy is never imported at module level (`import recordio` must stay fast); the vectorised paths
for long packed int lists import it on first use.
"""

from __future__ import annotations

import sys
from typing import Any

from recordio.errors import ExampleDecodeError

WT_VARINT, WT_I64, WT_LEN, WT_SGROUP, WT_EGROUP, WT_I32 = 0, 1, 2, 3, 4, 5
MASK64 = (1 << 64) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
MAX_FIELD = (1 << 29) - 1
LITTLE = sys.byteorder == "little"
# Packed int lists longer than this (bytes) are decoded/encoded with numpy; below it the Python
# loop wins because numpy's fixed cost (~10 us) dominates.
NUMPY_VARINT_BYTES = 512
NUMPY_VARINT_COUNT = 128

_ONE_BYTE = [bytes((i,)) for i in range(128)]


def _np() -> Any:
    import numpy

    return numpy


def fail(what: str, problem: str, pos: int, note: str = "") -> ExampleDecodeError:
    """Build the one-line error: which message, what is wrong, at which byte."""
    tail = f" ({note})" if note else ""
    return ExampleDecodeError(f"malformed {what}: {problem} at byte {pos}{tail}", position=pos)


# --------------------------------------------------------------------------- encoding


def varint(value: int) -> bytes:
    """Base-128 varint; a negative int64 is written as its 10-byte two's complement."""
    if 0 <= value < 128:
        return _ONE_BYTE[value]
    if value < 0:
        value &= MASK64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def len_field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag byte(s), varint length, payload."""
    n = len(payload)
    return tag + (_ONE_BYTE[n] if n < 128 else varint(n)) + payload


def pack_varints(values: list[int]) -> bytes:
    """Packed varints of Python ints already checked to lie in int64 range."""
    if not values:
        return b""
    if min(values) >= 0 and max(values) < 128:
        return bytes(values)
    if len(values) >= NUMPY_VARINT_COUNT:
        np = _np()
        return pack_varints_array(np.array(values, dtype=np.int64))
    out = bytearray()
    append = out.append
    for v in values:
        if v < 0:
            v &= MASK64
        while v > 0x7F:
            append((v & 0x7F) | 0x80)
            v >>= 7
        append(v)
    return bytes(out)


def pack_varints_array(arr: Any) -> bytes:
    """Packed varints of a 1-D int64 numpy array, vectorised (one pass per varint byte)."""
    np = _np()
    u = np.ascontiguousarray(arr, dtype=np.int64).view(np.uint64)
    if u.size == 0:
        return b""
    if int(u.max()) < 128:
        return u.astype(np.uint8).tobytes()
    nbytes = np.ones(u.size, dtype=np.int64)
    for k in range(1, 10):
        more = u >= np.uint64(1 << (7 * k))
        if not more.any():
            break
        nbytes += more
    ends = np.cumsum(nbytes)
    starts = ends - nbytes
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    for j in range(10):
        sel = nbytes > j
        if not sel.any():
            break
        chunk = ((u[sel] >> np.uint64(7 * j)) & np.uint64(0x7F)).astype(np.uint8)
        chunk |= np.where(nbytes[sel] - 1 > j, 0x80, 0).astype(np.uint8)
        out[starts[sel] + j] = chunk
    return out.tobytes()


# --------------------------------------------------------------------------- decoding


def read_varint(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """Read one varint in data[pos:end]; return (unsigned value truncated to 64 bits, next pos)."""
    if pos < end:
        b = data[pos]
        if b < 0x80:
            return b, pos + 1
    start = pos
    result = 0
    shift = 0
    while pos < end:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & MASK64, pos
        shift += 7
        if shift >= 70:
            raise fail(what, "varint longer than 10 bytes", start)
    raise fail(what, "truncated varint", start, f"its message ends at byte {end}")


def read_tag(data: bytes, pos: int, end: int, what: str) -> tuple[int, int, int]:
    """Read a field key; return (field number, wire type, next pos)."""
    key, nxt = read_varint(data, pos, end, what)
    field = key >> 3
    if field == 0 or field > MAX_FIELD:
        raise fail(what, f"invalid field number {field}", pos)
    return field, key & 7, nxt


def read_len(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """Read a length prefix at pos; return (payload start, payload stop), stop checked <= end."""
    n, start = read_varint(data, pos, end, what)
    stop = start + n
    if stop > end:
        raise fail(what, f"length {n} runs past the end of its message", pos, f"byte {end}")
    return start, stop


def expect_wire_type(what: str, field: int, got: int, want: int, tag_pos: int) -> None:
    if got != want:
        raise fail(what, f"field {field} has wire type {got}, expected {want}", tag_pos)


def skip_field(
    data: bytes, pos: int, end: int, field: int, wt: int, tag_pos: int, what: str
) -> int:
    """Skip an unknown field's value (groups included); return the position after it."""
    depth = 0
    open_fields: list[int] = []
    while True:
        if wt == WT_VARINT:
            _, pos = read_varint(data, pos, end, what)
        elif wt == WT_LEN:
            _, pos = read_len(data, pos, end, what)
        elif wt in (WT_I64, WT_I32):
            stop = pos + (8 if wt == WT_I64 else 4)
            if stop > end:
                raise fail(what, f"fixed-width field {field} runs past byte {end}", tag_pos)
            pos = stop
        elif wt == WT_SGROUP:
            depth += 1
            if depth > 100:
                raise fail(what, "groups nested too deeply", tag_pos)
            open_fields.append(field)
        elif wt == WT_EGROUP:
            if not open_fields or open_fields[-1] != field:
                raise fail(what, f"unexpected end-group for field {field}", tag_pos)
            open_fields.pop()
            depth -= 1
        else:
            raise fail(what, f"invalid wire type {wt} (field {field})", tag_pos)
        if not open_fields:
            return pos
        if pos >= end:
            raise fail(what, f"group for field {open_fields[-1]} is not closed", tag_pos)
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)


def top_level_fields(data: bytes, what: str) -> set[int]:
    """Field numbers present at the top of a message (fast path: one length-delimited field 1)."""
    if not data:
        return set()
    end = len(data)
    if data[0] == 0x0A:
        length, pos = read_varint(data, 1, end, what)
        if pos + length == end:
            return {1}
    fields = set()
    pos = 0
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)
        fields.add(field)
        pos = skip_field(data, pos, end, field, wt, tag_pos, what)
    return fields


def uvarint_unchecked(data: bytes, pos: int) -> tuple[int, int]:
    """A varint for hot paths that check bounds themselves: an overrun surfaces as IndexError,
    a varint longer than 64 bits as ValueError."""
    result = 0
    shift = 0
    while shift < 64:
        b = data[pos]
        pos += 1
        result |= (b & 127) << shift
        if b < 128:
            return result, pos
        shift += 7
    raise ValueError("varint longer than 64 bits")


def to_int64(u: int) -> int:
    """Reinterpret an unsigned 64-bit value as signed."""
    return u - (1 << 64) if u > INT64_MAX else u


def unpack_varints(data: bytes, start: int, stop: int, what: str) -> list[int] | Any:
    """Decode packed int64 varints in data[start:stop] (a list, or an int64 ndarray when long)."""
    if start == stop:
        return []
    if data[stop - 1] >= 0x80:
        # The last byte must end a varint; checking it up front keeps the loop below inside
        # [start, stop) without a bounds test per byte.
        raise fail(what, "truncated varint at the end of a packed list", stop - 1)
    if stop - start >= NUMPY_VARINT_BYTES:
        return _unpack_varints_np(data, start, stop, what)
    out: list[int] = []
    append = out.append
    pos = start
    while pos < stop:
        b = data[pos]
        pos += 1
        if b < 0x80:
            append(b)
            continue
        first = pos - 1
        v = b & 0x7F
        shift = 7
        while True:
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift >= 70:
                raise fail(what, "varint longer than 10 bytes", first)
        v &= MASK64
        append(v - (1 << 64) if v > INT64_MAX else v)
    return out


def _unpack_varints_np(data: bytes, start: int, stop: int, what: str) -> Any:
    np = _np()
    raw = np.frombuffer(data, dtype=np.uint8, count=stop - start, offset=start)
    ends = np.flatnonzero(raw < 0x80)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lens = ends - starts + 1
    if int(lens.max()) > 10:
        bad = int(np.argmax(lens > 10))
        raise fail(what, "varint longer than 10 bytes", start + int(starts[bad]))
    shifts = (np.arange(raw.size, dtype=np.uint64) - np.repeat(starts, lens).astype(np.uint64)) * (
        np.uint64(7)
    )
    parts = (raw & 0x7F).astype(np.uint64) << shifts
    return np.bitwise_or.reduceat(parts, starts).view(np.int64)
