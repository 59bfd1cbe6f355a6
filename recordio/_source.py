"""Byte sources for the reader: the record stream of a plain or compressed file, in chunks.

A source hands out the *uncompressed* record stream in bounded pieces, so neither a forged
length field nor a decompression bomb can make the reader allocate more than it asked for.
"""

from __future__ import annotations

from typing import BinaryIO

from recordio.compression import ZLIB_ERRORS, Compression, decompressor
from recordio.errors import CompressedStreamError, TrailingDataError

CHUNK = 4 << 20
IN_CHUNK = 1 << 20
OUT_CHUNK = 1 << 20


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
    ) -> None:
        self._file = file
        self._compression = compression
        self._path = path
        self._strict = strict
        self._inflater = decompressor(compression)
        self._tail = prefix
        self._fed = 0  # compressed bytes handed to the inflater so far
        self._started = False
        self._done = False

    @property
    def compressed_offset(self) -> int:
        return self._fed - len(self._tail)

    def _fail(self, detail: str, hint: str | None = None) -> CompressedStreamError:
        return CompressedStreamError(
            detail,
            codec=self._compression.value,
            path=self._path,
            compressed_offset=self.compressed_offset,
            hint=hint,
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
        while got < n and not self._done:
            piece = self._step(max(1, min(OUT_CHUNK, n - got)))
            if piece:
                pieces.append(piece)
                got += len(piece)
        return pieces

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
            if inflater.eof:
                self._tail = inflater.unused_data
                self._next_member()
            else:
                self._finish()
            return out
        self._started = True
        try:
            out = inflater.decompress(self._tail, limit)
        except ZLIB_ERRORS as error:
            raise self._fail(f"{self._compression.value} stream is damaged ({error})") from None
        self._tail = inflater.unconsumed_tail
        if inflater.eof:
            self._tail = inflater.unused_data + self._tail
            self._next_member()
        return out

    def _next_member(self) -> None:
        if self._compression is Compression.GZIP:
            if not self._tail and not self._more_input():
                self._done = True
                return
            # Another gzip member follows (or garbage, which the new inflater rejects).
            self._inflater = decompressor(self._compression)
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
                hint="the file may be two files joined; use strict=False (--lenient) to ignore it as TF does",
            )

    def _finish(self) -> None:
        self._done = True
        if not self._started:
            return  # an empty file: no records
        if not self._inflater.eof and self._strict:
            raise self._fail(
                f"{self._compression.value} stream ends without its end marker: the file was cut short",
                hint="records before the cut can be read with strict=False (--lenient)",
            )


def open_source(
    file: BinaryIO, compression: Compression, *, path: str, strict: bool, prefix: bytes = b""
) -> PlainSource | InflateSource:
    if compression is Compression.NONE:
        return PlainSource(file, prefix)
    return InflateSource(file, compression, path=path, strict=strict, prefix=prefix)
