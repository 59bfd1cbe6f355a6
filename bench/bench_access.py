"""Index, random access, seekable GZIP and salvage: recio against its anchors, ratios in one run.

Rows (PERFORMANCE.md and issue 9 targets):
- read recio-written GZIP of incompressible 784-byte-payload Examples vs TF's
  `tf_record_iterator` on the same file (target >= 1.5x on 2 cores), at 1, 2, ... workers;
- the size cost of gzip members (target <= 1 %);
- `count_records` with an index (O(1)), from recio's member headers, and by a header scan of
  1 MiB records (target >= 2 GB/s), against counting with TF's iterator;
- `IndexedReader.take` of 830-byte records, batches of 1,000 random indices, CRCs checked
  (target >= 400,000 records/s), and one at a time;
- salvage scanning over damaged (random) bytes (target >= 50 MB/s).

Medians of interleaved repetitions; ratios within a repetition. Small by default; --full for
the anchor sizes. Usage: .venv/bin/python bench/bench_access.py [--full] [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recordio import (  # noqa: E402
    IndexedReader,
    TFRecordReader,
    count_records,
    index_file,
    write_records,
)
from recordio.recover import salvage_records  # noqa: E402


def examples(count: int, seed: int = 0) -> list[bytes]:
    """Serialized tf.train.Examples: `image` = 784 random bytes, `label` int64 (~830 B)."""
    from recordio import encode_example

    rng = np.random.default_rng(seed)
    blob = rng.bytes(784 * count)
    labels = rng.integers(0, 10, count)
    return [
        encode_example({"image": [blob[i * 784 : (i + 1) * 784]], "label": [int(labels[i])]})
        for i in range(count)
    ]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_rates(
    jobs: dict[str, Callable[[], object]], work: float, reps: int
) -> dict[str, list[float]]:
    """Per job, the rate (work / s) of each repetition; jobs interleaved, order rotated."""
    rates: dict[str, list[float]] = {name: [] for name in jobs}
    names = list(jobs)
    for rep in range(reps):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            rates[name].append(work / timed(jobs[name]))
    return rates


def ratio(rates: dict[str, list[float]], name: str, anchor: str) -> float:
    return statistics.median(a / b for a, b in zip(rates[name], rates[anchor], strict=True))


def row(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else (" ✔" if ok else " ✘")
    print(f"| {label} | {value} | {target}{mark} |")


def bench_gzip_read(tf, workdir: Path, count: int, reps: int) -> None:
    records = examples(count)
    path = workdir / "mnist-random.tfrecord.gz"
    single = workdir / "mnist-random-1stream.tfrecord.gz"
    write_records(path, records, "GZIP")
    write_records(single, records, "GZIP", member_bytes=0)
    tf_path = workdir / "mnist-random-tf.tfrecord.gz"
    with tf.io.TFRecordWriter(str(tf_path), tf.io.TFRecordOptions("GZIP")) as writer:
        for record in records:
            writer.write(record)
    options = tf.io.TFRecordOptions("GZIP")

    def tf_iter(p: Path) -> Callable[[], object]:
        return lambda: sum(1 for _ in tf.compat.v1.io.tf_record_iterator(str(p), options))

    def recio(p: Path, workers: int) -> Callable[[], object]:
        return lambda: sum(map(len, TFRecordReader(p, workers=workers).iter_batches()))

    cores = len(os.sched_getaffinity(0))
    jobs: dict[str, Callable[[], object]] = {"tf": tf_iter(path)}
    counts = sorted({1, 2, min(cores, 4), min(cores, 8), min(cores, 16)})
    for workers in counts:
        jobs[f"recio w{workers}"] = recio(path, workers)
    jobs["tf on TF's file"] = tf_iter(tf_path)
    jobs["recio on TF's file"] = recio(tf_path, 1)
    rates = median_rates(jobs, count, reps)
    print(f"\n### GZIP read, {count:,} Examples with random 784-byte images ({cores} cores)\n")
    print("| reader | records/s (median) | ratio to TF's iterator |")
    print("|---|---|---|")
    for name in jobs:
        anchor = "tf on TF's file" if "TF's file" in name else "tf"
        speed = statistics.median(rates[name])
        print(f"| {name} | {speed:,.0f} | {ratio(rates, name, anchor):.2f}x |")
    best = max(ratio(rates, f"recio w{w}", "tf") for w in counts if w <= 2)
    row("recio GZIP (members, <= 2 workers) / TF", f"{best:.2f}x", ">= 1.5x", best >= 1.5)
    sizes = {
        "members": path.stat().st_size,
        "one stream": single.stat().st_size,
        "TF": tf_path.stat().st_size,
    }
    cost = sizes["members"] / sizes["one stream"] - 1
    print(f"\nsizes: {sizes}")
    row("member size cost (vs one stream)", f"{cost * 100:.3f} %", "<= 1 %", cost <= 0.01)


def bench_member_cost_compressible(workdir: Path, count: int) -> None:
    rng = np.random.default_rng(3)
    text = [(b"feature=%d;label=%d;" % (int(rng.integers(1000)), i % 7)) * 40 for i in range(count)]
    sizes = []
    for member_bytes in (0, 1 << 20):
        path = workdir / f"text-{member_bytes}.tfrecord.gz"
        write_records(path, text, "GZIP", member_bytes=member_bytes, level=6)
        sizes.append(path.stat().st_size)
    cost = sizes[1] / sizes[0] - 1
    row("member size cost, repetitive text, level 6", f"{cost * 100:.3f} %", "<= 1 %", cost <= 0.01)


def bench_count(tf, workdir: Path, large: int, reps: int) -> None:
    rng = np.random.default_rng(4)
    big = [rng.bytes(1 << 20) for _ in range(large)]
    plain = workdir / "large.tfrecord"
    write_records(plain, big)
    gz = workdir / "mnist.tfrecord.gz"
    write_records(gz, examples(20_000, seed=5), "GZIP")
    indexed = workdir / "indexed.tfrecord"
    write_records(indexed, big[:8])
    index_file(indexed)
    size = plain.stat().st_size
    jobs = {
        "header scan, 1 MiB records": lambda: count_records(plain, use_sidecar=False),
        "tf iterator, 1 MiB records": lambda: sum(
            1 for _ in tf.compat.v1.io.tf_record_iterator(str(plain))
        ),
    }
    rates = median_rates(jobs, size, reps)
    scan = statistics.median(rates["header scan, 1 MiB records"])
    print("\n### count\n")
    print("| how | rate |  target |")
    print("|---|---|---|")
    row("count, header scan of 1 MiB records", f"{scan / 1e9:.1f} GB/s", ">= 2 GB/s", scan >= 2e9)
    ratio_tf = ratio(rates, "header scan, 1 MiB records", "tf iterator, 1 MiB records")
    row("  ... vs counting with TF's iterator", f"{ratio_tf:.1f}x")
    t_index = statistics.median(timed(lambda: count_records(indexed)) for _ in range(20))
    row("count with an index (any size)", f"{t_index * 1e6:.0f} µs", "O(1)", t_index < 0.01)
    t_members = statistics.median(
        timed(lambda: count_records(gz, use_sidecar=False)) for _ in range(5)
    )
    row("count recio GZIP from member headers, 20k records", f"{t_members * 1e3:.2f} ms")


def bench_take(tf, workdir: Path, count: int, reps: int) -> None:
    records = examples(count, seed=6)
    path = workdir / "take.tfrecord"
    write_records(path, records)
    reader = IndexedReader(path)
    len(reader)
    rng = np.random.default_rng(7)
    batches = [rng.integers(0, count, 1000) for _ in range(50)]
    assert reader.take(batches[0]) == [records[i] for i in batches[0]]

    def batched() -> None:
        for batch in batches:
            reader.take(batch)

    singles = rng.integers(0, count, 5000).tolist()

    def one_at_a_time() -> None:
        for i in singles:
            reader[i]

    take_rate = statistics.median(50_000 / timed(batched) for _ in range(reps))
    one_rate = statistics.median(5000 / timed(one_at_a_time) for _ in range(reps))
    offsets = reader.record_index.offsets
    from tensorflow.python.lib.io import tf_record

    tf_reader = tf_record.tf_record_random_reader(str(path))
    tf_picks = singles[:500]
    tf_rate = 500 / timed(lambda: [tf_reader.read(int(offsets[i])) for i in tf_picks])
    print("\n### random access, 830-byte records, uncompressed, CRCs checked\n")
    print("| how | records/s | target |")
    print("|---|---|---|")
    row(
        "take, batches of 1,000 random indices", f"{take_rate:,.0f}", ">= 400,000", take_rate >= 4e5
    )
    row("reader[i], one at a time", f"{one_rate:,.0f}")
    row("TF tf_record_random_reader, one at a time", f"{tf_rate:,.0f}")
    gz = workdir / "take.tfrecord.gz"
    write_records(gz, records, "GZIP")
    gz_reader = IndexedReader(gz)
    len(gz_reader)
    gz_rate = statistics.median(
        10_000 / timed(lambda: [gz_reader.take(b) for b in batches[:10]]) for _ in range(reps)
    )
    row("take from recio GZIP (members), batches of 1,000", f"{gz_rate:,.0f}")


def bench_salvage(workdir: Path, junk_mib: int, reps: int) -> None:
    from recordio import _framing

    records = examples(2000, seed=8)
    junk = np.random.default_rng(9).bytes(junk_mib << 20)
    path = workdir / "damaged.tfrecord"
    path.write_bytes(_framing.frame(records[:1000]) + junk + _framing.frame(records[1000:]))

    def salvage() -> None:
        regions: list[object] = []
        got = sum(1 for _ in salvage_records(path, on_damage=regions.append))
        assert got == 2000 and len(regions) == 1

    rate = statistics.median((junk_mib << 20) / timed(salvage) for _ in range(reps))
    print("\n### salvage\n")
    row("salvage scan over random bytes", f"{rate / 1e6:.0f} MB/s", ">= 50 MB/s", rate >= 50e6)


# VmHWM is this process's own peak (ru_maxrss is inherited from the parent across exec).
PEAK_READ = """
import sys
from recordio import TFRecordReader
def hwm():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024
base = hwm()
sizes = [len(r) for r in TFRecordReader(sys.argv[1], workers=1)]
print(max(sizes), base, hwm())
"""


def bench_large_record_memory(workdir: Path, mib: int) -> None:
    """Peak memory reading one large record from GZIP, in a fresh process (issue 10: 3.1x)."""
    import subprocess

    record = np.random.default_rng(10).bytes(mib << 20)
    print(f"\n### memory, one {mib} MiB record\n")
    for label, codec, member_bytes in [
        ("GZIP, recio members", "GZIP", 1 << 20),
        ("GZIP, one stream", "GZIP", 0),
        ("NONE", "NONE", 0),
    ]:
        path = workdir / f"big-{codec}-{member_bytes}.tfrecord"
        write_records(path, [b"a", record, b"b"], codec, member_bytes=member_bytes)
        done = subprocess.run(
            [sys.executable, "-c", PEAK_READ, str(path)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        size, base, peak = map(int, done.stdout.split())
        grown = (peak - base) / size
        bound = ((64 << 20) + size) / size
        row(f"peak RSS over start / record size, {label}", f"{grown:.2f}x", f"<= {bound:.2f}x",
            grown <= bound)  # fmt: skip
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the anchor sizes (slower)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--sections",
        default="read,count,take,salvage,memory",
        help="comma-separated: read (GZIP read and member cost), count, take, salvage, memory",
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    count = 60_000 if args.full else 20_000
    with tempfile.TemporaryDirectory(prefix="bench-access-") as folder:
        workdir = Path(folder)
        print("| row | figure | target |")
        print("|---|---|---|")
        sections = set(args.sections.split(","))
        if "read" in sections:
            bench_gzip_read(tf, workdir, count, args.reps)
            bench_member_cost_compressible(workdir, 20_000)
        if "count" in sections:
            bench_count(tf, workdir, 200 if args.full else 64, args.reps)
        if "take" in sections:
            bench_take(tf, workdir, count, args.reps)
        if "salvage" in sections:
            bench_salvage(workdir, 64 if args.full else 16, args.reps)
        if "memory" in sections:
            bench_large_record_memory(workdir, 255 if args.full else 96)


if __name__ == "__main__":
    main()
