"""Progress while a job runs: rows processed, reported every few seconds.

Two sources, because runners differ: DoFns running in this process bump a process-local
counter (`note`), which a reporter thread reads (the in-process runner executes `run()`
synchronously, so Beam's metrics are only available at the end); runners that return from
`run()` at once (Dataflow, portable job servers) are polled through Beam's metrics instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

NAMESPACE = "recio"
ROWS_COUNTER = "rows_read"

_lock = threading.Lock()
_local: dict[str, int] = {}

ProgressCallback = Callable[[int], None]


def note(name: str, count: int) -> None:
    """Count `count` more `name` events in this process (called from DoFns)."""
    with _lock:
        _local[name] = _local.get(name, 0) + count


def local_count(name: str) -> int:
    with _lock:
        return _local.get(name, 0)


def count(name: str, n: int) -> None:
    """Bump both the Beam metric recio/<name> and the local progress counter."""
    from apache_beam.metrics import Metrics

    Metrics.counter(NAMESPACE, name).inc(n)
    note(name, n)


class LocalReporter:
    """Calls `callback(rows)` every `interval` seconds while rows keep coming (a thread)."""

    def __init__(self, callback: ProgressCallback, *, interval: float = 2.0) -> None:
        self._callback = callback
        self._interval = interval
        self._stop = threading.Event()
        self._start = local_count(ROWS_COUNTER)
        self._thread = threading.Thread(target=self._loop, name="recio-progress", daemon=True)
        self._last = 0

    def _report(self) -> None:
        rows = local_count(ROWS_COUNTER) - self._start
        if rows != self._last:
            self._last = rows
            self._callback(rows)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._report()

    def __enter__(self) -> LocalReporter:
        self._last = 0
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if exc[0] is None:
            self._report()  # the final count, even for jobs shorter than one interval


def poll_remote(result: Any, callback: ProgressCallback | None, *, interval: float = 10.0) -> None:
    """Wait for an asynchronous runner's job, reporting recio/rows_read as it grows."""
    from apache_beam.runners.runner import PipelineState

    last = -1
    while True:
        state = result.state
        if PipelineState.is_terminal(state):
            return
        if callback is not None:
            # A runner that returns no metrics (a portable job server) has no count to show.
            rows = counter_values(result, attempted=True).get(ROWS_COUNTER)
            if rows is not None and rows != last:
                last = rows
                callback(rows)
        time.sleep(interval)


def counter_values(result: Any, *, attempted: bool = False) -> dict[str, int]:
    """All recio/* counters of a finished (or running) job as {name: value}."""
    from apache_beam.metrics.metric import MetricsFilter

    try:
        counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    except Exception:  # some runners do not report metrics (or not while running)
        return {}
    values: dict[str, int] = {}
    for c in counters:
        value = c.attempted if attempted or c.committed is None else c.committed
        values[c.key.metric.name] = values.get(c.key.metric.name, 0) + int(value or 0)
    return values
