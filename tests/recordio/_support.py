"""Helpers shared by the recordio core tests: reference records, an independent framing oracle,
in-memory read/write, and a switch between the framing backends."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import google_crc32c
import pytest

from recordio import RecordIOError, TFRecordReader, TFRecordWriter

# The reference file of FORMAT.md §1: three records of 14, 17 and 16 bytes, 95 bytes framed,
# records starting at 0, 30 and 63.
RECORDS: tuple[bytes, ...] = (b"record zero 14", b"the first record!", b"record number: 2")
BOUNDARIES = (0, 30, 63, 95)
CODECS = ("NONE", "GZIP", "ZLIB")
# "c": the C accelerator; "python": pure-Python framing with google-crc32c; "table": pure Python
# with the table-driven CRC (what runs when nothing optional is installed; slow, small inputs only).
BACKENDS = ("c", "python", "table")


def masked(data: bytes) -> int:
    """TFRecord's masked CRC-32C, written independently of recordio (FORMAT.md §3.1)."""
    crc = google_crc32c.value(bytes(data))
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def header(length: int) -> bytes:
    """A 12-byte record header for `length` whose length CRC is valid (0 <= length < 2**64)."""
    field = struct.pack("<Q", length)
    return field + struct.pack("<I", masked(field))


def frame(records: Iterable[bytes]) -> bytes:
    """Oracle framing: what TF writes for these records, uncompressed."""
    return b"".join(
        header(len(r)) + bytes(r) + struct.pack("<I", masked(bytes(r))) for r in records
    )


def starts(records: Iterable[bytes]) -> list[int]:
    """Offsets of every record start plus the end of the stream."""
    offsets = [0]
    for record in records:
        offsets.append(offsets[-1] + 16 + len(record))
    return offsets


def encode(
    records: Iterable[bytes],
    compression: str = "NONE",
    *,
    level: int | None = 6,
    member_bytes: int | None = None,
) -> bytes:
    """Records written by TFRecordWriter into memory (member_bytes=0: one gzip stream, as TF)."""
    out = io.BytesIO()
    options = {} if member_bytes is None else {"member_bytes": member_bytes}
    with TFRecordWriter(out, compression, level=level, **options) as writer:
        writer.write_many(records)
    return out.getvalue()


def read_all(
    data: bytes, compression: object = None, **options: object
) -> tuple[list[bytes], RecordIOError | None]:
    """Read `data` to its end; returns the records yielded and the typed error, if any.

    Only RecordIOError is caught: anything else propagates and fails the test as a crash.
    """
    records: list[bytes] = []
    try:
        for record in TFRecordReader(io.BytesIO(data), compression, **options):  # type: ignore[arg-type]
            records.append(record)
    except RecordIOError as error:
        return records, error
    return records, None


def is_prefix(got: list[bytes], expected: Iterable[bytes]) -> bool:
    expected = list(expected)
    return got == expected[: len(got)]


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Route the reader and writer through one framing backend for the duration."""
    from recordio import _backend, _framing

    with pytest.MonkeyPatch.context() as patch:
        if name == "c":
            speedups = pytest.importorskip("recordio._speedups")
            for attr in (
                "scan",
                "frame",
                "crc32c",
                "masked_crc32c",
                "scan_headers",
                "gather",
                "find_header",
            ):
                patch.setattr(_backend, attr, getattr(speedups, attr))
        elif name in ("python", "table"):
            if name == "table":
                patch.setattr(_framing, "crc32c", _framing.crc32c_table)
                patch.setattr(_backend, "big_crc", None)
            for attr in (
                "scan",
                "frame",
                "crc32c",
                "masked_crc32c",
                "scan_headers",
                "gather",
                "find_header",
            ):
                patch.setattr(_backend, attr, getattr(_framing, attr))
        else:  # pragma: no cover - a typo in a test
            raise ValueError(f"unknown backend {name!r}")
        yield


def feed_pipe(data: bytes, *, buffering: int = -1, trickle: int = 0) -> BinaryIO:
    """A non-seekable pipe that a thread fills with `data` (buffering=0 gives raw short reads;
    `trickle` > 0 writes the first 200 bytes that many at a time, pausing in between)."""
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), open(write_fd, "wb", buffering=0) as out:
            start = 0
            if trickle:
                for start in range(0, min(200, len(data)), trickle):
                    out.write(data[start : start + trickle])
                    time.sleep(0.001)
                start += trickle
            view = memoryview(data)[start:]
            while view:  # BrokenPipeError: the reader stopped early
                view = view[out.write(view) :]

    threading.Thread(target=feed, daemon=True).start()
    return open(read_fd, "rb", buffering=buffering)  # noqa: SIM115 - the caller closes it


def forged(length: int, codec: str) -> bytes:
    """One good record b"good", then a header claiming `length` (with a valid length CRC) and
    8 bytes of data, as in the TF experiment of RELIABILITY.md R6."""
    stream = frame([b"good"]) + header(length) + b"ABCDEFGH"
    if codec == "NONE":
        return stream
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31 if codec == "GZIP" else 15)
    return deflate.compress(stream) + deflate.flush()


FORGED_LENGTHS = [2**k for k in range(64)] + [2**64 - 1]


def forged_cases() -> Iterator[tuple[str, Callable[[], BinaryIO], dict]]:
    """The forgeries a naive reader would try to allocate (>= 1 MiB), on every kind of source
    and with the limit lifted, for the address-space-capped child of test_reader_faults."""
    for codec in CODECS:
        for length in [n for n in FORGED_LENGTHS if n >= 1 << 20]:
            data = forged(length, codec)
            for options in ({}, {"verify": False}, {"max_record_bytes": 2**64}):
                name = f"{codec} length {length} {options}"
                yield name + " bytesio", functools.partial(io.BytesIO, data), options
                yield name + " pipe", functools.partial(feed_pipe, data), options
