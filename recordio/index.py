"""Record index: where each record starts, so a file can be counted in O(1) and read at random.

An index holds the start offset of every record in the (uncompressed) record stream and, for
GZIP, where each gzip member starts in the file and in the stream. It is built by reading the
record headers only (length CRCs checked, data skipped; compressed files must still be inflated)
and may be saved as a small binary sidecar, `FILE.idx`, written atomically. The sidecar records
what it indexes (the file's size, mtime and a hash of its first and last 64 KiB): one that no
longer matches its file raises StaleIndexError and is never used.

Sidecar layout (little endian): `RECIOIDX` · u16 version · u8 codec · u8 0 · u64 file size ·
i64 mtime_ns · 16-byte fingerprint · u64 records · u64 members · (records + 1) u64 record starts
(then the stream's end) · (members + 1) × (u64 compressed, u64 uncompressed) member starts (then
the file's and stream's ends; none for NONE and ZLIB) · u32 CRC-32C of everything before it.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from recordio import _backend, paths
from recordio._framing import (
    FOOTER,
    HEADER,
    MAX_LENGTH,
    STOP_NEED,
    scan_error,
)
from recordio._members import default_workers, inflate_pieces
from recordio._source import InflateSource
from recordio.compression import Compression, CompressionLike, detect
from recordio.errors import (
    IndexFileError,
    OptionError,
    RecordIOError,
    StaleIndexError,
    TruncatedRecordError,
)

INDEX_SUFFIX = ".idx"
MAGIC = b"RECIOIDX"
VERSION = 1
FINGERPRINT_BYTES = 64 << 10
DEFAULT_MAX_RECORD_BYTES = 256 << 20
_CODECS = (Compression.NONE, Compression.GZIP, Compression.ZLIB)
_HEAD = struct.Struct("<8sHBBQq16sQQ")


@dataclass(frozen=True, eq=False)
class RecordIndex:
    """Where the records of one file start, and what file that was.

    `offsets[i]` is the start of record i in the record stream and `offsets[-1]` its end, so
    record i's data is `offsets[i+1] - offsets[i] - 16` bytes. `members[j]` is the
    (compressed, uncompressed) start of gzip member j, and `members[-1]` the two ends.
    """

    path: str
    compression: Compression
    offsets: np.ndarray
    members: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.uint64))
    file_size: int = 0
    mtime_ns: int = 0
    fingerprint: bytes = b""

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """The data length of every record."""
        return np.diff(self.offsets) - np.uint64(HEADER + FOOTER)

    @property
    def member_count(self) -> int:
        return max(0, len(self.members) - 1)

    def to_bytes(self) -> bytes:
        codec = _CODECS.index(self.compression)
        head = _HEAD.pack(
            MAGIC,
            VERSION,
            codec,
            0,
            self.file_size,
            self.mtime_ns,
            self.fingerprint,
            len(self),
            self.member_count,
        )
        body = head + self.offsets.astype("<u8").tobytes()
        if self.member_count:
            body += self.members.astype("<u8").tobytes()
        return body + struct.pack("<I", _backend.crc32c(body))

    @classmethod
    def from_bytes(cls, data: bytes, *, path: str, where: str) -> RecordIndex:
        """Parse a sidecar; IndexFileError for anything that is not an intact index."""
        if len(data) < _HEAD.size + 12 or data[:8] != MAGIC:
            raise IndexFileError(
                "not a recio index file", path=where, hint="remove it, or rebuild: recio index"
            )
        (stored,) = struct.unpack_from("<I", data, len(data) - 4)
        if _backend.crc32c(data[:-4]) != stored:
            raise IndexFileError(
                "index file is damaged (checksum mismatch)",
                path=where,
                hint=f"rebuild it: recio index {path}",
            )
        _, version, codec, _, size, mtime, fingerprint, records, members = _HEAD.unpack_from(data)
        if version != VERSION or codec >= len(_CODECS):
            raise IndexFileError(
                f"index version {version} is not one this recio reads",
                path=where,
                hint=f"rebuild it: recio index {path}",
            )
        at = _HEAD.size
        expected = at + 8 * (records + 1) + (16 * (members + 1) if members else 0) + 4
        if expected != len(data):
            raise IndexFileError("index file has the wrong length", path=where)
        offsets = np.frombuffer(data, "<u8", records + 1, at).astype(np.uint64)
        at += 8 * (records + 1)
        table = np.zeros((0, 2), np.uint64)
        if members:
            table = np.frombuffer(data, "<u8", 2 * (members + 1), at).reshape(-1, 2)
            table = table.astype(np.uint64)
        return cls(path, _CODECS[codec], offsets, table, size, mtime, fingerprint)


def index_path(path: str | os.PathLike[str]) -> str:
    """Where the index sidecar of `path` lives: `path` + `.idx`."""
    return os.fspath(path) + INDEX_SUFFIX


def fingerprint(file: BinaryIO, size: int) -> bytes:
    """A hash of the file's size, first and last 64 KiB: cheap, and changes with most edits."""
    digest = hashlib.blake2b(size.to_bytes(8, "little"), digest_size=16)
    file.seek(0)
    digest.update(file.read(FINGERPRINT_BYTES))
    if size > FINGERPRINT_BYTES:
        file.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
        digest.update(file.read(FINGERPRINT_BYTES))
    file.seek(0)
    return digest.digest()


# -- building -------------------------------------------------------------------------------------
class _HeaderScanner:
    """Record starts from a stream handed in pieces: headers only, data skipped unread."""

    def __init__(self, path: str, limit: int, compressed: bool) -> None:
        self.path = path
        self.limit = limit
        self.compressed = compressed
        self.parts: list[bytes] = []
        self.total = 0  # stream bytes seen so far
        self.next = 0  # stream offset where the next header starts
        self.carry = b""  # the start of a header that a piece boundary cut

    def feed(self, piece: bytes | mmap.mmap) -> None:
        start = self.total
        self.total += len(piece)
        if self.next >= self.total:
            return  # still inside a record's data
        pos = self.next - start
        if self.carry:
            need = HEADER - len(self.carry)
            head = self.carry + bytes(piece[:need])
            if len(head) < HEADER:
                self.carry = head
                return
            self.carry = b""
            starts, end, status, a, b = _backend.scan_headers(head, 0, self.limit, self.next)
            self._check(status, a, b, self.next)
            self.parts.append(starts)
            self.next += end
            if self.next >= self.total:
                return
            pos = self.next - start
        starts, end, status, a, b = _backend.scan_headers(piece, pos, self.limit, start)
        self.parts.append(starts)
        self._check(status, a, b, start + end)
        self.next = start + end
        if end < len(piece):
            self.carry = bytes(piece[end:])

    def _check(self, status: int, a: int, b: int, offset: int) -> None:
        if status == STOP_NEED:
            return
        where = {
            "path": self.path,
            "index": self.count(),
            "offset": offset,
            "compressed_offset": None,
        }
        hint = "is this a TFRecord file?" if offset == 0 else "the file is damaged"
        raise scan_error(status, a, b, limit=self.limit, length_hint=hint, **where)

    def count(self) -> int:
        return sum(len(part) for part in self.parts) // 8

    def finish(self, strict: bool) -> np.ndarray:
        """The record starts and the stream's end; the file must end at a record boundary."""
        if self.next > self.total:
            last = int.from_bytes(self.parts[-1][-8:], "little") if self.count() else 0
            have, need = self.total - last, self.next - last
            part = "footer" if have >= need - FOOTER else "data"
            raise TruncatedRecordError(
                f"file ends inside a record ({have} of {need} bytes, cut in its {part})",
                part=part,
                have=have,
                need=need,
                hint="the file was cut short",
                path=self.path,
                index=self.count() - 1,
                offset=last,
            )
        where = {"path": self.path, "index": self.count(), "offset": self.next}
        end = self.next
        if self.carry and strict:
            raise TruncatedRecordError(
                f"file ends inside a record header ({len(self.carry)} of {HEADER} bytes)",
                part="header",
                have=len(self.carry),
                need=HEADER,
                hint="the file was cut short; strict=False ignores this as TF does",
                params=("strict",),
                **where,
            )
        starts = np.frombuffer(b"".join(self.parts), "<u8").astype(np.uint64)
        return np.append(starts, np.uint64(end))


def build_index(
    path: str | os.PathLike[str],
    compression: CompressionLike = None,
    *,
    strict: bool = True,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    workers: int | None = None,
) -> RecordIndex:
    """Index a file in memory by a header-only scan (compressed files are inflated, members in
    parallel). Raises the reader's typed errors for damage; data CRCs are not checked here."""
    name = os.fspath(path)
    if max_record_bytes < 0:
        raise OptionError(
            f"max_record_bytes must be >= 0, got {max_record_bytes}", params=("max_record_bytes",)
        )
    limit = min(max_record_bytes, MAX_LENGTH)
    with paths.open_read(name) as file:
        size, mtime_ns = before = _signature(file, name)
        stamp = fingerprint(file, size)
        head = file.read(HEADER)
        given = Compression.parse(compression)
        codec = given if given is not None else detect(head)
        file.seek(0)
        scanner = _HeaderScanner(name, limit, codec is not Compression.NONE)
        members: list[tuple[int, int]] = []
        if codec is Compression.NONE:
            if size and not paths.is_url(name):
                with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
                    scanner.feed(view)
            else:
                while piece := file.read(8 << 20):
                    scanner.feed(piece)
        elif codec is Compression.GZIP:
            last = -1
            for begin, piece in inflate_pieces(
                file, path=name, strict=strict, workers=workers or default_workers()
            ):
                if begin != last:
                    members.append((begin, scanner.total))
                    last = begin
                scanner.feed(piece)
        else:
            source = InflateSource(file, codec, path=name, strict=strict)
            while pieces := source.read_pieces(1 << 20):
                for piece in pieces:
                    scanner.feed(piece)
        offsets = scanner.finish(strict)
        after = _signature(file, name)
    if after != before:
        raise RecordIOError("file changed while it was indexed", path=name, hint="index it again")
    table = np.zeros((0, 2), np.uint64)
    if codec is Compression.GZIP:
        members.append((size, int(offsets[-1])))
        table = np.array(members, dtype=np.uint64).reshape(-1, 2)
    return RecordIndex(name, codec, offsets, table, size, mtime_ns, stamp)


def _signature(file: BinaryIO, name: str) -> tuple[int, int]:
    """(size, mtime_ns) of the open file (a local one by its descriptor, so a rename between
    the two looks cannot swap files under us)."""
    if paths.is_url(name):
        return paths.signature(name)
    stat = os.fstat(file.fileno())
    return stat.st_size, stat.st_mtime_ns


# -- the sidecar ----------------------------------------------------------------------------------
def write_index(index: RecordIndex, *, fsync: bool = True) -> str:
    """Save `index` beside its file as `FILE.idx` (local or URL), atomically; returns the
    sidecar's path."""
    from recordio.writer import write_bytes_atomic

    target = index_path(index.path)
    write_bytes_atomic(target, index.to_bytes(), fsync=fsync)
    return target


def load_index(path: str | os.PathLike[str]) -> RecordIndex:
    """The sidecar index of `path`, checked against the file.

    Raises FileNotFoundError when there is none, IndexFileError when it is damaged or foreign,
    StaleIndexError when the file changed since it was written.
    """
    name = os.fspath(path)
    sidecar = index_path(name)
    with paths.open_read(sidecar) as handle:
        data = handle.read()
    index = RecordIndex.from_bytes(data, path=name, where=sidecar)
    with paths.open_read(name) as file:
        size, mtime_ns = _signature(file, name)
        changed = []
        if size != index.file_size:
            changed.append(f"size {index.file_size} -> {size}")
        elif mtime_ns != index.mtime_ns:
            changed.append("modification time")
        elif fingerprint(file, size) != index.fingerprint:
            changed.append("content")
    if changed:
        raise StaleIndexError(
            f"index {sidecar} no longer matches its file ({changed[0]} changed)",
            path=name,
            hint=f"rebuild it: recio index {name}",
        )
    return index


def index_file(
    path: str | os.PathLike[str],
    compression: CompressionLike = None,
    *,
    strict: bool = True,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> RecordIndex:
    """Build the index of `path` and save it as `path.idx` (what `recio index` does)."""
    index = build_index(path, compression, strict=strict, max_record_bytes=max_record_bytes)
    write_index(index)
    return index


def get_index(
    path: str | os.PathLike[str],
    compression: CompressionLike = None,
    *,
    use_sidecar: bool = True,
    strict: bool = True,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> RecordIndex:
    """The sidecar index when there is one (stale: StaleIndexError), else one built in memory."""
    if use_sidecar:
        try:
            return load_index(path)
        except FileNotFoundError:
            if not paths.exists(os.fspath(path)):
                raise
    return build_index(path, compression, strict=strict, max_record_bytes=max_record_bytes)


def count_records(
    path: str | os.PathLike[str],
    compression: CompressionLike = None,
    *,
    use_sidecar: bool = True,
    strict: bool = True,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> int:
    """How many records `path` holds: O(1) with a valid index sidecar; otherwise from recio's
    gzip member headers when every member has one, or a header-only scan."""
    if use_sidecar:
        try:
            return len(load_index(path))
        except FileNotFoundError:
            if not paths.exists(os.fspath(path)):
                raise
    counted = _count_from_member_headers(os.fspath(path), compression)
    if counted is not None:
        return counted
    return len(build_index(path, compression, strict=strict, max_record_bytes=max_record_bytes))


def _count_from_member_headers(path: str, compression: CompressionLike) -> int | None:
    """Sum the record counts of recio's gzip member headers, walking from member to member
    without inflating; None unless every member has one and the chain ends at the file's end."""
    from recordio._members import HEADER_BYTES, parse_header

    given = Compression.parse(compression)
    with paths.open_read(path) as file:
        size = _signature(file, path)[0]
        head = file.read(HEADER_BYTES)
        if (given or detect(head[:HEADER])) is not Compression.GZIP:
            return None
        total, at = 0, 0
        while at < size:
            file.seek(at)
            try:
                header = parse_header(file.read(HEADER_BYTES))
            except ValueError:
                return None
            if header is None or header.member_bytes is None or header.records is None:
                return None
            total += header.records
            at += header.member_bytes
        return total if at == size else None


__all__ = [
    "INDEX_SUFFIX",
    "RecordIndex",
    "build_index",
    "count_records",
    "default_workers",
    "get_index",
    "index_file",
    "index_path",
    "load_index",
    "write_index",
]
