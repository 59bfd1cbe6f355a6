"""TFRecordReader: every record of a TFRecord file, checked, in bounded memory.

Records are parsed in batches (by the C accelerator when built) from large chunks, which is what
makes a Python reader keep up with TensorFlow's C++ one. Both CRCs are checked by default.
Strict mode (the default) reports the truncations TensorFlow is silent about; `strict=False` reads
exactly what TF would.
"""

from __future__ import annotations

import codecs
import io
import operator
import os
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from recordio import _backend
from recordio._framing import (
    FOOTER,
    HEADER,
    MAX_LENGTH,
    STOP_BATCH,
    STOP_DATA_CRC,
    STOP_NEED,
    mask,
    scan_error,
)
from recordio._members import default_workers
from recordio._salvage import Damage, Salvage
from recordio._source import CHUNK, PlainSource, open_source
from recordio.compression import (
    ZLIB_ERRORS,
    Compression,
    CompressionLike,
    decompressor,
    detect,
    looks_like_tfrecord,
)
from recordio.errors import (
    CompressionError,
    OptionError,
    RecordIOError,
    TruncatedRecordError,
)
from recordio.outputs import check_path
from recordio.paths import open_read

DEFAULT_MAX_RECORD_BYTES = 256 << 20
LARGE_RECORD = 1 << 20
PathOrFile = str | os.PathLike[str] | BinaryIO


def _read_head(file: BinaryIO) -> bytes:
    """The first HEADER bytes (fewer only at the end): a raw pipe may return short reads."""
    head = file.read(HEADER)
    while 0 < len(head) < HEADER:
        more = file.read(HEADER - len(head))
        if not more:
            break
        head += more
    return head


def _name_of(source: PathOrFile) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


class TFRecordReader:
    """Iterate over the records of one TFRecord file.

    Args:
        source: a path, or a binary file object (e.g. `sys.stdin.buffer`).
        compression: NONE/GZIP/ZLIB in any spelling TF accepts, or None to detect it.
        verify: check the length and data CRC of every record (on by default).
        strict: report a partial header at the end, a compressed stream without its trailer and
            data after a ZLIB stream, which TF ignores; False reads what TF reads.
        max_record_bytes: refuse records claiming more than this (a forged length field).
        start_offset: start at this offset of the (uncompressed) record stream, e.g. a saved
            `reader.offset`; it must be the start of a record.
        on_damage: None to raise at the first problem; a callable to salvage instead: it gets a
            `Damage` for each damaged region and reading carries on at the next intact record.
        workers: threads inflating the members of a GZIP file recio wrote (default: the usable
            cores, at most 8); other compressed files are one stream, inflated in order.
    """

    def __init__(
        self,
        source: PathOrFile,
        compression: CompressionLike = None,
        *,
        verify: bool = True,
        strict: bool = True,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        start_offset: int = 0,
        on_damage: Callable[[Damage], None] | None = None,
        workers: int | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise OptionError(f"workers must be >= 1, got {workers}", params=("workers",))
        if max_record_bytes < 0:
            raise OptionError(
                f"max_record_bytes must be >= 0, got {max_record_bytes}",
                params=("max_record_bytes",),
            )
        if start_offset < 0:
            raise OptionError(
                f"start_offset must be >= 0, got {start_offset}", params=("start_offset",)
            )
        self.path = _name_of(source)
        self.verify = verify
        self.strict = strict
        self.max_record_bytes = max_record_bytes
        self._salvage = Salvage(on_damage, max_record_bytes) if on_damage is not None else None
        requested = Compression.parse(compression)
        if isinstance(source, (str, os.PathLike)):
            check_path(os.fspath(source))
            self._file: BinaryIO = open_read(source)  # closed in close(); URLs via fsspec
            self._owns_file = True
        else:
            self._file = source
            self._owns_file = False
        try:
            head = _read_head(self._file)
            self._head = bytes(head[:256])
            self.compression = self._resolve(requested, head)
        except BaseException:
            self.close()
            raise
        self._source = open_source(
            self._file,
            self.compression,
            path=self.path,
            strict=strict,
            prefix=head,
            workers=default_workers() if workers is None else workers,
            on_damage=self._compressed_damage if self._salvage is not None else None,
        )
        self._origin = 0  # file position of the stream's first byte (seekable plain files)
        self._file_size = self._size_of_plain_file(len(head))
        self._seekable_plain = self._file_size is not None
        self._offset = 0
        self._index = 0
        self._started = False
        self._start_offset = start_offset
        # The batch __iter__ is handing out, and what is left of it: `offset` and `index` are
        # per record even though records are parsed (and _offset/_index kept) per batch.
        self._batch: list[bytes] = []
        self._batch_left: Iterator[bytes] | None = None

    # -- public state -------------------------------------------------------------------
    @property
    def offset(self) -> int:
        """Offset in the record stream of the next record: pass it as `start_offset` to resume."""
        left = self._left_in_batch()
        if not left:
            return self._offset
        return self._offset - (HEADER + FOOTER) * left - sum(map(len, self._batch[-left:]))

    @property
    def index(self) -> int:
        """How many records this reader has passed, counted from where it started: those it
        returned, plus damaged records that salvage (`on_damage`) skipped whole."""
        return self._index - self._left_in_batch()

    def _left_in_batch(self) -> int:
        return 0 if self._batch_left is None else operator.length_hint(self._batch_left)

    # -- set-up -----------------------------------------------------------------------------
    def _resolve(self, requested: Compression | None, head: bytes) -> Compression:
        sniffed = detect(head)
        if requested is None:
            return sniffed
        if requested is Compression.NONE and sniffed is not Compression.NONE:
            raise CompressionError(
                f"compression NONE was given but the file looks {sniffed.value}-compressed",
                path=self.path,
                offset=0,
                hint=f"pass compression {sniffed.value} or leave it out to detect it",
                params=("compression",),
            )
        if requested is not Compression.NONE and looks_like_tfrecord(head):
            raise CompressionError(
                f"compression {requested.value} was given but the file is an uncompressed TFRecord",
                path=self.path,
                offset=0,
                hint="pass compression NONE or leave it out to detect it",
                params=("compression",),
            )
        if requested is not Compression.NONE and head:
            try:  # a wrong codec fails on its header; say so plainly
                decompressor(requested).decompress(head, 1)
            except ZLIB_ERRORS:
                found = "" if sniffed is Compression.NONE else f" (it looks {sniffed.value})"
                raise CompressionError(
                    f"compression {requested.value} was given but the file is not"
                    f" {requested.value}-compressed{found}",
                    path=self.path,
                    offset=0,
                    hint="leave the compression out to detect it",
                    params=("compression",),
                ) from None
        return requested

    def _size_of_plain_file(self, head: int) -> int | None:
        """Bytes in the record stream of a plain, seekable file (None: unknown)."""
        if self.compression is not Compression.NONE:
            return None
        # fstat describes only an OS-level file, not a wrapper such as gzip.GzipFile or a tar
        # member that hands out a fileno() of the file it reads from.
        if not isinstance(getattr(self._file, "raw", self._file), io.FileIO):
            return None
        try:
            if not self._file.seekable():
                return None
            size = os.fstat(self._file.fileno()).st_size
            self._origin = self._file.tell() - head
        except (OSError, AttributeError, io.UnsupportedOperation):
            return None
        return size - self._origin

    # -- iteration --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[bytes]:
        for batch in self.iter_batches():
            self._batch = batch
            self._batch_left = left = iter(batch)
            yield from left
        self._batch_left = None

    def iter_batches(self, max_records: int = 1024) -> Iterator[list[bytes]]:
        """Records in lists of up to `max_records`: much cheaper per record than `__iter__`."""
        if self._started:
            raise RecordIOError("a reader can be iterated only once", path=self.path)
        self._started = True
        try:
            yield from self._batches(max(1, max_records))
        finally:
            self.close()

    def _error_where(self, offset: int) -> dict[str, Any]:
        compressed = self._source.compressed_offset if self._source.compressed else None
        return {
            "path": self.path,
            "index": self._index,
            "offset": offset,
            "compressed_offset": compressed,
        }

    def _skip_to_start(self) -> None:
        target = self._start_offset
        if not target:
            return
        if isinstance(self._source, PlainSource) and self._seekable_plain:
            assert self._file_size is not None
            if target > self._file_size:
                raise RecordIOError(
                    f"start offset {target} is past the end of the record stream",
                    path=self.path,
                )
            self._file.seek(self._origin + target)
            self._source = PlainSource(self._file)
        else:
            left = target
            while left:
                got = len(self._source.read(min(left, CHUNK)))
                if not got:
                    raise RecordIOError(
                        f"start offset {target} is past the end of the record stream",
                        path=self.path,
                    )
                left -= got
        self._offset = target

    def _batches(self, max_records: int) -> Iterator[list[bytes]]:
        self._skip_to_start()
        scan = _backend.scan
        big_crc = _backend.big_crc
        verify = self.verify
        limit = min(self.max_record_bytes, MAX_LENGTH)
        buf = b""
        pos = 0
        base = self._offset  # stream offset of buf[0]
        read_size = CHUNK
        at_end = False  # the source returned all it has (seen only while salvaging)
        while True:
            before = pos
            records, pos, status, a, b = scan(buf, pos, verify, limit, max_records, big_crc)
            if records:
                self._close_damage(base + before)
                self._index += len(records)
                self._offset = base + pos
                yield records
            if status == STOP_BATCH:
                continue
            # Salvage skips a record whose data CRC failed only if a header follows it: when buf
            # ends before that header, read on first, so chunk boundaries never change the result.
            skip_end = self._salvage.skip_end(status, buf, pos) if self._salvage else None
            lookahead = skip_end is not None and len(buf) - skip_end < HEADER and not at_end
            if status != STOP_NEED and not lookahead:
                error = self._damage_error(status, a, b, base + pos)
                pos = self._salvage_at(error, buf, pos, base, skip_end)
                continue
            if lookahead and skip_end is not None:
                need = skip_end + HEADER - pos
            else:
                need = max(a, HEADER)
                too_long = self._past_end_of_file(a, base + pos)
                if too_long is not None:
                    if self._resyncing:  # a false header found while resyncing
                        pos = self._resync(buf, pos + 1)
                        continue
                    if self._salvage is not None and isinstance(self._source, PlainSource):
                        # A damaged length can point past the end while intact records follow.
                        pos = self._salvage_at(too_long, buf, pos, base, None)
                        continue
                    self._fail_or_report(too_long, None)
                    return
            large = a > LARGE_RECORD and not self._resyncing and not lookahead
            if large and self._source.compressed and need == a:
                try:
                    record, rest = self._read_large_compressed(buf, pos, base, a)
                except RecordIOError as error:  # a damaged compressed stream: nothing after it
                    if error.offset is None:
                        error.index, error.offset = self._index, base + pos
                    self._fail_or_report(error, None)
                    return
                base, buf, pos = base + pos + a, rest, 0
                if record is None:
                    if self._stopped:
                        return
                    continue
                self._close_damage(base - a)
                self._index += 1
                self._offset = base
                yield [record]
                continue
            if large and isinstance(self._source, PlainSource):
                record = self._read_large_record(buf, pos, base, a)
                base, buf, pos = base + pos + a, b"", 0
                if record is None:
                    if self._stopped:
                        return
                    continue
                self._close_damage(base - a)
                self._index += 1
                self._offset = base
                read_size = HEADER  # large records tend to come in runs
                yield [record]
                continue
            have = len(buf) - pos
            pieces = [buf[pos:]] if have else []
            try:
                while have < need:
                    more = self._source.read_pieces(max(read_size, need - have))
                    if not more:
                        break
                    pieces.extend(more)
                    have += sum(map(len, more))
            except RecordIOError as error:  # a damaged compressed stream: nothing after it
                if error.offset is None:
                    error.index, error.offset = self._index, base + pos
                self._fail_or_report(error, None)
                return
            read_size = CHUNK
            base += pos
            pos = 0
            buf = b"".join(pieces) if len(pieces) != 1 else pieces[0]
            if have >= need:
                continue
            if lookahead:  # the file ends within a header's length after the damaged record
                at_end = True
                continue
            if self._resyncing:
                if a and have > 1:  # a header found while resyncing, cut by the end: look on
                    pos = self._resync(buf, 1)
                    continue
                self._close_damage(base + have)  # the damaged region runs to the end
                return
            if have and self._salvage is not None and a and have > HEADER:
                # A valid header whose length runs past the end: its length may be what was
                # damaged, with intact records after it. Resync inside it before giving up.
                cut = self._truncation(have, base, a)
                pos, _ = self._salvage.recover(
                    cut, buf, 0, base, None, self._index, header_must_follow=True
                )
                at_end = True
                continue
            if have:
                self._end_inside_record(have, base, a)
            return

    # -- errors and salvage -----------------------------------------------------------------
    _stopped = False

    @property
    def _resyncing(self) -> bool:
        return self._salvage is not None and self._salvage.resyncing

    def _resync(self, buf: bytes, start: int) -> int:
        assert self._salvage is not None
        return self._salvage.resync(buf, start)

    def _compressed_damage(self, error: RecordIOError, resume: int | None) -> None:
        """Salvage: the compressed stream is damaged; reading resumes at compressed byte
        `resume` (the next gzip member), or nowhere."""
        assert self._salvage is not None
        self._salvage.report_compressed(error, self._index, self._offset, resume)

    def _close_damage(self, end: int | None) -> None:
        if self._salvage is not None:
            self._salvage.close(end)

    def _past_end_of_file(self, need: int, offset: int) -> RecordIOError | None:
        """A record longer than what is left of a plain file: say so before reading it."""
        if self._file_size is None or not need:
            return None
        left = self._file_size - offset
        if need <= left:
            return None
        part = "footer" if left >= need - FOOTER else "data"
        return TruncatedRecordError(
            f"file ends inside a record ({left} of {need} bytes, cut in its {part})",
            part=part,
            have=left,
            need=need,
            hint="the file was cut short, or the record's length field is forged",
            **self._error_where(offset),
        )

    def _not_records_hint(self, otherwise: str | None = "is this a TFRecord file?") -> str | None:
        """What to say when the very first record header is wrong: often not TFRecords at all."""
        head = getattr(self, "_head", b"")
        try:  # not final: the head may end inside a character
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            text = ""
        if text and all(c.isprintable() or c in "\r\n\t" for c in text):
            return "this looks like a text file, not TFRecords; recio write turns text into records"
        return otherwise

    def _damage_error(self, status: int, a: int, b: int, offset: int) -> RecordIOError:
        first = offset == 0 and self._index == 0
        hint = self._not_records_hint() if first else "the length field or its CRC is damaged"
        return scan_error(
            status, a, b, limit=self.max_record_bytes, length_hint=hint or "",
            **self._error_where(offset),
        )  # fmt: skip

    def _fail_or_report(self, error: RecordIOError, end: int | None) -> None:
        """Raise an error nothing can be read past, or (salvaging) report it and stop."""
        if self._salvage is None:
            raise error
        self._salvage.give_up(error, end, self._index)
        self._stopped = True

    def _salvage_at(
        self, error: RecordIOError, buf: bytes, pos: int, base: int, skip_end: int | None
    ) -> int:
        """Raise the error, or (salvaging) report it and return where reading carries on."""
        if self._salvage is None:
            raise error
        pos, skipped = self._salvage.recover(error, buf, pos, base, skip_end, self._index)
        self._index += skipped
        return pos

    def _truncation(self, have: int, base: int, need: int) -> RecordIOError:
        part = "footer" if have >= need - FOOTER else "data"
        return TruncatedRecordError(
            f"file ends inside a record ({have} of {need} bytes, cut in its {part})",
            part=part,
            have=have,
            need=need,
            hint="the file was cut short",
            **self._error_where(base),
        )

    def _end_inside_record(self, have: int, base: int, need: int) -> None:
        where = self._error_where(base)
        if need == 0 and have < HEADER:
            if not self.strict:
                return  # TF treats a partial header at the end as a clean end
            first = base == 0 and self._index == 0 and self.compression is Compression.NONE
            first = first and self._not_records_hint(None) is not None
            error: RecordIOError = TruncatedRecordError(
                f"file ends inside a record header ({have} of {HEADER} bytes)",
                part="header",
                have=have,
                need=HEADER,
                hint=self._not_records_hint(None)
                if first
                else "the file was cut short; strict=False ignores this as TF does",
                params=("strict",),
                **where,
            )
        else:
            error = self._truncation(have, base, need)
        self._fail_or_report(error, base + have)

    def _read_large_compressed(
        self, buf: bytes, pos: int, base: int, need: int
    ) -> tuple[bytes | None, bytes]:
        """Inflate one large record straight into its final bytes object: peak memory is the
        record plus a few MiB of pieces, instead of three copies of it.

        Returns the record (None after damage that was reported) and the stream bytes after it.
        """
        length = need - HEADER - FOOTER
        start = pos + HEADER
        # A BytesIO grows its one bytes object in place (realloc) and getvalue() hands that same
        # object back: no second copy of the record is made, and a forged length costs only
        # the bytes that really follow.
        sink = io.BytesIO()
        sink.write(buf[start : start + length])
        got = min(length, len(buf) - start)
        tail = buf[start + length :]
        del buf
        while got < length:
            pieces = self._source.read_pieces(min(length - got, 1 << 20))
            if not pieces:
                break
            for i, piece in enumerate(pieces):
                room = length - got
                if len(piece) > room:  # a source may hand out a little more than asked
                    sink.write(piece[:room])
                    tail = b"".join([piece[room:], *pieces[i + 1 :]])
                    got = length
                    break
                sink.write(piece)
                got += len(piece)
        while len(tail) < FOOTER and got == length:
            more = self._source.read(FOOTER - len(tail))
            if not more:
                break
            tail += more
        if got < length or len(tail) < FOOTER:
            self._end_inside_record(HEADER + got + len(tail), base + pos, need)
            self._stopped = True
            return None, b""
        data = sink.getvalue()
        del sink
        footer, rest = tail[:FOOTER], tail[FOOTER:]
        if not self._large_data_ok(data, footer, base + pos, need):
            return None, rest
        return data, rest

    def _large_data_ok(self, data: bytes, footer: bytes, offset: int, need: int) -> bool:
        """Check a large record's data CRC: raise, or (salvaging) report and skip it."""
        if not self.verify:
            return True
        crc = _backend.big_crc or _backend.crc32c
        computed = mask(crc(data))
        stored = int.from_bytes(footer, "little")
        if computed == stored:
            return True
        error = self._damage_error(STOP_DATA_CRC, stored, computed, offset)
        if self._salvage is None:
            raise error
        self._salvage.close(offset)
        self._salvage.report(error, offset + need, self._index)
        self._index += 1
        return False

    def _read_large_record(self, buf: bytes, pos: int, base: int, need: int) -> bytes | None:
        """Read one large record straight from the file: one copy instead of three."""
        length = need - HEADER - FOOTER
        held = len(buf) - pos - HEADER  # bytes of its data (and maybe footer) already in buf
        source = self._source
        assert isinstance(source, PlainSource)
        if held and self._seekable_plain:
            self._file.seek(self._origin + base + pos + HEADER)
            self._source = source = PlainSource(self._file)
            held = 0
        # A seekable file's size was checked against the length already; a pipe's was not.
        trusted = self._seekable_plain
        if held == 0:
            data = source.read_exact(length, trusted=trusted)
            footer = source.read_exact(FOOTER)
        else:
            data = buf[pos + HEADER : pos + HEADER + length]
            footer = buf[pos + HEADER + length :]
            if len(data) < length:
                data += source.read_exact(length - len(data), trusted=trusted)
            footer += source.read_exact(FOOTER - len(footer))
        if len(data) < length or len(footer) < FOOTER:
            self._end_inside_record(HEADER + len(data) + len(footer), base + pos, need)
            self._stopped = True
            return None
        if not self._large_data_ok(data, footer, base + pos, need):
            return None
        return data

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        closing = getattr(getattr(self, "_source", None), "close", None)
        if closing is not None:
            closing()
        if getattr(self, "_owns_file", False) and not self._file.closed:
            self._file.close()

    def __enter__(self) -> TFRecordReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_records(
    source: PathOrFile, compression: CompressionLike = None, **options: Any
) -> Iterator[bytes]:
    """Yield the records of one file; see TFRecordReader for the options."""
    reader = TFRecordReader(source, compression, **options)
    yield from reader


__all__ = ["DEFAULT_MAX_RECORD_BYTES", "Damage", "TFRecordReader", "read_records"]
