"""CRC-32C and TFRecord framing: known answers and C/pure-Python agreement (RELIABILITY R11).

Every vector runs through each implementation: the C accelerator (`_speedups`), the pure-Python
twin (`_framing`, google-crc32c underneath) and the table-driven fallback (`crc32c_table`).
"""

from __future__ import annotations

import json
import random
import struct
import subprocess

import google_crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordio import _framing
from recordio._framing import (
    STOP_BATCH,
    STOP_DATA_CRC,
    STOP_LENGTH_CRC,
    STOP_NEED,
    STOP_TOO_LARGE,
)
from tests.recordio._support import frame as oracle_frame
from tests.recordio._support import header, masked

try:
    from recordio import _speedups as speedups
except ImportError:  # no C compiler at install time: the pure-Python twins are still tested
    speedups = None

CRC_FUNCS = {"python": _framing.crc32c, "table": _framing.crc32c_table}
MASKED_FUNCS = {
    "python": _framing.masked_crc32c,
    "table": lambda data: _framing.mask(_framing.crc32c_table(data)),
}
FRAME_FUNCS = {"python": _framing.frame}
if speedups is not None:
    CRC_FUNCS["c"] = speedups.crc32c
    MASKED_FUNCS["c"] = speedups.masked_crc32c
    FRAME_FUNCS["c"] = speedups.frame
needs_c = pytest.mark.skipif(speedups is None, reason="the C accelerator is not built")

# RFC 3720 appendix B.4 (iSCSI), plus the CRC catalogue's check value.
ISCSI_READ_PDU = bytes.fromhex(
    "01c00000000000000000000000000000"
    "14000000000004000000001400000018"
    "28000000000000000200000000000000"
)
CRC_VECTORS = [
    (b"123456789", 0xE3069283),
    (b"", 0x00000000),
    (b"\x00" * 32, 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
    (ISCSI_READ_PDU, 0xD9963A56),
]
# Masked values pinned by TF-written bytes (FORMAT.md §3.1).
MASKED_VECTORS = [
    (b"", 0xA282EAD8),  # mask(0): the data CRC of an empty record
    (struct.pack("<Q", 0), 0x07980329),  # length CRC of an empty record
    (struct.pack("<Q", 3), 0x0E4999B0),  # length CRC of b"foo"
    (b"foo", 0xFEBE8A61),
]
FRAME_VECTORS = [
    ([b""], "000000000000000029039807d8ea82a2"),
    ([b"foo"], "0300000000000000b099490e666f6f618abefe"),
    ([], ""),
]


@pytest.mark.parametrize("impl", sorted(CRC_FUNCS))
@pytest.mark.parametrize(("data", "expected"), CRC_VECTORS)
def test_crc32c_known_answers(impl: str, data: bytes, expected: int) -> None:
    assert CRC_FUNCS[impl](data) == expected


@pytest.mark.parametrize("impl", sorted(CRC_FUNCS))
def test_crc32c_continues_from_a_value_and_takes_any_buffer(impl: str) -> None:
    crc = CRC_FUNCS[impl]
    whole = crc(b"123456789")
    assert crc(b"56789", crc(b"1234")) == whole
    assert crc(bytearray(b"123456789")) == whole
    assert crc(memoryview(b"xx123456789")[2:]) == whole


@pytest.mark.parametrize("impl", sorted(MASKED_FUNCS))
@pytest.mark.parametrize(("data", "expected"), MASKED_VECTORS)
def test_masked_crc_known_answers(impl: str, data: bytes, expected: int) -> None:
    assert MASKED_FUNCS[impl](data) == expected


def test_mask_and_unmask_are_inverse_and_match_the_definition() -> None:
    rng = random.Random(7)
    for value in [0, 1, 0xFFFFFFFF, 0xE3069283, *(rng.getrandbits(32) for _ in range(200))]:
        rotated = ((value >> 15) | (value << 17)) & 0xFFFFFFFF
        assert _framing.mask(value) == (rotated + 0xA282EAD8) & 0xFFFFFFFF
        assert _framing.unmask(_framing.mask(value)) == value


@pytest.mark.parametrize("impl", sorted(CRC_FUNCS))
def test_crc_implementations_agree_on_random_data(impl: str) -> None:
    rng = random.Random(impl)
    for size in [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096, 4097]:
        data = rng.randbytes(size)
        assert CRC_FUNCS[impl](data) == google_crc32c.value(data)


@pytest.mark.parametrize("impl", sorted(FRAME_FUNCS))
@pytest.mark.parametrize(("records", "hex_bytes"), FRAME_VECTORS)
def test_frame_matches_tf_bytes(impl: str, records: list[bytes], hex_bytes: str) -> None:
    assert FRAME_FUNCS[impl](records) == bytes.fromhex(hex_bytes)


@pytest.mark.parametrize("impl", sorted(FRAME_FUNCS))
def test_frame_takes_any_buffer_and_matches_the_oracle(impl: str) -> None:
    records = [b"a", bytearray(b"bc"), memoryview(b"xdef")[1:], b"", b"z" * 5000]
    assert FRAME_FUNCS[impl](records) == oracle_frame(bytes(r) for r in records)


@needs_c
def test_frame_rejects_text() -> None:
    with pytest.raises(TypeError):
        speedups.frame(["text"])


# -- scan(): the batch parser both backends implement ------------------------------------------

SCANNERS = {
    "python": lambda *args: _framing.scan(*args),
    "table": lambda *args: _framing.scan(*args, crc=_framing.crc32c_table),
}
if speedups is not None:
    SCANNERS["c"] = lambda *args: speedups.scan(*args, None)
    SCANNERS["c+big_crc"] = lambda *args: speedups.scan(*args, google_crc32c.value)


def scan_all(buf: bytes, pos: int, verify: bool, max_len: int, max_records: int) -> dict:
    return {
        name: scanner(buf, pos, verify, max_len, max_records) for name, scanner in SCANNERS.items()
    }


def test_scan_status_codes_and_values() -> None:
    records = [b"abc", b"", b"x" * 20]
    buf = oracle_frame(records)
    # Whole buffer; batch limits; resuming at the returned position.
    for result in scan_all(buf, 0, True, 1 << 20, 100).values():
        assert result == (records, len(buf), STOP_NEED, 0, 0)
    for result in scan_all(buf, 0, True, 1 << 20, 2).values():
        assert result == (records[:2], 35, STOP_BATCH, 0, 0)
    for result in scan_all(buf, 35, True, 1 << 20, 2).values():
        assert result == (records[2:], len(buf), STOP_NEED, 0, 0)
    # Cut inside a header: need unknown (0); cut after a header: need the whole record.
    for result in scan_all(buf[:40], 35, True, 1 << 20, 9).values():
        assert result == ([], 35, STOP_NEED, 0, 0)
    for result in scan_all(buf[:50], 0, True, 1 << 20, 9).values():
        assert result == (records[:2], 35, STOP_NEED, 36, 0)
    # Too large is checked after the length CRC and before the data is needed.
    for result in scan_all(buf[:47], 0, True, 19, 9).values():
        assert result == (records[:2], 35, STOP_TOO_LARGE, 20, 0)
    # A bad length CRC and a bad data CRC report stored and computed values.
    bad = bytearray(buf)
    bad[8] ^= 0x01
    stored, computed = masked(buf[:8]) ^ 0x01, masked(buf[:8])
    for result in scan_all(bytes(bad), 0, True, 1 << 20, 9).values():
        assert result == ([], 0, STOP_LENGTH_CRC, stored, computed)
    bad = bytearray(buf)
    bad[12] ^= 0x80
    for result in scan_all(bytes(bad), 0, True, 1 << 20, 9).values():
        assert result == ([], 0, STOP_DATA_CRC, masked(b"abc"), masked(bytes(bad[12:15])))
    # verify=False returns the damaged bytes: the caller asked not to check.
    for result in scan_all(bytes(bad), 0, False, 1 << 20, 1).values():
        assert result == ([bytes(bad[12:15])], 19, STOP_BATCH, 0, 0)


def test_scan_large_record_uses_the_same_crc_rules() -> None:
    record = random.Random(3).randbytes(10_000)  # over the C module's big_crc threshold
    buf = oracle_frame([record])
    results = scan_all(buf, 0, True, 1 << 20, 9)
    assert all(r == ([record], len(buf), STOP_NEED, 0, 0) for r in results.values())
    bad = bytearray(buf)
    bad[5000] ^= 0x10
    results = scan_all(bytes(bad), 0, True, 1 << 20, 9)
    assert len(set(map(repr, results.values()))) == 1
    assert results["python"][2] == STOP_DATA_CRC


@pytest.mark.parametrize("length", [2**63 - 17, 2**63 - 16, 2**63, 2**64 - 17, 2**64 - 1])
@pytest.mark.parametrize("max_len", [2**63 - 1, 2**64 - 1])
def test_scan_huge_lengths_agree_and_never_overflow(length: int, max_len: int) -> None:
    """A forged length near 2**64 must not wrap the C size arithmetic (it used to raise
    SystemError "Negative size passed to PyBytes_FromStringAndSize")."""
    buf = header(length) + b"\x00" * 40
    results = scan_all(buf, 0, True, max_len, 9)
    assert len(set(map(repr, results.values()))) == 1, results
    records, pos, status, a, _ = results["python"]
    assert (records, pos) == ([], 0)
    assert status in (STOP_NEED, STOP_TOO_LARGE)
    assert a >= 16 if status == STOP_NEED else a == length


def _mutate(buf: bytes, data: st.DataObject) -> bytes:
    kind = data.draw(st.sampled_from(["none", "flip", "cut", "overwrite", "append", "delete"]))
    if not buf or kind == "none":
        return buf + data.draw(st.binary(max_size=20)) if kind == "append" else buf
    i = data.draw(st.integers(0, len(buf) - 1))
    if kind == "flip":
        out = bytearray(buf)
        out[i] ^= 1 << data.draw(st.integers(0, 7))
        return bytes(out)
    if kind == "cut":
        return buf[:i]
    if kind == "overwrite":
        patch = data.draw(st.binary(min_size=1, max_size=16))
        return buf[:i] + patch + buf[i + len(patch) :]
    if kind == "delete":
        return buf[:i] + buf[i + data.draw(st.integers(1, 16)) :]
    return buf + data.draw(st.binary(max_size=20))


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.binary(max_size=40), max_size=8),
    data=st.data(),
    verify=st.booleans(),
    max_len=st.sampled_from([0, 3, 16, 1 << 20, 2**64 - 1]),
    max_records=st.sampled_from([0, 1, 2, 100]),
)
def test_scan_backends_agree_on_random_and_damaged_buffers(
    records: list[bytes], data: st.DataObject, verify: bool, max_len: int, max_records: int
) -> None:
    buf = _mutate(oracle_frame(records), data)
    pos = data.draw(st.integers(0, len(buf)))
    results = scan_all(buf, pos, verify, max_len, max_records)
    assert len(set(map(repr, results.values()))) == 1, results
    got, new_pos, status, _, _ = results["python"]
    assert pos <= new_pos <= len(buf)
    assert len(got) <= max(max_records, 0)


@settings(max_examples=100, deadline=None)
@given(records=st.lists(st.binary(max_size=300), max_size=10))
def test_frame_backends_agree_and_scan_inverts_frame(records: list[bytes]) -> None:
    framed = oracle_frame(records)
    for frame in FRAME_FUNCS.values():
        assert frame(records) == framed
    for result in scan_all(framed, 0, True, 1 << 20, 1000).values():
        assert result == (records, len(framed), STOP_NEED, 0, 0)


def test_pure_python_backend_is_selected_by_the_environment(python_exe, python_env) -> None:
    code = (
        "import json, recordio, recordio._backend as b, recordio._framing as f;"
        "print(json.dumps([recordio.BACKEND, b.scan is f.scan, b.frame is f.frame"
        " and b.crc32c_many is f.crc32c_many and b.gather_slices is f.gather_slices,"
        " list(recordio.read_records(__import__('io').BytesIO(b.frame([b'x', b'']))))"
        " == [b'x', b'']]))"
    )
    env = dict(python_env, RECIO_PURE_PYTHON="1")
    out = subprocess.run([python_exe, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    backend, is_scan, is_frame, roundtrip = json.loads(out.stdout)
    assert backend.startswith("python") and is_scan and is_frame and roundtrip


# -- batched helpers for columns: crc32c_many, gather_slices -----------------------------------

CRC_MANY = {"python": _framing.crc32c_many}
GATHER_SLICES = {"python": _framing.gather_slices}
if speedups is not None:
    CRC_MANY["c"] = speedups.crc32c_many
    GATHER_SLICES["c"] = speedups.gather_slices


def _crcs(packed: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(packed) // 4}I", packed))


@pytest.mark.parametrize("impl", sorted(CRC_MANY))
def test_crc32c_many_is_the_crc_of_each_value(impl: str) -> None:
    rng = random.Random(11)
    # Mixed sizes in one call: the C twin hashes three values at a time over their common
    # length and finishes each alone, so neighbours of every size must not change a result.
    values = [rng.randbytes(rng.choice([0, 1, 7, 8, 9, 24, 100, 784, 5000])) for _ in range(301)]
    values += [bytearray(b"123456789"), memoryview(b"xx123456789")[2:]]
    assert _crcs(CRC_MANY[impl](values)) == [google_crc32c.value(bytes(v)) for v in values]
    assert _crcs(CRC_MANY[impl](values, 0, -1)) == _crcs(CRC_MANY[impl](values))
    assert CRC_MANY[impl]([]) == b""
    assert _crcs(CRC_MANY[impl]([data for data, _ in CRC_VECTORS])) == [
        crc for _, crc in CRC_VECTORS
    ]


@pytest.mark.parametrize("impl", sorted(CRC_MANY))
def test_crc32c_many_of_a_slice_of_every_value(impl: str) -> None:
    rng = random.Random(12)
    for count in (1, 2, 3, 4, 5, 7, 100):
        values = [rng.randbytes(800) for _ in range(count)]
        got = _crcs(CRC_MANY[impl](values, 13, 797))
        assert got == [google_crc32c.value(v[13:797]) for v in values]
    assert _crcs(CRC_MANY[impl]([b"abc"], 3, 3)) == [0]  # an empty slice
    with pytest.raises(ValueError, match="value 1 holds 2 bytes"):
        CRC_MANY[impl]([b"abcdef", b"ab"], 0, 4)
    with pytest.raises(ValueError):
        CRC_MANY[impl]([b"abcdef"], 5, 4)
    with pytest.raises(ValueError):
        CRC_MANY[impl]([b"abcdef"], -1, 4)
    with pytest.raises(TypeError):
        CRC_MANY[impl](["text"])


@pytest.mark.parametrize("impl", sorted(GATHER_SLICES))
def test_gather_slices_joins_the_same_ranges_of_every_value(impl: str) -> None:
    gather_slices = GATHER_SLICES[impl]
    values = [b"abcdef", bytearray(b"ghijkl"), memoryview(b"xmnopqr")[1:]]
    assert gather_slices(values, [(0, 2), (4, 6)], 6) == b"abefghklmnqr"
    assert gather_slices(values, [(1, 1), (5, 6)], 6) == b"flr"
    assert gather_slices(values, [], 6) == b""
    assert gather_slices([], [(0, 2)], 6) == b""
    assert gather_slices([*values, b"short"], [(0, 2)], 6) is None  # another size: None
    with pytest.raises(ValueError, match="outside 6 bytes"):
        gather_slices(values, [(4, 7)], 6)
    with pytest.raises(ValueError):
        gather_slices(values, [(3, 2)], 6)
    with pytest.raises(TypeError):
        gather_slices(["abcdef"], [(0, 2)], 6)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.binary(min_size=12, max_size=12), max_size=12),
    cuts=st.lists(st.integers(0, 12), max_size=6),
)
def test_batched_helpers_agree_between_backends(values: list[bytes], cuts: list[int]) -> None:
    points = sorted(cuts)
    ranges = list(zip(points[::2], points[1::2], strict=False))
    gathered = {impl: f(values, ranges, 12) for impl, f in GATHER_SLICES.items()}
    assert gathered["python"] == b"".join(v[a:b] for v in values for a, b in ranges)
    assert len(set(gathered.values())) == 1
    start, stop = (points[0], points[-1]) if points else (0, -1)
    crcs = {impl: f(values, start, stop) for impl, f in CRC_MANY.items()}
    assert len(set(crcs.values())) == 1
