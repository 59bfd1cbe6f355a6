"""GZIP edge cases of issue 10: optional header fields, and bounded memory for large records."""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from recordio import TFRecordReader
from tests.conftest import REPO_ROOT
from tests.recordio._support import frame

RECORDS = [b"abc", b"", b"x" * 100, bytes(range(256))]
FHCRC, FEXTRA, FNAME, FCOMMENT = 2, 4, 8, 16


def gzip_with(flags: int, stream: bytes) -> bytes:
    """A gzip member built by hand, with the optional header fields `flags` asks for."""
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0" + b"\0\xff"
    if flags & FEXTRA:
        head += struct.pack("<H", 8) + b"AB\x04\x00data"
    if flags & FNAME:
        head += b"name.tfrecord\0"
    if flags & FCOMMENT:
        head += b"a comment, longer than the twelve bytes sniffed\0"
    if flags & FHCRC:
        head += struct.pack("<H", zlib.crc32(head) & 0xFFFF)
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(stream) + deflate.flush()
    return head + body + struct.pack("<II", zlib.crc32(stream), len(stream))


COMBINATIONS = [
    sum(flag for bit, flag in enumerate((FHCRC, FEXTRA, FNAME, FCOMMENT)) if combo >> bit & 1)
    for combo in range(1, 16)
]


@pytest.mark.parametrize("flags", COMBINATIONS)
@pytest.mark.parametrize("compression", [None, "GZIP"])
def test_every_combination_of_optional_header_fields_reads(flags: int, compression) -> None:
    stream = frame(RECORDS)
    data = gzip_with(flags, stream)
    assert gzip.decompress(data) == stream  # a valid file, as gzip(1) and Python say
    assert list(TFRecordReader(io.BytesIO(data), compression)) == RECORDS
    two = data + gzip_with(flags ^ FNAME, stream)  # and as later members
    assert list(TFRecordReader(io.BytesIO(two), compression)) == RECORDS * 2


def test_a_wrong_header_crc_is_damage() -> None:
    data = bytearray(gzip_with(FHCRC | FNAME, frame(RECORDS)))
    data[24] ^= 1  # inside the header CRC
    from recordio import CompressedStreamError

    with pytest.raises(CompressedStreamError, match="header crc"):
        list(TFRecordReader(io.BytesIO(bytes(data))))


WRITE = """
import os, sys
from recordio import write_records
path, size, codec, member, zeros = sys.argv[1:]
record = bytes(int(size)) if zeros == "1" else os.urandom(int(size))
write_records(path, [b"a", record, b"b"], codec, member_bytes=int(member))
"""
# A fresh process, measured against its own start: VmHWM is its own peak resident size
# (ru_maxrss would carry the parent's peak over exec, and could not fail here).
READ = """
import sys
from recordio import TFRecordReader
def hwm():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024
base = hwm()
sizes = [len(r) for r in TFRecordReader(sys.argv[1], workers=1)]
print(sizes[1], base, hwm())
"""


@pytest.mark.parametrize(
    ("codec", "member_bytes", "zeros"),
    [("GZIP", 0, "0"), ("GZIP", 1 << 20, "0"), ("GZIP", 1 << 20, "1"), ("ZLIB", 0, "0")],
)
def test_a_large_compressed_record_reads_in_bounded_memory(
    tmp_path: Path, codec: str, member_bytes: int, zeros: str
) -> None:
    """Reading a 64 MiB record from a compressed file holds about one copy of it (the bound is
    64 MiB + max_record_bytes; three copies were held before)."""
    size = 64 << 20
    path = tmp_path / "big.tfrecord"
    options = [str(path), str(size), codec, str(member_bytes), zeros]
    subprocess.run([sys.executable, "-c", WRITE, *options], check=True, cwd=REPO_ROOT)
    done = subprocess.run(
        [sys.executable, "-c", READ, str(path)],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    got, base, peak = map(int, done.stdout.split())
    assert got == size
    assert peak - base <= size + (32 << 20), f"peak {(peak - base) >> 20} MiB over the start"
