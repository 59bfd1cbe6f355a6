"""Salvage: carry on reading past damage, report each damaged region, never invent a record.

The reader hands every problem it meets to a `Salvage` when one is set (`on_damage=`); without
one it raises the error instead. Salvage decides where reading carries on:

* a record whose data CRC failed but whose header checked out is skipped whole, when a record
  (or the end of the file) follows exactly where its length says it ends;
* anything else opens a damaged region, and the reader resyncs byte by byte at the next position
  whose header CRC checks out (the scan then checks the data CRC too); the region closes at the
  next intact record, or at the end of the file.

Each region reaches the callback once, as a `Damage`, when its end is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recordio import _backend
from recordio._framing import FOOTER, HEADER, MAX_LENGTH, STOP_DATA_CRC, STOP_NEED
from recordio.errors import RecordIOError


@dataclass(frozen=True, slots=True)
class Damage:
    """A damaged region found while salvaging: where it starts and ends in the record stream."""

    index: int
    offset: int
    end: int | None
    kind: str
    message: str
    # Damage in a compressed stream: the compressed bytes skipped (end None: to the end).
    compressed_offset: int | None = None
    compressed_end: int | None = None


class Salvage:
    """The salvage state of one reader: the damaged region it is skipping, if any."""

    def __init__(self, on_damage: Callable[[Damage], None], max_record_bytes: int) -> None:
        self._on_damage = on_damage
        self._limit = min(max_record_bytes, MAX_LENGTH)
        self._open: RecordIOError | None = None
        self._open_index = 0
        # Inside a record whose length ran past the end of the file: a frame found there must be
        # followed by another header. At the very end it may be one embedded in the cut payload.
        self._header_must_follow = False
        self.reports = 0

    @property
    def resyncing(self) -> bool:
        """True while inside a damaged region, looking for the next intact record."""
        return self._open is not None

    def report(self, error: RecordIOError, end: int | None, index: int) -> None:
        """Hand one damaged region, from `error.offset` to `end`, to the callback."""
        self.reports += 1
        self._on_damage(
            Damage(
                index=index,
                offset=error.offset if error.offset is not None else -1,
                end=end,
                kind=error.kind,
                message=str(error),
            )
        )

    def report_compressed(
        self, error: RecordIOError, index: int, offset: int, resume: int | None
    ) -> None:
        """A damaged compressed region, from the error's compressed offset to `resume`."""
        self.reports += 1
        self._on_damage(
            Damage(
                index=index,
                offset=offset,
                end=None,
                kind=error.kind,
                message=str(error),
                compressed_offset=error.compressed_offset,
                compressed_end=resume,
            )
        )

    def close(self, end: int | None) -> None:
        """An intact record (or the end of the file) at `end` closes the open region."""
        if self._open is not None:
            self.report(self._open, end, self._open_index)
            self._open = None
            self._header_must_follow = False

    def give_up(self, error: RecordIOError, end: int | None, index: int) -> None:
        """Nothing can be read past `error` (a cut file, a damaged compressed stream)."""
        self.close(error.offset)
        self.report(error, end, index)

    def skip_end(self, status: int, buf: bytes, pos: int) -> int | None:
        """Where the record at `pos` ends when it may be skipped whole (its data CRC failed, so
        its length CRC held); None in every other case."""
        if status != STOP_DATA_CRC or self._open is not None:
            return None
        return pos + HEADER + int.from_bytes(buf[pos : pos + 8], "little") + FOOTER

    def recover(
        self,
        error: RecordIOError,
        buf: bytes,
        pos: int,
        base: int,
        skip_end: int | None,
        index: int,
        *,
        header_must_follow: bool = False,
    ) -> tuple[int, int]:
        """Where reading carries on after `error` at buf[pos], and how many records it skipped.

        A record whose header checked out (skip_end known) is skipped exactly, unless no record
        follows there: then bytes were lost or added inside it, its length is stale, and a
        damaged region opens instead.
        """
        if self._open is None:
            if skip_end is not None and self._record_may_start(buf, skip_end):
                self.report(error, base + skip_end, index)
                return skip_end, 1
            self._open = error
            self._open_index = index
            self._header_must_follow = header_must_follow
        return self.resync(buf, pos + 1), 0

    def resync(self, buf: bytes, start: int) -> int:
        """The next position in buf that may start an intact record (the scan re-checks it)."""
        scan = _backend.scan
        find = _backend.find_header
        candidate = start - 1
        while (candidate := find(buf, candidate + 1, self._limit)) < len(buf):
            records, after, status, _, _ = scan(
                buf, candidate, True, self._limit, 1, _backend.big_crc
            )
            if status == STOP_NEED and not records:
                return candidate  # a valid header / too few bytes to tell: read on
            if self._header_must_follow:
                follows = len(buf) - after >= HEADER and self._record_may_start(buf, after)
            else:
                follows = self._record_may_start(buf, after, cut_ok=True)
            if records and follows:
                # A whole record followed by another header (or the end of what is read): a
                # frame embedded in a damaged record's payload is followed by neither.
                return candidate
        return len(buf)

    @staticmethod
    def _record_may_start(buf: bytes, pos: int, *, cut_ok: bool = False) -> bool:
        """Whether a record may start at `pos`: a header whose length CRC checks out, or the
        very end of the file (the reader reads on until buf holds a header or the file ends).
        A few stray bytes there say the length is stale (unless `cut_ok`: buf may end there)."""
        if len(buf) - pos < HEADER:
            return len(buf) == pos or cut_ok
        stored = int.from_bytes(buf[pos + 8 : pos + HEADER], "little")
        return _backend.masked_crc32c(buf[pos : pos + 8]) == stored


__all__ = ["Damage", "Salvage"]
