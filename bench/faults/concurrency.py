"""R9 concurrency: reader threads and processes reading a folder while a writer publishes shards
by rename (a reader must see a shard whole or not at all); one reader shared by two threads; no
file-descriptor leak over 1,000 opens; tf.data's parallel interleave over recio-written shards
reads the same records as a serial read."""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from context import Context
from outcome import CRASH, ORIGINAL, SILENT, TORN, TYPED, Row, digest

SHARD_RECORDS = 200


def shard_records(i: int) -> list[bytes]:
    rng = random.Random(i)
    return [rng.randbytes(rng.randrange(0, 2048)) for _ in range(SHARD_RECORDS)]


def _writer(folder: Path, shards: int, done: threading.Event) -> None:
    from recordio import write_records

    for i in range(shards):
        write_records(
            str(folder / f"s-{i:05d}.tfrecord"),
            shard_records(i),
            "GZIP" if i % 2 else "NONE",
            fsync=False,
        )
    done.set()


def read_visible(folder: str, rounds: int) -> Counter[str]:
    """Read every visible shard `rounds` times; judge each read against its known records."""
    from recordio import RecordIOError, read_records

    tally: Counter[str] = Counter()
    for _ in range(rounds):
        for name in sorted(os.listdir(folder)):
            if name.startswith("."):
                continue
            want = [digest(r) for r in shard_records(int(name[2:7]))]
            try:
                got = [digest(r) for r in read_records(os.path.join(folder, name))]
            except RecordIOError:
                tally[TORN] += 1  # a published shard must never be partial
                continue
            except Exception:  # noqa: BLE001
                tally[CRASH] += 1
                continue
            tally[ORIGINAL if got == want else SILENT] += 1
        time.sleep(0.005)
    return tally


def concurrency(ctx: Context) -> Row:
    row = Row("R9", "concurrency: 4 reader threads + 2 processes while a writer publishes shards")
    folder = ctx.scratch("r9")
    shards = 6 * ctx.budget.concurrency_rounds
    done = threading.Event()
    writer = threading.Thread(target=_writer, args=(folder, shards, done))
    results: list[Counter[str]] = []
    rounds = 3 * ctx.budget.concurrency_rounds
    # spawn, not fork: a child forked while the writer thread holds a lock would hang.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(len, "warm").result(timeout=120)  # the workers exist before the writer starts
        writer.start()
        futures = [pool.submit(read_visible, str(folder), rounds) for _ in range(2)]
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    read_visible(str(folder), 3 * ctx.budget.concurrency_rounds)
                )
            )
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results += [f.result(timeout=300) for f in futures]
    writer.join()
    total: Counter[str] = Counter()
    for tally in results:
        total.update(tally)
    for outcome, n in total.items():
        for _ in range(n):
            row.add(outcome)
    row.notes.append(f"{shards} shards published while 6 readers read: {dict(total)}")
    _shared_reader(row, folder)
    _fd_leak(row, folder)
    _tf_interleave(ctx, row, folder, shards)
    return row


def _shared_reader(row: Row, folder: Path) -> None:
    from recordio import RecordIOError, TFRecordReader

    reader = TFRecordReader(str(folder / "s-00000.tfrecord"))
    outcomes: list[tuple[str, int]] = []

    def take() -> None:
        try:
            outcomes.append(("records", len(list(reader))))
        except RecordIOError:
            outcomes.append(("typed", 0))
        except Exception as error:  # noqa: BLE001
            outcomes.append((f"crash {error!r}", 0))

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kinds = sorted(k for k, _ in outcomes)
    count = sum(n for _, n in outcomes)
    ok = kinds == ["records", "typed"] and count == SHARD_RECORDS
    row.add(
        TYPED if ok else (CRASH if any(k.startswith("crash") for k in kinds) else SILENT),
        {"case": "shared reader", "outcomes": outcomes},
    )
    row.notes.append(
        f"one reader iterated by 2 threads: {outcomes}"
        " (one gets every record, the other a typed error)"
    )


def _fd_leak(row: Row, folder: Path) -> None:
    from recordio import TFRecordReader, read_records

    fds = lambda: len(os.listdir("/proc/self/fd"))  # noqa: E731
    before = fds()
    for i in range(1000):
        path = str(folder / f"s-{i % 2:05d}.tfrecord")
        if i % 3 == 0:
            with TFRecordReader(path) as reader:
                next(iter(reader))
        elif i % 3 == 1:
            gen = read_records(path)
            next(gen)
            del gen
        else:
            for _ in read_records(path):
                break
    after = fds()
    row.add(
        ORIGINAL if after <= before else SILENT,
        {"case": "fd leak", "before": before, "after": after},
    )
    row.notes.append(
        "file descriptors before/after 1,000 opens (closed, abandoned, broken out of):"
        f" {before}/{after}"
    )


def _tf_interleave(ctx: Context, row: Row, folder: Path, shards: int) -> None:
    if not ctx.tf.available:
        row.tf_note = f"TF not run: {ctx.tf.why}"
        return
    plain = [str(folder / f"s-{i:05d}.tfrecord") for i in range(0, shards, 2)]  # the NONE shards
    got = ctx.tf.call("interleave", paths=plain)["got"]
    want = [digest(r) for i in range(0, shards, 2) for r in shard_records(i)]
    same = Counter(got) == Counter(want)
    row.tf["same records" if same else "different"] += 1
    verdict = "same multiset of records as a serial read" if same else "DIFFERENT records"
    row.tf_note = f"tf.data interleave(num_parallel_calls=2), {len(plain)} recio shards: {verdict}"
