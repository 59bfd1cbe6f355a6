"""One exception tree for everything recordio raises.

Every error carries where it happened (file, record index, byte offset in the record stream and,
for compressed files, roughly where in the compressed file) so that a user can find the damage
with a hex editor and a tool can report it without parsing the message. `kind` is a short stable
name for reports; `params` lists the Python parameters the message names, so that a command-line
front end can say `--max-record-bytes` where the library says `max_record_bytes`.
"""

from __future__ import annotations

from typing import Any


class StructuredError(Exception):
    """What every error of recio's libraries carries, whatever the package: `str()` is one line
    (where: what; what to do), `kind` a short stable name for reports, `params` the Python
    parameters the message names. pipeline's and models' trees grow from here too."""

    def __init__(
        self,
        detail: str,
        *,
        path: str | None = None,
        hint: str | None = None,
        params: tuple[str, ...] = (),
    ) -> None:
        self.detail = detail
        self.path = path
        self.hint = hint
        self.params = params
        super().__init__(detail)

    @property
    def kind(self) -> str:
        """A short stable name of what failed, for JSON reports."""
        return "error"

    def where(self) -> str:
        """Where inside `path` (a record, a byte), when that is known."""
        return ""

    def __str__(self) -> str:
        parts = [part for part in (self.path, self.where()) if part]
        text = ": ".join([*parts, self.detail])
        return f"{text}; {self.hint}" if self.hint else text


class RecordIOError(StructuredError):
    """Base of every recordio error; `str()` is one line: where, what, what to do."""

    def __init__(
        self,
        detail: str,
        *,
        path: str | None = None,
        index: int | None = None,
        offset: int | None = None,
        compressed_offset: int | None = None,
        hint: str | None = None,
        params: tuple[str, ...] = (),
    ) -> None:
        self.index = index
        self.offset = offset
        self.compressed_offset = compressed_offset
        super().__init__(detail, path=path, hint=hint, params=params)

    def where(self) -> str:
        parts = []
        if self.index is not None:
            parts.append(f"record {self.index}")
        if self.offset is not None:
            stream = " of the uncompressed stream" if self.compressed_offset is not None else ""
            parts.append(f"at byte {self.offset}{stream}")
        if self.compressed_offset is not None:
            parts.append(f"(compressed byte ~{self.compressed_offset})")
        return " ".join(parts)


class CorruptRecordError(RecordIOError):
    """A checksum did not match: the bytes on disk are not the bytes that were written."""

    def __init__(self, detail: str, *, part: str, stored: int, computed: int, **where: Any) -> None:
        self.part = part
        self.stored = stored
        self.computed = computed
        super().__init__(detail, **where)

    @property
    def kind(self) -> str:
        return f"corrupt_{self.part}"


class TruncatedRecordError(RecordIOError):
    """The file ends inside a record (header, data or footer)."""

    def __init__(self, detail: str, *, part: str, have: int, need: int, **where: Any) -> None:
        self.part = part
        self.have = have
        self.need = need
        super().__init__(detail, **where)

    @property
    def kind(self) -> str:
        return f"truncated_{self.part}"


class RecordTooLargeError(RecordIOError):
    """A length field claims more than the limit or more than the file holds (often a forgery)."""

    def __init__(self, detail: str, *, claimed: int, limit: int, **where: Any) -> None:
        self.claimed = claimed
        self.limit = limit
        super().__init__(detail, **where)

    @property
    def kind(self) -> str:
        return "too_large"


class CompressedStreamError(RecordIOError):
    """The GZIP/ZLIB stream is damaged, or ends without its end marker and trailer."""

    def __init__(self, detail: str, *, codec: str, **where: Any) -> None:
        self.codec = codec
        self.partial = b""  # what a damaged gzip member still inflated to (salvage keeps it)
        super().__init__(detail, **where)

    @property
    def kind(self) -> str:
        return "compressed_stream"


class TrailingDataError(RecordIOError):
    """Bytes follow the end of a ZLIB stream (TensorFlow drops them silently)."""

    @property
    def kind(self) -> str:
        return "trailing_data"


class CompressionError(RecordIOError, ValueError):
    """An unknown compression name, or a file whose bytes contradict the compression given."""

    @property
    def kind(self) -> str:
        return "compression"


class OptionError(RecordIOError, ValueError):
    """A parameter value that cannot work (`shards=0`, a negative limit); `params` names it."""

    @property
    def kind(self) -> str:
        return "option"


class UnknownCompressionError(CompressionError, OptionError):
    """A compression name that is none of NONE, GZIP, ZLIB (a usage error, not damage)."""


class IndexFileError(RecordIOError):
    """An index sidecar (`FILE.idx`) that cannot be used: damaged, or not an index at all."""

    @property
    def kind(self) -> str:
        return "bad_index"


class StaleIndexError(IndexFileError):
    """An index sidecar that no longer matches its file (size, mtime or content changed)."""

    @property
    def kind(self) -> str:
        return "stale_index"


class ConvertError(RecordIOError):
    """Input text that cannot become records: names the input, its line and the key or column."""

    def __init__(self, detail: str, *, line: int | None = None, **where: Any) -> None:
        self.line = line
        super().__init__(detail, **where)

    @property
    def kind(self) -> str:
        return "bad_input"

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.line and f"line {self.line}") if p]
        text = ": ".join([*parts, self.detail])
        return f"{text}; {self.hint}" if self.hint else text


class OutputExistsError(RecordIOError):
    """An output that would replace a file already there (or one of the inputs)."""

    @property
    def kind(self) -> str:
        return "exists"


class UnsafePathError(RecordIOError):
    """A path no file can have (a NUL byte) or one a command must not write to."""

    @property
    def kind(self) -> str:
        return "bad_path"


class WriterClosedError(RecordIOError):
    """write() or flush() after close()."""

    @property
    def kind(self) -> str:
        return "writer_closed"


class ExampleDecodeError(RecordIOError):
    """A record is not a valid serialized tf.train.Example or tf.train.SequenceExample.

    `position` is the byte offset inside the serialized message; `path`/`index`/`offset` stay free
    for a caller that knows which file and record the bytes came from.
    """

    def __init__(self, detail: str, *, position: int | None = None, **where: Any) -> None:
        self.position = position
        super().__init__(detail, **where)

    @property
    def kind(self) -> str:
        return "bad_example"

    def __str__(self) -> str:
        if self.path is None and self.index is None and self.offset is None:
            return f"{self.detail}; {self.hint}" if self.hint else self.detail
        return super().__str__()
