"""R4 salvage: seeded damaged files (overwrites, deletions, insertions, a zeroed 4 KiB page),
read with `on_damage=`; every intact record outside the damaged span must come back, in order,
and no record may be invented. Some files carry payloads that embed valid TFRecord frames (the
adversarial case for a byte-scanning resync). TF's figure: records returned before its first
error (it has no salvage)."""

from __future__ import annotations

import base64
import io
import random
from collections import Counter

from context import Context
from framing import _frame
from outcome import CRASH, ORIGINAL, SILENT, Row, digest


def _records(rng: random.Random, adversarial: bool) -> list[bytes]:
    recs = [
        rng.randbytes(rng.choice([0, 1, 7, 30, 200, 1500])) for _ in range(rng.randrange(20, 60))
    ]
    if adversarial:
        for i in range(0, len(recs), 3):
            recs[i] = rng.randbytes(5) + _frame(rng.randbytes(20)) + rng.randbytes(3)
    return recs


def _damage(rng: random.Random, data: bytes) -> tuple[bytes, int, int, int, str]:
    """(damaged bytes, first damaged offset, end of damage in the original, shift, kind)."""
    kind = rng.choice(
        ["overwrite", "delete", "insert", "page"]
        if len(data) > 8192
        else ["overwrite", "delete", "insert"]
    )
    n = rng.randrange(1, 65)
    pos = rng.randrange(0, max(1, len(data) - n))
    if kind == "overwrite":
        new = bytearray(data)
        new[pos : pos + n] = rng.randbytes(n)
        changed = [i for i in range(pos, pos + n) if new[i] != data[i]]
        if not changed:
            return bytes(new), pos, pos, 0, kind
        return bytes(new), changed[0], changed[-1] + 1, 0, kind
    if kind == "delete":
        return data[:pos] + data[pos + n :], pos, pos + n, -n, kind
    if kind == "insert":
        return data[:pos] + rng.randbytes(n) + data[pos:], pos, pos, n, kind
    page = rng.randrange(0, len(data) // 4096) * 4096
    new = bytearray(data)
    new[page : page + 4096] = bytes(min(4096, len(data) - page))
    changed = [i for i in range(page, min(page + 4096, len(data))) if new[i] != data[i]]
    if not changed:
        return bytes(new), page, page, 0, kind
    return bytes(new), changed[0], changed[-1] + 1, 0, kind


def _intact(recs: list[bytes], start: int, end: int, insert: bool) -> list[bytes]:
    out, pos = [], 0
    for rec in recs:
        lo, hi = pos, pos + 16 + len(rec)
        hit = (lo < end and start < hi) if start < end else (insert and lo < start < hi)
        if not hit:
            out.append(rec)
        pos = hi
    return out


def _unmatched(got: list[bytes], recs: list[bytes]) -> int:
    """How many of `got` are not matched, in order, by a subsequence of `recs` (invented or
    reordered records)."""
    pos, bad = 0, 0
    for g in got:
        j = pos
        while j < len(recs) and recs[j] != g:
            j += 1
        if j == len(recs):
            bad += 1
        else:
            pos = j + 1
    return bad


def salvage(ctx: Context) -> Row:
    from recordio import RecordIOError, read_records

    row = Row(
        "R4",
        "salvage (on_damage=) of seeded damaged files: intact records recovered, none invented",
    )
    rng = ctx.rng("salvage")
    intact_total = recovered_total = missed = invented = 0
    kinds: Counter[str] = Counter()
    adversarial_missed = 0
    tf_cases = []
    for i in range(ctx.budget.salvage_files):
        adversarial = i % 10 == 9
        recs = _records(rng, adversarial)
        data = b"".join(_frame(r) for r in recs)
        bad, start, end, shift, kind = _damage(rng, data)
        kinds[kind] += 1
        want = _intact(recs, start, end, kind == "insert")
        reports: list = []
        got: list[bytes] = []
        try:
            got = list(read_records(io.BytesIO(bad), "NONE", on_damage=reports.append))
            error = None
        except RecordIOError as exc:
            error = exc.kind
        except Exception as exc:  # noqa: BLE001
            row.add(CRASH, {"file": i, "kind": kind, "error": repr(exc)[:200]})
            continue
        intact_total += len(want)
        lost = Counter(map(digest, want)) - Counter(map(digest, got))
        recovered = len(want) - sum(lost.values())
        recovered_total += recovered
        extra = _unmatched(got, recs)
        invented += extra
        damaged_anything = start < end or kind == "insert"
        if extra or (damaged_anything and not reports and got != recs):
            example = {"file": i, "kind": kind, "invented": extra, "adversarial": adversarial}
            row.add(SILENT, example | {"error": error, "reports": len(reports)})
        elif got != want:
            missed += len(want) - recovered
            adversarial_missed += adversarial
            row.add("missed_intact")
        else:
            row.add(ORIGINAL)
        tf_cases.append((bad, want, recs))
    pct = 100.0 * recovered_total / intact_total if intact_total else 100.0
    row.notes.append(
        f"{ctx.budget.salvage_files} files ({dict(kinds)}; every 10th adversarial):"
        f" {recovered_total:,} of"
        f" {intact_total:,} intact records recovered ({pct:.2f} %), {missed} missed,"
        f" {invented} invented"
    )
    row.recio["intact_recovered_pct"] = round(pct, 2)  # type: ignore[assignment]
    if ctx.tf.available:
        tf_got = 0
        for start in range(0, len(tf_cases), 200):
            batch = tf_cases[start : start + 200]
            reply = ctx.tf.call(
                "bytes",
                cases=[{"b64": base64.b64encode(b).decode(), "codec": "NONE"} for b, _, _ in batch],
            )
            for (_, want, _), res in zip(batch, reply["results"], strict=True):
                wanted = {digest(r) for r in want}
                tf_got += sum(1 for g in res["got"] if g in wanted)
                row.tf["stopped at the first error" if res["error"] else "no error"] += 1
        tpct = 100.0 * tf_got / intact_total if intact_total else 100.0
        row.tf_note = (
            f"TF returned {tf_got:,} of the {intact_total:,} intact records ({tpct:.1f} %)"
        )
    else:
        row.tf_note = f"TF not run: {ctx.tf.why}"
    return row
