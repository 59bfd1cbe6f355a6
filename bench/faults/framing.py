"""R1 bit flips, R2 truncations, R3 structured differential cases, R6 forged lengths."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

from context import CODECS, Context, Reference, env_with_repo, read_with_recio
from outcome import CRASH, ORIGINAL, SILENT, TYPED, Row, classify, digest

BOUNDARY = "boundary_cut"  # a cut between whole records of a NONE file: the format cannot tell


def _flip(data: bytes, byte: int, bit: int) -> bytes:
    out = bytearray(data)
    out[byte] ^= 1 << bit
    return bytes(out)


def _sample(ctx: Context, salt: str, items: list, limit: int | None) -> list:
    if limit is None or len(items) <= limit:
        return items
    return sorted(ctx.rng(salt).sample(items, limit))


def _tf_outcomes(ctx: Context, ref: Reference, muts: list, expected_of) -> Counter[str]:
    """TF's outcome for each mutation of `ref` (read by the TF worker, in batches)."""
    tally: Counter[str] = Counter()
    for start in range(0, len(muts), 2000):
        batch = muts[start : start + 2000]
        reply = ctx.tf.call("mutate", base=str(ref.path), codec=ref.codec, muts=batch)
        for mut, res in zip(batch, reply["results"], strict=True):
            tally[expected_of(mut, res)] += 1
    return tally


def bit_flips(ctx: Context) -> Row:
    row = Row("R1", "single-bit flips of TF-written files (NONE/GZIP/ZLIB)")
    quiet: dict[str, list[int]] = {}
    tf_muts: list[tuple[Reference, list]] = []
    for ref in ctx.load_references():
        every = [(byte, bit) for byte in range(len(ref.data)) for bit in range(8)]
        chosen = _sample(ctx, f"flip:{ref.name}", every, ctx.budget.flips_per_file)
        expected = ref.digests
        for byte, bit in chosen:
            got, error, typed = read_with_recio(_flip(ref.data, byte, bit), ref.codec)
            outcome = classify(got, error, expected, typed)
            if outcome == ORIGINAL:
                quiet.setdefault(ref.name, []).append(byte)
            row.add(outcome, {"file": ref.name, "byte": byte, "bit": bit, "error": error})
        tf_muts.append((ref, [["flip", byte, bit] for byte, bit in chosen]))
    row.notes.append(
        "no-error flips (records intact) by byte: "
        + "; ".join(f"{name}: {sorted(set(b))}" for name, b in quiet.items())
        if quiet
        else "every flip raised a typed error"
    )
    _tf_column(ctx, row, tf_muts, lambda ref, mut: ref.digests)
    return row


def _tf_column(ctx: Context, row: Row, per_ref: list[tuple[Reference, list]], expected_for) -> None:
    if not ctx.tf.available:
        row.tf_note = f"TF not run: {ctx.tf.why}"
        return
    limit = ctx.budget.tf_flip_cases
    total = sum(len(m) for _, m in per_ref)
    share = 1.0 if limit is None or total <= limit else limit / total
    tried = 0
    for ref, muts in per_ref:
        muts = _sample(ctx, f"tf:{ref.name}:{row.id}", muts, max(1, int(len(muts) * share)))
        tried += len(muts)

        def judge(mut: list, res: dict, ref: Reference = ref) -> str:
            return _judge(ref, mut, res["got"], res["error"], res["typed"], expected_for(ref, mut))

        row.tf.update(_tf_outcomes(ctx, ref, muts, judge))
    if tried < total:
        row.tf_note = f"TF read a sample of {tried:,} of the {total:,} cases"


def _judge(ref: Reference, mut: list, got: list, error, typed: bool, expected: list) -> str:
    if mut[0] == "cut" and error is None and mut[1] in ref.boundaries():
        return BOUNDARY if got == expected[: len(got)] else SILENT
    return classify(got, error, expected, typed)


def truncations(ctx: Context) -> Row:
    row = Row("R2", "truncation at every offset (NONE/GZIP/ZLIB)")
    tf_muts: list[tuple[Reference, list]] = []
    for ref in ctx.load_references():
        cuts = _sample(ctx, f"cut:{ref.name}", list(range(len(ref.data))), ctx.budget.cuts_per_file)
        for cut in cuts:
            got, error, typed = read_with_recio(ref.data[:cut], ref.codec)
            outcome = _judge(ref, ["cut", cut], got, error, typed, ref.digests)
            row.add(outcome, {"file": ref.name, "cut": cut, "error": error})
        tf_muts.append((ref, [["cut", cut] for cut in cuts]))
    row.notes.append(
        f"{BOUNDARY}: a NONE file cut exactly between records (or to 0 bytes) is a valid shorter"
        " file; the format cannot detect it (a manifest can)"
    )
    _tf_column(ctx, row, tf_muts, lambda ref, mut: ref.digests)
    return row


# -- R3: structured cases -------------------------------------------------------------------


def _frame(record: bytes) -> bytes:
    from recordio import _backend
    from recordio._framing import mask

    length = struct.pack("<Q", len(record))
    return (
        length
        + struct.pack("<I", mask(_backend.crc32c(length)))
        + record
        + struct.pack("<I", mask(_backend.crc32c(record)))
    )


def _compress(codec: str, data: bytes) -> bytes:
    if codec == "GZIP":
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        return c.compress(data) + c.flush()
    if codec == "ZLIB":
        return zlib.compress(data, 6)
    return data


def structured_cases() -> list[tuple[str, str, bytes, list[bytes]]]:
    """(name, codec, file bytes, records a correct reader returns before any error)."""
    recs = [b"a" * 14, b"b" * 17, b"c" * 16]
    plain = b"".join(_frame(r) for r in recs)
    cases: list[tuple[str, str, bytes, list[bytes]]] = []
    for codec in CODECS:
        body = _compress(codec, plain)
        cases += [
            (f"{codec} empty file", codec, b"", []),
            (
                f"{codec} zero-length records",
                codec,
                _compress(codec, b"".join(_frame(r) for r in [b"", b"x", b""])),
                [b"", b"x", b""],
            ),
            (f"{codec} trailing garbage 5 B", codec, body + b"\x01" * 5, recs),
            (f"{codec} trailing garbage 16 B", codec, body + b"\x01" * 16, recs),
            (f"{codec} trailing zero padding 16 B", codec, body + b"\x00" * 16, recs),
        ]
        if codec != "NONE":
            twice = _compress(codec, plain[:30]) + _compress(codec, plain[30:])
            cases.append((f"{codec} two concatenated streams", codec, twice, recs))
            cases.append((f"{codec} read as NONE", "NONE", body, recs))
        other = {"NONE": "GZIP", "GZIP": "ZLIB", "ZLIB": "GZIP"}[codec]
        cases.append((f"{codec} file read as {other}", other, body, recs))
    return cases


def structured(ctx: Context) -> Row:
    row = Row("R3", "structured cases: trailing data, concatenated streams, wrong codec, empty")
    cases = structured_cases()
    tf_reply = None
    if ctx.tf.available:
        tf_reply = ctx.tf.call(
            "bytes",
            cases=[{"b64": base64.b64encode(d).decode(), "codec": c} for _, c, d, _ in cases],
        )["results"]
    else:
        row.tf_note = f"TF not run: {ctx.tf.why}"
    for i, (name, codec, data, recs) in enumerate(cases):
        expected = [digest(r) for r in recs]
        got, error, typed = read_with_recio(data, codec)
        outcome = classify(got, error, expected, typed)
        row.add(outcome, {"case": name, "error": error})
        tf_outcome = None
        if tf_reply is not None:
            res = tf_reply[i]
            tf_outcome = classify(res["got"], res["error"], expected, res["typed"])
            row.tf[tf_outcome] += 1
        row.notes.append(f"{name}: recio {outcome} ({error or 'no error'}); TF {tf_outcome}")
    return row


# -- R6: forged lengths ---------------------------------------------------------------------

FORGED_LENGTHS = [1 << k for k in range(64)] + [(1 << 64) - 1]


def forged(length: int, codec: str) -> bytes:
    from recordio import _backend
    from recordio._framing import mask

    head = struct.pack("<Q", length)
    return _compress(codec, head + struct.pack("<I", mask(_backend.crc32c(head))) + b"\x07" * 8)


_PROBE = r"""
import io, json, sys, tracemalloc, resource
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
sys.path.insert(0, sys.argv[1])
from context import read_with_recio
from framing import forged, FORGED_LENGTHS
out = []
for codec in ("NONE", "GZIP", "ZLIB"):
    for length in FORGED_LENGTHS:
        data = forged(length, codec)
        tracemalloc.start()
        got, error, typed = read_with_recio(data, codec)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out.append([codec, length, got, error, typed, peak])
print(json.dumps({"cases": out, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def forged_lengths(ctx: Context) -> Row:
    row = Row("R6", "forged length 2^0..2^63 and 2^64-1, valid length CRC, per codec")
    here = str(Path(__file__).resolve().parent)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, here],
        capture_output=True,
        text=True,
        env=env_with_repo(),
        timeout=600,
    )
    if proc.returncode != 0:
        row.add(CRASH, {"error": f"probe rc {proc.returncode}: {proc.stderr[-300:]}"})
        return row
    result = json.loads(proc.stdout)
    kinds: Counter[str] = Counter()
    for codec, length, got, error, typed, peak in result["cases"]:
        row.add(classify(got, error, [], typed), {"codec": codec, "length": length, "error": error})
        row.peak(peak / 2**20)
        kinds[error] += 1
    row.bound_mib = 2 * 256
    row.notes.append(
        f"recio errors: {dict(kinds)}; peak = traced allocation per case; process maxrss"
        f" {result['maxrss_kib'] // 1024} MiB under RLIMIT_AS 2 GiB"
    )
    if ctx.tf.available:
        cases = [
            {"b64": base64.b64encode(forged(length, codec)).decode(), "codec": codec}
            for codec in CODECS
            for length in FORGED_LENGTHS
        ]
        res = ctx.tf.call("bytes", cases=cases, isolate=True)["results"]
        crashes = []
        for i, (case, r) in enumerate(zip(cases, res, strict=True)):
            outcome = classify(r["got"], r["error"], [], r["typed"])
            row.tf[outcome] += 1
            if outcome == CRASH:
                k = FORGED_LENGTHS[i % len(FORGED_LENGTHS)].bit_length() - 1
                crashes.append(f"{case['codec']} 2^{k}: {r['error']}")
        if crashes:
            row.tf_note = (
                f"TF crashed on {len(crashes)}: "
                + ", ".join(crashes[:4])
                + (" ..." if len(crashes) > 4 else "")
            )
    else:
        row.tf_note = f"TF not run: {ctx.tf.why}"
    return row


__all__ = [
    "BOUNDARY",
    "bit_flips",
    "forged_lengths",
    "structured",
    "truncations",
    "TYPED",
    "SILENT",
]
