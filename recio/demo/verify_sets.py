"""`recio verify` over the demo's output sets: every file read end to end, every CRC checked."""

from __future__ import annotations

from collections.abc import Sequence

from recio.demo.report import VerifiedSet
from recordio import verify_file


def verify_set(name: str, files: Sequence[str]) -> VerifiedSet:
    """Verify each file of one output set (the library call behind `recio verify`)."""
    records, issues, ok = 0, [], bool(files)
    for path in files:
        found = verify_file(path)
        records += found.records
        ok = ok and found.ok
        issues += [
            f"{path}: record {d.index} at byte {d.offset}: {d.message}" for d in found.issues
        ]
    if not files:
        issues.append("no files")
    return VerifiedSet(name=name, files=len(files), records=records, ok=ok, issues=issues)


__all__ = ["verify_set"]
