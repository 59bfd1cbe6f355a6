"""Read one file with recio in a fresh process and report records, error and peak memory.

    python probe_read.py PATH CODEC MAX_RECORD_BYTES EXPECTED_JSON

Run by the memory-sensitive rows (R7): ru_maxrss is a process-wide high-water mark, so each case
needs its own process. The address space is capped (RLIMIT_AS) so that a runaway allocation
fails here instead of hurting the machine.
"""

from __future__ import annotations

import json
import resource
import sys
import time

resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))

from outcome import classify, digest  # noqa: E402

from recordio import RecordIOError, read_records  # noqa: E402


def main() -> None:
    path, codec, limit, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    want = json.loads(expected)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    got: list[str] = []
    error, typed = None, True
    start = time.perf_counter()
    try:
        for record in read_records(
            path, None if codec == "auto" else codec, max_record_bytes=limit
        ):
            got.append(digest(record))
            del record
    except RecordIOError as exc:
        error = exc.kind
    except BaseException as exc:  # noqa: BLE001 - a crash, reported
        error, typed = f"{type(exc).__name__}: {exc}"[:200], False
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "outcome": classify(got, error, want, typed),
                "error": error,
                "n": len(got),
                "base_mib": base / 1024,
                "peak_mib": (peak - base) / 1024,
                "seconds": seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
