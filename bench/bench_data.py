"""`recio stats` and `recio convert` against their anchors, on Fashion-MNIST-shaped Examples.

    python bench/bench_data.py              # 60,000 Examples; memory check on 10x (600,000)
    python bench/bench_data.py --quick      # 10,000 Examples, memory check on 3x

Targets (issue 12): stats >= 0.5x the speed of reading the same records (recordio, CRC on);
convert to Parquet >= 1.0x a loop of tf.train.Example.FromString + pyarrow on the same records
(same batch size, same Parquet compression); memory bounded on 10x the data (peak RSS of a
separate process converting 1x and 10x). Times are the best of --reps runs, order rotated.
Data go to a temporary folder (never the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_loaders import make_arrays  # noqa: E402

from recordio import TFRecordReader, encode_example, write_records  # noqa: E402

BATCH = 8192


def make_file(path: Path, n: int, compression: str, seed: int = 0) -> None:
    images, labels = make_arrays(n, seed)
    records = [
        encode_example({"image": image.tobytes(), "label": int(label)})
        for image, label in zip(images, labels, strict=True)
    ]
    write_records(str(path), records, compression, level=6 if compression == "GZIP" else None)


def read_all(path: str) -> int:
    n = 0
    with TFRecordReader(path) as reader:
        for batch in reader.iter_batches():
            n += len(batch)
    return n


def stats(path: str) -> Any:
    from pipeline.inspect import dataset_stats, profile_files

    return dataset_stats(profile_files([path]))


def recio_parquet(path: str, out: str) -> None:
    from recordio.tabular import records_to_parquet

    records_to_parquet([path], out, batch_records=BATCH)


def anchor_parquet(path: str, out: str, tf: Any) -> None:
    """What one writes by hand: FromString per record, Python lists, a pyarrow table per batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from_string = tf.train.Example.FromString
    schema = pa.schema([("image", pa.binary()), ("label", pa.int64())])
    with (
        pq.ParquetWriter(out, schema, compression="snappy") as writer,
        TFRecordReader(path) as reader,
    ):
        for batch in reader.iter_batches(max_records=BATCH):
            images, labels = [], []
            for record in batch:
                feature = from_string(record).features.feature
                images.append(feature["image"].bytes_list.value[0])
                labels.append(feature["label"].int64_list.value[0])
            writer.write_table(pa.table({"image": images, "label": labels}, schema=schema))


def best(fn: Any, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peak_rss(path: str, out: str) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of `recordio.tabular.records_to_parquet` in a fresh process.

    VmHWM, not getrusage: Linux carries ru_maxrss over exec, so a child of this process (which
    has TensorFlow loaded) would report the parent's peak.
    """
    code = (
        "import time\n"
        "import pyarrow.parquet\n"
        "from recordio.tabular import records_to_parquet\n"
        "t = time.perf_counter()\n"
        f"records_to_parquet([{path!r}], {out!r})\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(time.perf_counter() - t, hwm)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    seconds, rss_kib = done.stdout.split()
    os.unlink(out)
    return float(seconds), int(rss_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    n = 10_000 if args.quick else 60_000
    scale = 3 if args.quick else 10
    import tensorflow as tf

    report: dict[str, Any] = {"records": n}
    with tempfile.TemporaryDirectory(prefix="bench_data_") as tmp:
        folder = Path(tmp)
        for compression, name in (("NONE", "d.tfrecord"), ("GZIP", "d.tfrecord.gz")):
            path = str(folder / name)
            make_file(Path(path), n, compression)
            assert read_all(path) == n
            read_s = best(lambda path=path: read_all(path), args.reps)
            stats_s = best(lambda path=path: stats(path), args.reps)
            out = str(folder / "x.parquet")

            def ours(path: str = path, out: str = out) -> None:
                recio_parquet(path, out)
                os.unlink(out)

            def anchor(path: str = path, out: str = out) -> None:
                anchor_parquet(path, out, tf)
                os.unlink(out)

            ours_s = best(ours, args.reps)
            anchor_s = best(anchor, args.reps)
            report[compression] = {
                "read_s": read_s,
                "stats_s": stats_s,
                "stats_vs_read": read_s / stats_s,
                "convert_s": ours_s,
                "anchor_convert_s": anchor_s,
                "convert_vs_anchor": anchor_s / ours_s,
            }
            print(
                f"{compression}: read {read_s:.3f} s, stats {stats_s:.3f} s "
                f"(= {read_s / stats_s:.2f}x reading); parquet: recio {ours_s:.3f} s, "
                f"FromString+pyarrow {anchor_s:.3f} s (recio {anchor_s / ours_s:.2f}x)",
                flush=True,
            )
        small = folder / "m1.tfrecord.gz"
        big = folder / "m10.tfrecord.gz"
        make_file(small, n, "GZIP")
        make_file(big, n * scale, "GZIP", seed=1)
        s1, rss1 = peak_rss(str(small), str(folder / "m1.parquet"))
        s10, rss10 = peak_rss(str(big), str(folder / "m10.parquet"))
        report["memory"] = {
            "records": [n, n * scale],
            "seconds": [s1, s10],
            "rss_mib": [rss1, rss10],
        }
        print(
            f"memory: convert {n:,} records peak RSS {rss1:.0f} MiB ({s1:.1f} s); "
            f"{n * scale:,} records {rss10:.0f} MiB ({s10:.1f} s)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
