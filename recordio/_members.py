"""Seekable GZIP: a file written as many gzip members, each holding whole records.

TensorFlow, Beam and gzip(1) read concatenated members as one stream, so such a file reads
unchanged everywhere. recio's writer also puts a small extra field (RFC 1952 FEXTRA, subfield
`RI`) in each member's header: the member's size in the file, the bytes and records it holds.
That lets a reader walk from member to member without inflating anything, inflate several
members at once on several cores, count records without inflating, and resync at the next member
after damage. Members without the field (any other gzip writer) are read one after the other.

Header written: `1f 8b 08 FLG=FEXTRA|FHCRC MTIME=0 XFL=0 OS=255 XLEN=24 'R' 'I' LEN=20
u64le member_bytes u64le stream_bytes u32le records CRC16`, then raw deflate, then CRC32 and
ISIZE. The header CRC (which zlib and TF check too) guards the size field.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

from recordio.compression import (
    ZLIB_ERRORS,
    Compression,
    crc32,
    decompressor,
    decompressor_raw,
    raw_compressor,
)
from recordio.errors import CompressedStreamError

GZIP_MAGIC = b"\x1f\x8b\x08"
FTEXT, FHCRC, FEXTRA, FNAME, FCOMMENT = 1, 2, 4, 8, 16
EXTRA_ID = b"RI"
_EXTRA = struct.Struct("<2sHQQI")  # subfield id, its length, member_bytes, stream_bytes, records
_HEAD = struct.Struct("<3sBIBBH")  # magic, FLG, MTIME, XFL, OS, XLEN
HEADER_BYTES = _HEAD.size + _EXTRA.size + 2  # 38, with the header CRC
TRAILER_BYTES = 8
DEFAULT_MEMBER_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class MemberHeader:
    """What a gzip member's header says: its own length, and recio's size field if present."""

    header_bytes: int
    member_bytes: int | None = None  # the whole member in the file (None: not written by recio)
    stream_bytes: int | None = None  # uncompressed bytes it holds
    records: int | None = None


def encode_member(parts: list[bytes], records: int, level: int | None) -> bytes:
    """One gzip member holding `parts` (whole framed records), with recio's size field."""
    deflate = raw_compressor(level)
    body = [deflate.compress(part) for part in parts]
    body.append(deflate.flush())
    size = sum(map(len, parts))
    crc = 0
    for part in parts:
        crc = crc32(part, crc)
    member_bytes = HEADER_BYTES + sum(map(len, body)) + TRAILER_BYTES
    head = _HEAD.pack(GZIP_MAGIC, FEXTRA | FHCRC, 0, 0, 255, _EXTRA.size)
    head += _EXTRA.pack(EXTRA_ID, _EXTRA.size - 4, member_bytes, size, records)
    head += struct.pack("<H", crc32(head) & 0xFFFF)
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return b"".join((head, *body, trailer))


def parse_header(buf: bytes | memoryview, pos: int = 0) -> MemberHeader | None:
    """Parse the gzip member header at `buf[pos:]`; None when buf ends before it does.

    Raises ValueError when the bytes are not a gzip member header (magic, method, reserved
    flags), in the words zlib uses.
    """
    end = len(buf)
    if end - pos < 10:
        if bytes(buf[pos : pos + 3]) != GZIP_MAGIC[: end - pos]:
            raise ValueError("incorrect header check")
        return None
    if bytes(buf[pos : pos + 3]) != GZIP_MAGIC:
        raise ValueError("incorrect header check")
    flags = buf[pos + 3]
    if flags & 0xE0:
        raise ValueError("unknown header flags set")
    at = pos + 10
    found: tuple[int, int, int] | None = None
    if flags & FEXTRA:
        if end - at < 2:
            return None
        xlen = int.from_bytes(buf[at : at + 2], "little")
        at += 2
        if end - at < xlen:
            return None
        found = _find_size_field(bytes(buf[at : at + xlen]))
        at += xlen
    for flag in (FNAME, FCOMMENT):
        if flags & flag:
            stop = bytes(buf[at:end]).find(b"\0")
            if stop < 0:
                return None
            at += stop + 1
    if flags & FHCRC:
        if end - at < 2:
            return None
        stored = int.from_bytes(buf[at : at + 2], "little")
        if crc32(bytes(buf[pos:at])) & 0xFFFF != stored:
            raise ValueError("header crc mismatch")
        at += 2
    if found is None:
        return MemberHeader(at - pos)
    return MemberHeader(at - pos, *found)


def _find_size_field(extra: bytes) -> tuple[int, int, int] | None:
    at = 0
    while len(extra) - at >= 4:
        ident, size = extra[at : at + 2], int.from_bytes(extra[at + 2 : at + 4], "little")
        if ident == EXTRA_ID and size == _EXTRA.size - 4 and len(extra) - at >= _EXTRA.size:
            _, _, member, stream, records = _EXTRA.unpack_from(extra, at)
            return member, stream, records
        at += 4 + size
    return None


def inflate_member(member: bytes, header: MemberHeader) -> bytes:
    """Inflate one whole member (header to trailer), checking its CRC32 and length.

    Raises ValueError (zlib's words) for a damaged member, one that ends early, or bytes past
    its trailer inside its declared size. Releases the GIL in the inflate (zlib-ng/ISA-L/zlib).
    """
    inflater = decompressor_raw()
    try:
        out = inflater.decompress(memoryview(member)[header.header_bytes :])
    except ZLIB_ERRORS as error:
        raise ValueError(str(error).split(": ", 1)[-1] or "invalid deflate data") from None
    if not inflater.eof:
        raise ValueError("member ends before its end marker")
    trailer = inflater.unused_data
    if len(trailer) != TRAILER_BYTES:
        raise ValueError("member size field does not match its data")
    stored_crc, stored_size = struct.unpack("<II", trailer)
    if stored_crc != crc32(out):
        raise ValueError("incorrect data check")
    if stored_size != len(out) & 0xFFFFFFFF:
        raise ValueError("incorrect length check")
    return out


def default_workers() -> int:
    """Threads for inflating gzip members: the cores this process may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def find_member(data: bytes, start: int = 0) -> int | None:
    """The first position from `start` where a plausible gzip member starts: a header that
    parses (and checks out, when it has a CRC) followed by deflate data that inflates for its
    first 64 KiB. Salvage resyncs there; anything false it finds fails the record CRCs."""
    at = start
    while (at := data.find(GZIP_MAGIC, at)) >= 0:
        try:
            header = parse_header(data, at)
        except ValueError:
            header = None
        if header is not None:
            probe = decompressor_raw()
            body = at + header.header_bytes
            try:
                probe.decompress(data[body : body + (64 << 10)], 64 << 10)
            except ZLIB_ERRORS:
                pass
            else:
                return at
        at += 1
    return None


LARGEST_WHOLE_MEMBER = 8 << 20  # larger members are inflated in bounded pieces, in order
IN_FLIGHT_BYTES = 32 << 20  # compressed bytes of the members being inflated at once
PIECE = 1 << 20


class _Input:
    """The compressed file as a sliding window: `buf` holds file bytes from `at` on."""

    def __init__(self, file: BinaryIO, prefix: bytes, start: int) -> None:
        self.file = file
        self.buf = prefix
        self.at = start
        self.eof = False

    def fill(self, want: int) -> bool:
        """Hold at least `want` bytes (fewer at the end of the file); False if none."""
        pieces = [self.buf]
        have = len(self.buf)
        while have < want and not self.eof:
            more = self.file.read(max(want - have, PIECE))
            if not more:
                self.eof = True
                break
            pieces.append(more)
            have += len(more)
        if len(pieces) > 1:
            self.buf = b"".join(pieces)
        return have > 0

    def take(self, n: int) -> bytes:
        data, self.buf = self.buf[:n], self.buf[n:]
        self.at += len(data)
        return data


def inflate_pieces(
    file: BinaryIO,
    *,
    path: str,
    strict: bool,
    workers: int = 1,
    prefix: bytes = b"",
    start: int = 0,
    on_damage: Callable[[CompressedStreamError, int | None], None] | None = None,
) -> Generator[tuple[int, bytes], None, None]:
    """The uncompressed stream of a GZIP file as `(member_start, piece)` pairs, in order.

    `member_start` is the compressed offset of the member that piece belongs to; the first piece
    of each member is yielded even when empty, so a caller sees every member start. Members with
    recio's size field are read whole and inflated `workers` at a time in threads; others are
    inflated in bounded pieces. Damage raises CompressedStreamError after every piece before it;
    with `on_damage` (salvage) it is reported instead, with what of the damaged member still
    inflates, and reading carries on at the next member.
    """
    if on_damage is None:
        yield from _inflate_pieces(
            file, path=path, strict=strict, workers=workers, prefix=prefix, start=start
        )
        return
    at, head = start, prefix
    while True:
        try:
            yield from _inflate_pieces(
                file, path=path, strict=strict, workers=workers, prefix=head, start=at
            )
            return
        except CompressedStreamError as error:
            damaged = error.compressed_offset or at
            if error.partial:
                yield damaged, error.partial
            file.seek(damaged + 1)
            window = file.read(LARGEST_WHOLE_MEMBER)
            found = None
            base = damaged + 1
            while window:
                found = find_member(window)
                if found is not None:
                    break
                base += max(1, len(window) - 64)
                file.seek(base)
                window = file.read(LARGEST_WHOLE_MEMBER)
                if len(window) <= 64:
                    break
            if found is None:  # nothing to resume at: the reader reports it as the end
                raise
            resume = base + found
            on_damage(error, resume)
            file.seek(resume)
            at, head = resume, b""


def _inflate_pieces(
    file: BinaryIO,
    *,
    path: str,
    strict: bool,
    workers: int,
    prefix: bytes,
    start: int,
) -> Generator[tuple[int, bytes], None, None]:
    source = _Input(file, prefix, start)
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    pending: deque[tuple[int, Future[bytes]]] = deque()
    sizes: deque[int] = deque()  # compressed size of each pending member
    in_flight = 0
    try:
        while True:
            busy = len(pending) >= 2 * workers or in_flight > IN_FLIGHT_BYTES
            if pending and (busy or not source.fill(1)):
                begin, future = pending.popleft()
                in_flight -= sizes.popleft()
                yield begin, _result(future, path, begin)
                continue
            if not source.fill(HEADER_BYTES):
                if pending:
                    continue
                return
            begin = source.at
            try:
                header = _header_at(source, path, strict)
            except CompressedStreamError:
                while pending:  # every member before the damage first
                    early, future = pending.popleft()
                    yield early, _result(future, path, early)
                raise
            if header is None:  # a cut header at the end (lenient: ignored)
                while pending:
                    early, future = pending.popleft()
                    yield early, _result(future, path, early)
                return
            size = header.member_bytes
            stream = header.stream_bytes or 0
            whole = size is not None and max(size, stream) <= LARGEST_WHOLE_MEMBER
            if whole and size is not None and source.fill(size) and len(source.buf) >= size:
                member = source.take(size)
                if pool is None:
                    yield begin, _inflate_or_fail(member, header, path, begin)
                else:
                    job = pool.submit(_inflate_or_fail, member, header, path, begin)
                    pending.append((begin, job))
                    sizes.append(size)
                    in_flight += size
                continue
            while pending:  # keep the order: earlier members first
                early, future = pending.popleft()
                yield early, _result(future, path, early)
            sizes.clear()
            in_flight = 0
            yield from _inflate_streaming(source, path=path, strict=strict, begin=begin)
    finally:
        if pool is not None:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True)


def _result(future: Future[bytes], path: str, begin: int) -> bytes:
    return future.result()


def _fail(detail: str, path: str, offset: int, **extra: Any) -> CompressedStreamError:
    return CompressedStreamError(
        detail,
        codec="GZIP",
        path=path,
        compressed_offset=offset,
        **extra,
    )


def _header_at(source: _Input, path: str, strict: bool) -> MemberHeader | None:
    want = HEADER_BYTES
    while True:
        try:
            header = parse_header(source.buf)
        except ValueError as error:
            raise _fail(f"GZIP stream is damaged ({error})", path, source.at) from None
        if header is not None:
            return header
        if source.eof or len(source.buf) > (1 << 20) + want:
            if strict:
                raise _fail(
                    "GZIP stream ends inside a member header: the file was cut short",
                    path,
                    source.at,
                    hint="records before the cut can be read with strict=False",
                    params=("strict",),
                )
            return None
        want = len(source.buf) + PIECE
        source.fill(want)


def _inflate_or_fail(member: bytes, header: MemberHeader, path: str, begin: int) -> bytes:
    try:
        out = inflate_member(member, header)
    except ValueError as error:
        failure = _fail(f"GZIP stream is damaged ({error})", path, begin)
        failure.partial = _what_inflates(member, header)
        raise failure from None
    if header.stream_bytes is not None and len(out) != header.stream_bytes:
        raise _fail("GZIP member holds other bytes than its size field says", path, begin)
    return out


def _what_inflates(member: bytes, header: MemberHeader) -> bytes:
    """What a damaged member still inflates to, up to the damage (salvage keeps it)."""
    inflater = decompressor_raw()
    out: list[bytes] = []
    body = memoryview(member)[header.header_bytes :]
    for at in range(0, len(body), 16 << 10):
        try:
            out.append(inflater.decompress(body[at : at + (16 << 10)]))
        except ZLIB_ERRORS:
            break
        if inflater.eof:
            break
    return b"".join(out)


def _inflate_streaming(
    source: _Input, *, path: str, strict: bool, begin: int
) -> Iterator[tuple[int, bytes]]:
    """One member of any gzip writer, header to trailer, in pieces of at most PIECE bytes."""
    inflater = decompressor(Compression.GZIP)
    yielded = False
    while True:
        if not source.buf and not source.fill(PIECE):
            break
        data = source.buf
        try:
            out = inflater.decompress(data, PIECE)
        except ZLIB_ERRORS as error:
            raise _fail(f"GZIP stream is damaged ({error})", path, source.at) from None
        if inflater.eof:
            rest = len(inflater.unused_data) + len(inflater.unconsumed_tail)
            source.take(len(data) - rest)
            yield begin, out
            return
        source.take(len(data) - len(inflater.unconsumed_tail))
        if out or not yielded:
            yielded = True
            yield begin, out
    try:
        out = inflater.flush()
    except ZLIB_ERRORS as error:
        raise _fail(f"GZIP stream is damaged ({error})", path, source.at) from None
    if out:
        yield begin, out
    if not inflater.eof and strict:
        raise _fail(
            "GZIP stream ends without its end marker: the file was cut short",
            path,
            source.at,
            hint="records before the cut can be read with strict=False",
            params=("strict",),
        )


__all__ = [
    "DEFAULT_MEMBER_BYTES",
    "GZIP_MAGIC",
    "HEADER_BYTES",
    "MemberHeader",
    "default_workers",
    "encode_member",
    "find_member",
    "inflate_member",
    "inflate_pieces",
    "parse_header",
]
