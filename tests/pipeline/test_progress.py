"""Progress lines while a job runs (the in-process counter and its reporter thread)."""

from __future__ import annotations

import time

from pipeline import progress


def test_reporter_reports_while_rows_arrive_and_once_at_the_end() -> None:
    seen: list[int] = []
    with progress.LocalReporter(seen.append, interval=0.02):
        for _ in range(5):
            progress.note(progress.ROWS_COUNTER, 100)
            time.sleep(0.08)
        progress.note(progress.ROWS_COUNTER, 1)
    assert len(seen) >= 3  # several reports during the run, not just one at the end
    assert seen == sorted(seen) and seen[-1] == 501
    assert len(set(seen)) == len(seen)  # only when the count changed


def test_reporter_stays_quiet_without_rows() -> None:
    seen: list[int] = []
    with progress.LocalReporter(seen.append, interval=0.01):
        time.sleep(0.05)
    assert seen == []
