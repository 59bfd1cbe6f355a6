"""The reliability report (bench/reliability.py) at its smallest budget: every row of the R1-R12
catalog is there, and none has a crash, a silently wrong record, a destroyed user file or a torn
file. TensorFlow's differential column is left out here (--no-tf) to stay within a minute;
`python bench/reliability.py --budget ci` runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

IDS = [f"R{i}" for i in range(1, 13)]
# Failures the report found that are not fixed yet: (row, case) -> why. Listed, not hidden: the
# test fails on any other bad case, and asks for the entry's removal once the case passes.
KNOWN_OPEN: dict[tuple[str, str], str] = {}  # (row, case) -> why it is still open


def test_tiny_report_has_every_row_and_no_bad_outcome(tmp_path: Path) -> None:
    out = tmp_path / "reliability.json"
    proc = subprocess.run(
        [sys.executable, "bench/reliability.py", "--budget", "tiny", "--no-tf", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), proc.stderr[-2000:]
    report = json.loads(out.read_text())
    rows = {row["id"]: row for row in report["rows"]}
    seen_open: set[tuple[str, str | None]] = set()
    assert sorted(rows, key=lambda r: int(r[1:])) == IDS
    for rid, row in rows.items():
        if row["skipped"]:
            # Only missing tools may skip a row: atheris (R10), setpriv when run as root (R8).
            assert rid in ("R8", "R10"), f"{rid} skipped: {row['skipped']}"
            continue
        assert row["cases"] > 0, rid
        counts = row["recio"]
        bad = sum(counts[k] for k in ("crash", "silent", "destroyed", "torn"))
        cases = [(rid, ex.get("case")) for ex in row["examples"] if ex["outcome"] != "typed_error"]
        unknown = [case for case in cases if case not in KNOWN_OPEN]
        # Every bad case is listed among the examples (at most 10 per row), so the two agree.
        assert bad == len(cases) and not unknown, f"{rid}: {bad} bad; {row['examples'][:3]}"
        seen_open.update(cases)
    fixed = set(KNOWN_OPEN) - seen_open
    assert not fixed, f"these pass now: remove them from KNOWN_OPEN: {sorted(fixed)}"
    assert rows["R5"]["cases"] >= 10
    assert "| R1 |" in proc.stdout  # the Markdown table is printed
