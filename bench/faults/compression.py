"""R7 hostile compression: bombs, huge records in tiny files, many members, odd gzip headers,
trailing garbage; peak memory measured per case in a fresh process."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import google_crc32c
from context import Context, env_with_repo
from framing import _compress, _frame
from outcome import CRASH, Row, classify, digest

HERE = Path(__file__).resolve().parent
CHUNK = 1 << 20
MIB = 1 << 20
_MASK_DELTA = 0xA282EAD8


def _mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _stream_zero_record(path: Path, size: int, codec: str, framed: bool = True) -> str:
    """Write a compressed file holding one record of `size` zero bytes (or just `size` zeros
    when not `framed`) without ever holding it in memory; returns the record's digest."""
    wbits = 31 if codec == "GZIP" else 15
    comp = zlib.compressobj(1, zlib.DEFLATED, wbits)
    zeros = bytes(CHUNK)
    crc = google_crc32c.Checksum()
    blake = __import__("hashlib").blake2b(digest_size=8)
    with open(path, "wb") as out:
        if framed:
            head = struct.pack("<Q", size)
            out.write(comp.compress(head + struct.pack("<I", _mask(google_crc32c.value(head)))))
        left = size
        while left:
            piece = zeros if left >= CHUNK else bytes(left)
            crc.update(piece)
            blake.update(piece)
            out.write(comp.compress(piece))
            left -= len(piece)
        if framed:
            out.write(comp.compress(struct.pack("<I", _mask(int.from_bytes(crc.digest(), "big")))))
        out.write(comp.flush())
    return blake.hexdigest()


def _gzip_header(flags: int, extra: bytes = b"", name: bytes = b"", comment: bytes = b"") -> bytes:
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\x00" * 4 + b"\x00\x03"
    if flags & 4:
        head += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        head += name + b"\x00"
    if flags & 16:
        head += comment + b"\x00"
    if flags & 2:
        head += struct.pack("<H", zlib.crc32(head) & 0xFFFF)
    return head


def _raw_gzip(data: bytes, header: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = comp.compress(data) + comp.flush()
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def _probe(path: Path, codec: str, limit: int, expected: list[str]) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "probe_read.py"),
            str(path),
            codec,
            str(limit),
            json.dumps(expected),
        ],
        capture_output=True,
        text=True,
        env=env_with_repo() | {"PYTHONPATH": f"{HERE}:{env_with_repo()['PYTHONPATH']}"},
        timeout=600,
    )
    if proc.returncode != 0:
        return {
            "outcome": CRASH,
            "error": f"rc {proc.returncode}: {proc.stderr[-300:]}",
            "peak_mib": 0,
        }
    return json.loads(proc.stdout)


def hostile(ctx: Context) -> Row:
    row = Row(
        "R7",
        "hostile compression: bombs, huge records, many members, gzip header fields, trailing data",
    )
    folder = ctx.scratch("r7")
    budget = ctx.budget
    recs = [b"a" * 14, b"b" * 17, b"c" * 16]
    plain = b"".join(_frame(r) for r in recs)
    want = [digest(r) for r in recs]
    cases: list[
        tuple[str, str, Path, int, list[str], float | None]
    ] = []  # name, codec, path, limit, expected, bound

    small_limit = min(16, budget.bomb_mib // 2) * MIB
    for codec in ("GZIP", "ZLIB"):
        path = folder / f"zeros-{codec}"
        _stream_zero_record(path, budget.bomb_mib * MIB, codec, framed=False)
        cases.append(
            (
                f"{codec} bomb: {budget.bomb_mib} MiB of zeros ({path.stat().st_size // 1024} KiB)",
                codec,
                path,
                256 * MIB,
                [],
                64,
            )
        )
        path = folder / f"over-{codec}"
        _stream_zero_record(path, budget.bomb_mib * MIB, codec)
        cases.append(
            (
                f"{codec} record of {budget.bomb_mib} MiB,"
                f" max_record_bytes {small_limit // MIB} MiB",
                codec,
                path,
                small_limit,
                [],
                64 + small_limit // MIB,
            )
        )
    path = folder / "big-gzip"
    big = _stream_zero_record(path, budget.big_record_mib * MIB, "GZIP")
    size_kib = path.stat().st_size // 1024
    cases.append(
        (
            f"GZIP one {budget.big_record_mib} MiB record in {size_kib} KiB",
            "GZIP",
            path,
            256 * MIB,
            [big],
            64 + budget.big_record_mib,
        )
    )
    path = folder / "big-none"
    with open(path, "wb") as out:
        out.write(_frame(bytes(budget.big_record_mib * MIB)))
    cases.append(
        (
            f"NONE one {budget.big_record_mib} MiB record",
            "NONE",
            path,
            256 * MIB,
            [big],
            64 + budget.big_record_mib,
        )
    )

    # Many empty members before the records: time must grow linearly.
    empty = _compress("GZIP", b"")
    for n in (budget.members // 4, budget.members):
        path = folder / f"members-{n}"
        path.write_bytes(empty * n + _compress("GZIP", plain))
        cases.append(
            (f"GZIP {n:,} empty members, then the records", "GZIP", path, 256 * MIB, want, None)
        )
    split = (
        _compress("GZIP", plain[:20])
        + _compress("GZIP", plain[20:50])
        + _compress("GZIP", plain[50:])
    )
    (folder / "split").write_bytes(split)
    cases.append(
        ("GZIP records split across 3 members", "GZIP", folder / "split", 256 * MIB, want, None)
    )

    # Every combination of the optional gzip header fields is a valid file.
    for flags in range(0, 32, 2):
        head = _gzip_header(
            flags | (flags & 1), extra=b"EX" * 3, name=b"name.tfrecord", comment=b"comment"
        )
        path = folder / f"hdr-{flags}"
        path.write_bytes(_raw_gzip(plain, head))
        names = [
            n
            for bit, n in ((2, "FHCRC"), (4, "FEXTRA"), (8, "FNAME"), (16, "FCOMMENT"))
            if flags & bit
        ]
        for codec in ("GZIP", "auto"):
            cases.append(
                (
                    f"GZIP header {'+'.join(names) or 'plain'} ({codec})",
                    codec,
                    path,
                    256 * MIB,
                    want,
                    None,
                )
            )
    path = folder / "fextra-64k"
    path.write_bytes(_raw_gzip(plain, _gzip_header(4, extra=b"\xab" * 65535)))
    cases.append(("GZIP FEXTRA of 64 KiB", "GZIP", path, 256 * MIB, want, None))
    path = folder / "fname-no-nul"
    path.write_bytes(b"\x1f\x8b\x08\x08" + b"\x00" * 4 + b"\x00\x03" + b"n" * 4096)
    cases.append(("GZIP FNAME without its NUL", "GZIP", path, 256 * MIB, [], None))
    for codec in ("GZIP", "ZLIB"):
        for tail in (b"\x00" * 8, b"garbage!" * 4):
            path = folder / f"tail-{codec}-{tail[:1].hex()}"
            path.write_bytes(_compress(codec, plain) + tail)
            what = "zero padding" if tail[0] == 0 else "garbage"
            cases.append(
                (f"{codec} trailing {what} ({len(tail)} B)", codec, path, 256 * MIB, want, None)
            )

    member_times = []
    for name, codec, path, limit, expected, bound in cases:
        res = _probe(path, codec, limit, expected)
        valid = bool(expected) and "trailing" not in name
        row.add(res["outcome"], {"case": name, "error": res.get("error")}, valid_input=valid)
        if res.get("peak_mib") is not None and bound is not None:
            if row.peak_mib is None or res["peak_mib"] >= row.peak_mib:
                row.bound_mib = bound
            row.peak(res["peak_mib"])
            over = " OVER BOUND" if res["peak_mib"] > bound else ""
            mem = f", peak +{res['peak_mib']:.0f} MiB (bound {bound:.0f}){over}"
        else:
            mem = ""
        if "members" in name:
            member_times.append(res.get("seconds", 0.0))
        row.notes.append(f"{name}: {res['outcome']} ({res.get('error') or 'no error'}){mem}")
        if bound is not None and res.get("peak_mib", 0) > bound:
            row.recio["memory_over_bound"] += 1
    if len(member_times) == 2 and member_times[0] > 0:
        row.notes.append(
            f"{budget.members // 4:,} vs {budget.members:,} empty members:"
            f" {member_times[0]:.2f} s vs"
            f" {member_times[1]:.2f} s (x{member_times[1] / member_times[0]:.1f} for x4 input)"
        )
    _tf_column(ctx, row, cases)
    return row


def _tf_column(ctx: Context, row: Row, cases: list) -> None:
    if not ctx.tf.available:
        row.tf_note = f"TF not run: {ctx.tf.why}"
        return
    small = [
        c
        for c in cases
        if c[2].stat().st_size < 64 * MIB and "record of" not in c[0] and "MiB record" not in c[0]
    ]
    reply = ctx.tf.call(
        "read",
        cases=[
            {"path": str(p), "codec": "GZIP" if codec == "auto" else codec}
            for _, codec, p, _, _, _ in small
        ],
    )["results"]
    silent = []
    for (name, _, _, _, expected, _), res in zip(small, reply, strict=True):
        outcome = classify(res["got"], res["error"], expected, res["typed"])
        row.tf[outcome] += 1
        if outcome == "silent":
            silent.append(name)
    note = (
        f"TF read the {len(small)} small cases"
        " (the big-record ones are in FORMAT.md: +425 MiB, no cap)"
    )
    if silent:
        note += "; TF silent on: " + ", ".join(silent)
    row.tf_note = note


__all__ = ["hostile", "base64", "time"]
