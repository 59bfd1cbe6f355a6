"""R11 interop: CRC32C test vectors and masked golden values; random record lists written by
recio and read by TF, written by TF and read by recio, NONE byte-identical and GZIP/ZLIB equal
after decompression."""

from __future__ import annotations

import base64
import zlib

from context import CODECS, Context
from outcome import ORIGINAL, SILENT, Row, digest

# RFC 3720 B.4 vectors and the empty/`foo` records of FORMAT.md.
CRC_VECTORS = [
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
]
GOLDEN_FRAMES = [
    (b"", bytes.fromhex("0000000000000000290398 07d8ea82a2".replace(" ", ""))),
    (b"foo", bytes.fromhex("0300000000000000b099490e666f6f618abefe")),
]


def _plain(codec: str, data: bytes) -> bytes:
    if codec == "GZIP":
        out, rest = b"", data
        while rest:
            d = zlib.decompressobj(31)
            out += d.decompress(rest)
            rest = d.unused_data
        return out
    if codec == "ZLIB":
        return zlib.decompress(data)
    return data


def interop(ctx: Context) -> Row:
    from recordio import _backend, read_records, write_records
    from recordio._framing import mask

    row = Row("R11", "interop vectors and TF <-> recio round trips of random record lists")
    for data, want in CRC_VECTORS:
        row.add(ORIGINAL if _backend.crc32c(data) == want else SILENT, {"crc_of": data.hex()[:20]})
    for record, frame in GOLDEN_FRAMES:
        n = len(record).to_bytes(8, "little")
        got = (
            n
            + mask(_backend.crc32c(n)).to_bytes(4, "little")
            + record
            + mask(_backend.crc32c(record)).to_bytes(4, "little")
        )
        row.add(ORIGINAL if got == frame else SILENT, {"frame_of": record.hex()})
    if not ctx.tf.available:
        row.tf_note = f"TF not run: {ctx.tf.why}; only the vectors were checked"
        return row
    folder = ctx.scratch("r11")
    rng = ctx.rng("interop")
    mismatches = []
    for i in range(ctx.budget.interop_lists):
        codec = CODECS[i % 3]
        records = [
            rng.randbytes(rng.choice([0, 1, 10, 100, 3000])) for _ in range(rng.randrange(0, 30))
        ]
        want = [digest(r) for r in records]
        ours, theirs = folder / f"recio-{i}", folder / f"tf-{i}"
        write_records(str(ours), records, codec, level=6)
        ctx.tf.call(
            "write",
            path=str(theirs),
            codec=codec,
            records=[base64.b64encode(r).decode() for r in records],
        )
        tf_read = ctx.tf.call("read", cases=[{"path": str(ours), "codec": codec}])["results"][0]
        ok_tf = tf_read["error"] is None and tf_read["got"] == want
        ok_recio = [digest(r) for r in read_records(str(theirs), codec)] == want
        same_bytes = _plain(codec, ours.read_bytes()) == _plain(codec, theirs.read_bytes())
        ok = ok_tf and ok_recio and same_bytes
        row.add(
            ORIGINAL if ok else SILENT,
            {
                "list": i,
                "codec": codec,
                "tf_reads_recio": ok_tf,
                "recio_reads_tf": ok_recio,
                "same_bytes": same_bytes,
            },
        )
        row.tf["same records" if ok_tf else "different"] += 1
        if not ok:
            mismatches.append(i)
    row.notes.append(
        f"{len(CRC_VECTORS)} CRC32C vectors, {len(GOLDEN_FRAMES)} golden frames,"
        f" {ctx.budget.interop_lists} random lists"
        " x (recio->TF, TF->recio, byte equality after decompression):"
        f" {len(mismatches)} mismatches"
    )
    row.tf_note = (
        "TF read every recio-written file"
        if not mismatches
        else f"mismatches in lists {mismatches[:5]}"
    )
    return row
