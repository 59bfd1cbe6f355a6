"""Byte sources for the reader: the record stream of a plain or compressed file, in chunks.

A source hands out the *uncompressed* record stream in bounded pieces, so neither a forged
length field nor a decompression bomb can make the reader allocate more than it asked for.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import BinaryIO

from recordio.compression import ZLIB_ERRORS, Compression, crc32, decompressor, decompressor_raw
from recordio.errors import CompressedStreamError, RecordIOError, TrailingDataError

DamageHook = Callable[[RecordIOError, "int | None"], None]
"""Salvage: told of damage in a compressed stream and where reading resumes (None: nowhere)."""
TRAILER = 8  # a gzip member's CRC32 and ISIZE
CHUNK = 4 << 20
IN_CHUNK = 1 << 20
OUT_CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b\x08"  # ID1, ID2, CM = deflate
MAX_GZIP_HEADER = 1 << 20  # longer names and comments are left to the inflater, in pieces


class PlainSource:
    """An uncompressed file: read() returns up to `n` bytes, b"" at the end."""

    compressed = False

    def __init__(self, file: BinaryIO, prefix: bytes = b"") -> None:
        self._file = file
        self._prefix = prefix

    def read_pieces(self, n: int) -> list[bytes]:
        data = self.read(n)
        return [data] if data else []

    def read(self, n: int) -> bytes:
        if self._prefix:
            head, self._prefix = self._prefix[:n], self._prefix[n:]
            if len(head) == n:
                return head
            return head + self._file.read(n - len(head))
        return self._file.read(n)

    def read_exact(self, n: int, *, trusted: bool = False) -> bytes:
        """`n` bytes, fewer only at the end of the file.

        Raw files and pipes may return short reads, so this loops. Unless `n` is `trusted`
        (checked against the file's size), it reads in CHUNK pieces: a forged length then costs
        no more memory than the bytes that really follow.
        """
        data = self.read(n if trusted else min(n, CHUNK))
        if len(data) == n or not data:
            return data
        pieces = [data]
        got = len(data)
        while got < n:
            piece = self.read(min(n - got, CHUNK))
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    @property
    def compressed_offset(self) -> None:
        return None


class InflateSource:
    """A GZIP or ZLIB stream, inflated in pieces of at most OUT_CHUNK bytes.

    Strict mode requires every stream to end with its end marker and trailer (TF accepts a file cut
    at a record boundary inside the stream: that is how a killed writer's file looks) and rejects
    bytes after a ZLIB stream (TF drops them). Concatenated GZIP members are read as one stream, as
    TF does.
    """

    compressed = True

    def __init__(
        self,
        file: BinaryIO,
        compression: Compression,
        *,
        path: str,
        strict: bool,
        prefix: bytes = b"",
        on_damage: DamageHook | None = None,
    ) -> None:
        self._file = file
        self._compression = compression
        self._path = path
        self._strict = strict
        self._inflater = decompressor(compression)
        self._tail = prefix
        self._fed = len(prefix)  # compressed bytes handed to the inflater so far
        self._started = False
        self._done = False
        # An error found after some output: raised once that output has been handed out, so
        # the reader returns every record before the damage first (as TF does).
        self._error: RecordIOError | None = None
        self._header_checked = compression is not Compression.GZIP
        # GZIP: raw inflate, the header and trailer checked here, so that the output before a
        # failed trailer check is handed out (zlib would raise and keep it).
        self._gzip = compression is Compression.GZIP
        if self._gzip:
            self._inflater = decompressor_raw()
        self._crc = 0
        self._size = 0
        self._on_damage = on_damage

    @property
    def compressed_offset(self) -> int:
        return self._fed - len(self._tail)

    def _fail(
        self, detail: str, hint: str | None = None, params: tuple[str, ...] = ()
    ) -> CompressedStreamError:
        return CompressedStreamError(
            detail,
            codec=self._compression.value,
            path=self._path,
            compressed_offset=self.compressed_offset,
            hint=hint,
            params=params,
        )

    def _more_input(self) -> bool:
        data = self._file.read(IN_CHUNK)
        if not data:
            return False
        self._tail += data
        self._fed += len(data)
        return True

    def read(self, n: int) -> bytes:
        """Up to about n bytes of the stream; b"" at its end."""
        return b"".join(self.read_pieces(n))

    def read_pieces(self, n: int) -> list[bytes]:
        """Pieces adding up to at least n bytes unless the stream ends; [] at its end.

        The caller joins them once with what it already holds, saving a copy of large records.
        """
        pieces: list[bytes] = []
        got = 0
        while got < n:
            if self._done and (self._error is None or not self._salvaged()):
                break
            try:
                piece = self._step(max(1, min(OUT_CHUNK, n - got)))
            except RecordIOError as error:
                self._error = error
                self._done = True
                continue
            if piece:
                pieces.append(piece)
                got += len(piece)
        if not pieces and self._error is not None:
            raise self._error  # only after the bytes before the damage went out; then always
        return pieces

    def _salvaged(self) -> bool:
        """Salvaging a GZIP file: report the damage, carry on at the next gzip member."""
        error = self._error
        if self._on_damage is None or not self._gzip or error is None:
            return False
        if not isinstance(error, CompressedStreamError):
            return False
        from recordio._members import find_member

        while True:
            found = find_member(self._tail, 0)
            if found is not None:
                break
            keep = self._tail[-(MAX_GZIP_HEADER // 16) :] if len(self._tail) > 2 else self._tail
            self._tail = keep
            if not self._more_input():
                found = None
                break
        if found is None:  # nothing to resume at: the reader reports it as the end
            self._tail = b""
            return False
        self._on_damage(error, self._fed - len(self._tail) + found)
        self._error = None
        self._tail = self._tail[found:]
        self._inflater = decompressor_raw()
        self._crc = self._size = 0
        self._header_checked = False
        self._done = False
        return True

    def _end_of_stream(self, out: bytes, check: Callable[[], None]) -> bytes:
        """Run an end-of-stream check; an error it raises waits until `out` is handed out."""
        try:
            check()
        except RecordIOError as error:
            if not out:
                raise
            self._error = error
            self._done = True
        return out

    def _step(self, limit: int) -> bytes:
        inflater = self._inflater
        if not self._tail and not self._more_input():
            out = b""
            if self._started:
                try:  # output zlib still holds after the last input
                    out = inflater.flush()
                except ZLIB_ERRORS as error:
                    raise self._fail(
                        f"{self._compression.value} stream is damaged ({error})"
                    ) from None
            self._count(out)
            if inflater.eof:
                self._tail = inflater.unused_data
                return self._end_of_stream(out, self._member_end)
            return self._end_of_stream(out, self._finish)
        self._started = True
        if not self._header_checked:
            self._check_gzip_header()
            if self._done:
                return b""
            inflater = self._inflater
        try:
            out = inflater.decompress(self._tail, limit)
        except ZLIB_ERRORS as error:
            raise self._fail(f"{self._compression.value} stream is damaged ({error})") from None
        self._tail = inflater.unconsumed_tail
        self._count(out)
        if inflater.eof:
            self._tail = inflater.unused_data + self._tail
            return self._end_of_stream(out, self._member_end)
        return out

    def _count(self, out: bytes) -> None:
        if self._gzip and out:
            self._crc = crc32(out, self._crc)
            self._size += len(out)

    def _member_end(self) -> None:
        """The end of a deflate stream: check a gzip member's trailer, then go on."""
        if self._gzip:
            while len(self._tail) < TRAILER and self._more_input():
                pass
            if len(self._tail) < TRAILER:
                self._done = True
                self._tail = b""
                if self._strict:
                    raise self._fail(
                        "GZIP stream ends without its end marker: the file was cut short",
                        hint="records before the cut can be read with strict=False",
                        params=("strict",),
                    )
                return
            stored_crc, stored_size = struct.unpack_from("<II", self._tail)
            if stored_crc != self._crc:
                raise self._fail("GZIP stream is damaged (incorrect data check)")
            if stored_size != self._size & 0xFFFFFFFF:
                raise self._fail("GZIP stream is damaged (incorrect length check)")
            self._tail = self._tail[TRAILER:]
        self._next_member()

    def _check_gzip_header(self) -> None:
        """Check the fixed start of a gzip member as zlib (and TF) do.

        ISA-L's inflater ignores the reserved FLG bits and says nothing about fewer than 10
        bytes of garbage after a member, both of which zlib rejects.
        """
        from recordio._members import parse_header

        while len(self._tail) < 4 and self._more_input():
            pass
        head = self._tail[:4]
        self._header_checked = True
        if head[:3] != GZIP_MAGIC[: len(head)]:
            raise self._fail("GZIP stream is damaged (incorrect header check)")
        if len(head) == 4 and head[3] & 0xE0:
            raise self._fail("GZIP stream is damaged (unknown header flags set)")
        # The inflater gets the whole header in one piece: ISA-L misreads a header with optional
        # fields (FEXTRA, FNAME, FCOMMENT, FHCRC) that arrives split over two calls.
        while True:
            try:
                header = parse_header(self._tail)
            except ValueError as error:
                raise self._fail(f"GZIP stream is damaged ({error})") from None
            if header is not None:
                self._tail = self._tail[header.header_bytes :]
                return
            if len(self._tail) > MAX_GZIP_HEADER:
                raise self._fail("GZIP stream is damaged (header longer than 1 MiB)")
            if not self._more_input():
                break
        self._done = True  # cut inside the header
        if self._strict:
            raise self._fail(
                "GZIP stream ends without its end marker: the file was cut short",
                hint="records before the cut can be read with strict=False",
                params=("strict",),
            )

    def _next_member(self) -> None:
        if self._compression is Compression.GZIP:
            if not self._tail and not self._more_input():
                self._done = True
                return
            # Another gzip member follows (or garbage, which _check_gzip_header rejects).
            self._inflater = decompressor_raw()
            self._crc = self._size = 0
            self._header_checked = False
            return
        # ZLIB: one stream only; TF silently ignores whatever follows.
        trailing = len(self._tail)
        while not trailing and self._more_input():
            trailing = len(self._tail)
        self._done = True
        if trailing and self._strict:
            raise TrailingDataError(
                "data after the end of the ZLIB stream",
                path=self._path,
                compressed_offset=self._fed - len(self._tail),
                hint="the file may be two files joined; strict=False ignores it as TF does",
                params=("strict",),
            )

    def _finish(self) -> None:
        self._done = True
        if not self._started:
            return  # an empty file: no records
        if not self._inflater.eof and self._strict:
            raise self._fail(
                f"{self._compression.value} stream ends without its end marker:"
                " the file was cut short",
                hint="records before the cut can be read with strict=False",
                params=("strict",),
            )


class MemberSource:
    """A GZIP file written by recio as members with size fields: members are inflated several at
    a time in threads (the inflaters release the GIL), handed out in order."""

    compressed = True

    def __init__(
        self,
        file: BinaryIO,
        *,
        path: str,
        strict: bool,
        prefix: bytes,
        workers: int,
        on_damage: DamageHook | None = None,
    ) -> None:
        from recordio._members import inflate_pieces

        try:
            seekable = file.seekable()
        except (AttributeError, OSError):
            seekable = False
        self._pieces = inflate_pieces(
            file,
            path=path,
            strict=strict,
            workers=workers,
            prefix=prefix,
            on_damage=on_damage if seekable else None,
        )
        self._member = 0
        self._error: RecordIOError | None = None
        self._done = False
        self._left = b""  # the part of a member's output beyond what the last call asked for

    @property
    def compressed_offset(self) -> int:
        return self._member

    def read(self, n: int) -> bytes:
        return b"".join(self.read_pieces(n))

    def read_pieces(self, n: int) -> list[bytes]:
        """Pieces adding up to n bytes (fewer only at the end); [] at the end."""
        pieces: list[bytes] = []
        got = 0
        while got < n:
            if self._left:
                piece, self._left = self._left, b""
            elif self._done:
                break
            else:
                try:
                    self._member, piece = next(self._pieces)
                except StopIteration:
                    self._done = True
                    break
                except RecordIOError as error:
                    self._error = error
                    self._done = True
                    break
            if len(piece) > n - got:  # pieces are at most 8 MiB: the copy is small
                piece, self._left = piece[: n - got], piece[n - got :]
            if piece:
                pieces.append(piece)
                got += len(piece)
        if not pieces and self._error is not None:
            raise self._error
        return pieces

    def close(self) -> None:
        self._pieces.close()


def _has_member_sizes(file: BinaryIO, prefix: bytes) -> bytes | None:
    """The bytes read so far when the file starts with a recio gzip member header (with its
    size field); None (nothing more read) when it cannot."""
    from recordio._members import FEXTRA, HEADER_BYTES, parse_header

    if len(prefix) < 4 or not prefix[3] & FEXTRA:
        return None
    head = prefix
    while len(head) < HEADER_BYTES:
        more = file.read(HEADER_BYTES - len(head))
        if not more:
            break
        head += more
    try:
        header = parse_header(head)
    except ValueError:
        header = None
    if header is None or header.member_bytes is None:
        return head if len(head) > len(prefix) else None  # read on as one stream
    return head


def open_source(
    file: BinaryIO,
    compression: Compression,
    *,
    path: str,
    strict: bool,
    prefix: bytes = b"",
    workers: int = 1,
    on_damage: DamageHook | None = None,
) -> PlainSource | InflateSource | MemberSource:
    if compression is Compression.NONE:
        return PlainSource(file, prefix)
    if compression is Compression.GZIP:
        head = _has_member_sizes(file, prefix)
        if head is not None:
            from recordio._members import parse_header

            try:
                sized = (header := parse_header(head)) is not None and header.member_bytes
            except ValueError:
                sized = False
            if sized:
                return MemberSource(
                    file,
                    path=path,
                    strict=strict,
                    prefix=head,
                    workers=workers,
                    on_damage=on_damage,
                )
            prefix = head
    return InflateSource(
        file, compression, path=path, strict=strict, prefix=prefix, on_damage=on_damage
    )
