"""Read one file with recio in a fresh process and report records, error and peak memory.

    python probe_read.py PATH CODEC MAX_RECORD_BYTES EXPECTED_JSON

Run by the memory-sensitive rows (R7): the peak (VmHWM) is a high-water mark of the whole
process, so each case needs its own process. The address space is capped (RLIMIT_AS) so that a
runaway allocation fails here instead of hurting the machine.
"""

from __future__ import annotations

import json
import resource
import sys
import time

resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))

from outcome import classify, digest  # noqa: E402

from recordio import RecordIOError, read_records  # noqa: E402


def high_water_mib() -> float:
    """Peak resident memory of this process image. Not ru_maxrss: Linux carries that over exec
    from the parent, so a child of a big process would start at the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    path, codec, limit, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    want = json.loads(expected)
    base = high_water_mib()
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
    peak = high_water_mib()
    print(
        json.dumps(
            {
                "outcome": classify(got, error, want, typed),
                "error": error,
                "n": len(got),
                "base_mib": base,
                "peak_mib": peak - base,
                "seconds": seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
