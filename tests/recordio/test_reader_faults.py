"""Damaged input: bit flips, cuts, forged lengths, bombs, wrong or trailing streams
(RELIABILITY R1, R2, R6, R7).

The oracle for every case: no exception other than a RecordIOError subclass (a "crash"), and the
records yielded are a prefix of the originals (never a silently wrong record). Strict mode adds:
no silently short file.
"""

from __future__ import annotations

import io
import json
import subprocess
import textwrap
import zlib
from pathlib import Path

import pytest

from recordio import (
    CompressedStreamError,
    CorruptRecordError,
    RecordIOError,
    RecordTooLargeError,
    TFRecordReader,
    TrailingDataError,
    TruncatedRecordError,
)
from tests.recordio._support import (
    BOUNDARIES,
    CODECS,
    FORGED_LENGTHS,
    RECORDS,
    encode,
    forged,
    header,
    is_prefix,
    read_all,
    use_backend,
)

# Flips that may leave a gzip/zlib file readable with every record intact: metadata that no
# decoder checks, and the unused pad bits after the final deflate block (the last byte before the
# trailer). Everything else, including FNAME/FEXTRA/FCOMMENT/FHCRC, must raise.
GZIP_FTEXT = (3, 0)
GZIP_IGNORED_BYTES = {4, 5, 6, 7, 8, 9}  # MTIME (4 bytes), XFL, OS


def allowed_quiet_flips(codec: str, data: bytes) -> set[tuple[int, int]]:
    if codec == "NONE":
        return set()
    last_deflate_byte = len(data) - (8 if codec == "GZIP" else 4) - 1
    allowed = {(last_deflate_byte, bit) for bit in range(1, 8)}
    if codec == "GZIP":
        allowed |= {GZIP_FTEXT} | {(byte, bit) for byte in GZIP_IGNORED_BYTES for bit in range(8)}
    return allowed


def flipped(data: bytes, byte: int, bit: int) -> bytes:
    out = bytearray(data)
    out[byte] ^= 1 << bit
    return bytes(out)


@pytest.fixture(scope="module")
def references() -> dict[str, bytes]:
    """The FORMAT.md reference records, written per codec at level 6 as one stream (like TF);
    tests/recordio/test_seekable_gzip.py flips the bits of recio's gzip members."""
    files = {codec: encode(RECORDS, codec, member_bytes=0) for codec in CODECS}
    assert len(files["NONE"]) == 95
    return files


MULTI = [bytes([i]) * (i * 37 % 251) for i in range(30)]


# -- R1: every single-bit flip -----------------------------------------------------------------


@pytest.mark.parametrize("backend", ["c", "python", "table"])
@pytest.mark.parametrize("codec", CODECS)
def test_every_bit_flip_of_the_reference_files(references, backend: str, codec: str) -> None:
    data = references[codec]
    quiet: set[tuple[int, int]] = set()
    with use_backend(backend):
        for byte in range(len(data)):
            for bit in range(8):
                damaged = flipped(data, byte, bit)
                for strict in (True, False):
                    got, error = read_all(damaged, strict=strict)
                    assert is_prefix(got, RECORDS), (byte, bit, strict, got)
                    if error is None and strict:
                        # No error means nothing was lost (lenient mode may read short, as TF).
                        assert got == list(RECORDS), (byte, bit)
                        quiet.add((byte, bit))
    allowed = allowed_quiet_flips(codec, data)
    assert quiet <= allowed, sorted(quiet - allowed)
    if codec == "GZIP":  # TF's W4: a flipped FNAME flag must not read as an empty file
        assert (3, 3) not in quiet
        assert GZIP_FTEXT in quiet and (4, 0) in quiet  # the sweep really reaches the header


@pytest.mark.parametrize("codec", CODECS)
def test_every_bit_flip_of_a_4k_multi_record_file(codec: str) -> None:
    """Larger deflate streams have a few more redundant bits (e.g. the code length of a Huffman
    symbol the block never uses): such a flip decodes to the same bytes, which the gzip CRC-32 /
    zlib Adler-32 trailer then confirms. So a quiet flip is fine exactly when every record is
    intact; there may only be a handful of them outside the gzip metadata."""
    data = encode(MULTI, codec)
    assert 3500 < len(encode(MULTI)) < 4500
    metadata = allowed_quiet_flips(codec, data)
    quiet = 0
    for position in range(len(data) * 8):
        byte, bit = divmod(position, 8)
        got, error = read_all(flipped(data, byte, bit))
        assert is_prefix(got, MULTI), (byte, bit)
        if error is None:
            assert got == MULTI, (byte, bit)
            quiet += (byte, bit) not in metadata
    assert quiet <= 8


def gzip_without_nul_bytes() -> bytes:
    """A gzip file with no 0x00 byte between its header and the 3 high bytes of ISIZE, like TF's
    reference file: a flipped FNAME flag then swallows the body as the "file name", and the
    zeros left over start a stored block that never completes."""
    for i in range(10_000):
        data = encode([b"fname case %d" % i, b"x" * (i % 7)], "GZIP", member_bytes=0)
        if 0 not in data[10:-3]:
            return data
    raise AssertionError("no candidate found")  # pragma: no cover


def test_a_flipped_fname_flag_raises_in_strict_mode(references) -> None:
    damaged = flipped(gzip_without_nul_bytes(), 3, 3)
    got, error = read_all(damaged)
    assert got == [] and isinstance(error, CompressedStreamError)
    assert "end marker" in str(error)
    assert read_all(damaged, strict=False) == ([], None)  # what TF yields (W4)
    got, error = read_all(flipped(references["GZIP"], 3, 3))  # here the name ends inside the body
    assert got == [] and isinstance(error, RecordIOError)


# -- R2: a cut at every offset -----------------------------------------------------------------


@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("codec", CODECS)
def test_a_cut_at_every_offset(references, backend: str, codec: str) -> None:
    data = references[codec]
    with use_backend(backend):
        for cut in range(len(data)):
            got, error = read_all(data[:cut])
            lenient, lenient_error = read_all(data[:cut], strict=False)
            assert is_prefix(got, RECORDS) and is_prefix(lenient, RECORDS), cut
            assert got == lenient, cut  # strict yields every complete record before raising
            if codec == "NONE":
                complete = sum(1 for end in BOUNDARIES[1:] if end <= cut)
                assert got == list(RECORDS[:complete]), cut
                if cut in BOUNDARIES:
                    assert error is None and lenient_error is None, cut
                    continue
                assert isinstance(error, TruncatedRecordError), cut
                partial_header = cut - BOUNDARIES[complete] < 12
                assert error.offset == BOUNDARIES[complete]
                assert (
                    error.part == "header" if partial_header else error.part in ("data", "footer")
                )
                # TF (and lenient mode) treat a partial header at the end as a clean end.
                assert (lenient_error is None) == partial_header, cut
            elif cut == 0:
                assert (error, lenient_error) == (None, None)  # an empty file
            else:
                assert isinstance(error, (CompressedStreamError, TruncatedRecordError)), cut


def test_truncated_error_details(references) -> None:
    _, error = read_all(references["NONE"][:80])
    assert isinstance(error, TruncatedRecordError)
    assert (error.index, error.offset, error.part, error.have, error.need) == (
        2,
        63,
        "data",
        17,
        32,
    )
    _, error = read_all(references["NONE"][:70])
    assert (error.part, error.have, error.need) == ("header", 7, 12)
    _, error = read_all(references["NONE"][:93])
    assert error.part == "footer"


# -- R6: forged length fields --------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("codec", CODECS)
def test_forged_lengths_raise_typed_errors(tmp_path: Path, backend: str, codec: str) -> None:
    with use_backend(backend):
        for length in FORGED_LENGTHS:
            data = forged(length, codec)
            path = tmp_path / "forged"
            path.write_bytes(data)
            cases = [("bytesio", {}), ("bytesio", {"strict": False}), ("path", {})]
            if length > 8:  # verify=False cannot tell a short forged record from a real one
                cases.append(("bytesio", {"verify": False}))
            for source, options in cases:
                target = io.BytesIO(data) if source == "bytesio" else path
                got: list[bytes] = []
                error = None
                try:
                    got.extend(TFRecordReader(target, **options))
                except RecordIOError as caught:
                    error = caught
                assert got == [b"good"], (length, source, options)
                assert error is not None, (length, source, options)
                if length > 12:
                    assert isinstance(error, (TruncatedRecordError, RecordTooLargeError))
                if length > 256 << 20:
                    assert isinstance(error, RecordTooLargeError)
                    assert error.claimed == length and error.offset == 20


RLIMIT_CHILD = textwrap.dedent(
    """
    import io, json, resource, sys, zlib
    limit = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from recordio import RecordIOError, TFRecordReader
    from tests.recordio._support import forged_cases
    results = []
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, open_source, options in forged_cases():
        try:
            list(TFRecordReader(open_source(), **options))
            results.append([name, "no error"])
        except RecordIOError as error:
            results.append([name, type(error).__name__])
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start
    print(json.dumps({"results": results, "grown_kib": grown}))
    """
)


def test_forged_lengths_allocate_nothing_big_under_a_1_gib_address_limit(
    python_exe, python_env, repo_root
) -> None:
    """The largest forgeries, read in a child whose address space is capped at 1 GiB:
    an allocation of the claimed length would die with MemoryError (a crash, not a typed error)."""
    child = subprocess.run(
        [python_exe, "-c", RLIMIT_CHILD],
        env=python_env,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout)
    assert len(report["results"]) >= 500
    for name, outcome in report["results"]:
        assert outcome in ("TruncatedRecordError", "RecordTooLargeError"), (name, outcome)
    assert report["grown_kib"] < 64 << 10  # under 64 MiB over the imports


# -- R7: decompression bombs -------------------------------------------------------------------

BOMB_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from recordio import RecordTooLargeError, TFRecordReader
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    try:
        list(TFRecordReader(sys.argv[1], max_record_bytes=1 << 20))
        outcome = "no error"
    except RecordTooLargeError as error:
        outcome = [error.claimed, error.limit]
    print(json.dumps({
        "outcome": outcome,
        "seconds": time.perf_counter() - began,
        "grown_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start,
    }))
    """
)
BOMB_BYTES = 200 << 20


def write_bomb(path: Path, codec: str) -> None:
    """One record of 200 MiB of zeros, compressed (about 200 KiB), built without holding it."""
    import google_crc32c

    deflate = zlib.compressobj(9, zlib.DEFLATED, 31 if codec == "GZIP" else 15)
    zeros = bytes(1 << 20)
    crc = 0
    with open(path, "wb") as out:
        out.write(deflate.compress(header(BOMB_BYTES)))
        for _ in range(BOMB_BYTES >> 20):
            out.write(deflate.compress(zeros))
            crc = google_crc32c.extend(crc, zeros)
        masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
        out.write(deflate.compress(masked.to_bytes(4, "little")) + deflate.flush())


@pytest.mark.parametrize("codec", ["GZIP", "ZLIB"])
def test_a_decompression_bomb_stops_at_max_record_bytes(
    tmp_path: Path, python_exe, python_env, repo_root, codec: str
) -> None:
    bomb = tmp_path / f"bomb.{codec}"
    write_bomb(bomb, codec)
    assert bomb.stat().st_size < 1 << 20
    child = subprocess.run(
        [python_exe, "-c", BOMB_CHILD, str(bomb)],
        env=python_env,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout)
    assert report["outcome"] == [BOMB_BYTES, 1 << 20]
    assert report["seconds"] < 2.0
    assert report["grown_kib"] < 48 << 10


# -- wrong or extra streams ----------------------------------------------------------------------


def test_data_after_a_zlib_stream(references) -> None:
    for extra in [b"junk", bytes(16), encode(RECORDS[:1], "ZLIB")]:
        data = references["ZLIB"] + extra
        got, error = read_all(data)
        assert got == list(RECORDS)  # every record, then the error
        assert isinstance(error, TrailingDataError)
        assert error.compressed_offset == len(references["ZLIB"])
        assert (error.index, error.offset) == (3, 95)  # after the last record
        assert read_all(data, strict=False) == (list(RECORDS), None)  # TF ignores it


def test_data_after_a_gzip_member_is_an_error_in_both_modes(references) -> None:
    for extra in [b"junk!", bytes(8)]:  # TF rejects garbage and zero padding alike
        for strict in (True, False):
            got, error = read_all(references["GZIP"] + extra, strict=strict)
            assert got == list(RECORDS)
            assert isinstance(error, CompressedStreamError)


def test_data_after_an_uncompressed_stream(references) -> None:
    got, error = read_all(references["NONE"] + b"\x01" * 5)
    assert got == list(RECORDS) and isinstance(error, TruncatedRecordError)
    assert read_all(references["NONE"] + b"\x01" * 5, strict=False) == (list(RECORDS), None)
    for strict in (True, False):
        got, error = read_all(references["NONE"] + bytes(range(1, 17)), strict=strict)
        assert got == list(RECORDS) and isinstance(error, CorruptRecordError)
        assert (error.offset, error.part) == (95, "length_crc")


@pytest.mark.parametrize("codec", ["GZIP", "ZLIB"])
def test_a_stream_without_its_trailer(references, codec: str) -> None:
    data = references[codec][: -(8 if codec == "GZIP" else 4)]
    got, error = read_all(data)
    assert got == list(RECORDS) and isinstance(error, CompressedStreamError)
    assert error.kind == "compressed_stream" and "cut short" in str(error)
    assert (error.index, error.offset) == (3, 95)
    assert read_all(data, strict=False) == (list(RECORDS), None)


@pytest.mark.parametrize("codec", ["GZIP", "ZLIB"])
def test_damage_inside_the_compressed_body(references, codec: str) -> None:
    data = references[codec]
    damaged = data[:20] + bytes(10) + data[30:]
    for strict in (True, False):
        got, error = read_all(damaged, strict=strict)
        assert is_prefix(got, RECORDS) and isinstance(error, RecordIOError)
