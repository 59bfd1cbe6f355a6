"""Time recio's TFRecord reader and writer against TensorFlow's, on the same files, in one run.

Why a script and not a test: absolute speeds on a shared 2-core machine are noise; what means
something is the ratio of two implementations measured side by side, on the same warm files, with
repetitions interleaved. This script does exactly that and prints markdown tables of ratios
(recio / each TF anchor) with the targets of docs/PERFORMANCE.md marked pass/fail.

Method (as in PERFORMANCE.md): data is generated deterministically and written once by
`tf.io.TFRecordWriter` (NONE and GZIP); page cache warm; every reader and writer of a section runs
once per repetition, round-robin (the order rotates between repetitions); medians over
repetitions; ratios are formed within a repetition, then their median is taken. `gc.freeze()`
after the heavy imports. Readers run to EOF or a time cap (`--cap`), so slow paths (eager tf.data)
are measured at steady state without taking minutes. Writers always write the whole data set and
are timed to the end of close() (recio's atomic close includes fsync + rename; TF does neither).

Usage:
    .venv/bin/python bench/bench_recordio.py --quick          # a minute; biased TF-graph numbers
    .venv/bin/python bench/bench_recordio.py                  # full sizes, several minutes
    .venv/bin/python bench/bench_recordio.py --sections read --shapes large --reps 5
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

COMPRESSIONS = ("NONE", "GZIP")
MB = 1e6
MiB = 1 << 20
VERIFY_FILE_RECORDS = 1000
CLI_RUNS = 5
CLI_TARGET_S = 0.3


# -- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """One data set of the anchors: how many records, how to make them, how TF's graph batches."""

    name: str
    label: str  # {n} stands for the record count
    full_count: int
    quick_count: int
    make: Callable[[int, Any], list[bytes]]
    graph_batch: int  # TFRecordDataset.batch(n) in the graph path (1 for 1 MiB records)
    step: int  # records pulled per deadline check by the per-record consumers


def make_small(count: int, tf: Any) -> list[bytes]:
    """Random 100-byte records (incompressible payload, like hashed keys)."""
    import numpy as np

    blob = np.random.default_rng(1).bytes(100 * count)
    return [blob[i : i + 100] for i in range(0, len(blob), 100)]


def make_mnist(count: int, tf: Any) -> list[bytes]:
    """Serialized tf.train.Examples shaped like Fashion-MNIST: 784-byte image + int64 label.

    The image is an elliptic blob with noise on a zero background, so GZIP shrinks the file to
    roughly the 0.4 of the real data set.
    """
    import numpy as np

    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    example, features, feature = tf.train.Example, tf.train.Features, tf.train.Feature
    bytes_list, int64_list = tf.train.BytesList, tf.train.Int64List
    out: list[bytes] = []
    for start in range(0, count, 4096):
        k = min(4096, count - start)

        def draw(low: float, high: float, k: int = k) -> Any:
            return rng.uniform(low, high, (k, 1, 1)).astype(np.float32)

        d = ((yy - draw(10, 18)) / draw(7.5, 13)) ** 2 + (
            (xx - draw(10, 18)) / draw(5.5, 11.5)
        ) ** 2
        value = draw(120, 255) * (1.0 - 0.5 * d) + rng.integers(-30, 30, (k, 28, 28))
        images = np.where(d <= 1.0, np.clip(value, 0, 255), 0).astype(np.uint8)
        labels = rng.integers(0, 10, k)
        for image, label in zip(images, labels, strict=True):
            feats = {
                "image": feature(bytes_list=bytes_list(value=[image.tobytes()])),
                "label": feature(int64_list=int64_list(value=[int(label)])),
            }
            out.append(example(features=features(feature=feats)).SerializeToString())
    return out


def make_large(count: int, tf: Any) -> list[bytes]:
    """1 MiB records of random 4-bit symbols (GZIP makes them about 0.57)."""
    import numpy as np

    rng = np.random.default_rng(3)
    return [rng.integers(0, 16, MiB, dtype=np.uint8).tobytes() for _ in range(count)]


SHAPES = {
    "small": Shape("small", "{n} × 100 B", 1_000_000, 50_000, make_small, 1024, 4096),
    "mnist": Shape("mnist", "{n} mnist Examples", 60_000, 6_000, make_mnist, 1024, 4096),
    "large": Shape("large", "{n} × 1 MiB", 200, 20, make_large, 1, 4),
}


def file_name(shape: str, count: int, compression: str) -> str:
    """Named by count too, so a kept --workdir never serves a quick file to a full run."""
    suffix = ".tfrecord.gz" if compression == "GZIP" else ".tfrecord"
    return f"{shape}-{count}-{compression.lower()}{suffix}"


# -- measuring ----------------------------------------------------------------------------------
@dataclass
class Cell:
    """Repeated measurements of one implementation in one section."""

    records: list[float] = field(default_factory=list)  # records/s per repetition
    payload: list[float] = field(default_factory=list)  # payload bytes/s per repetition
    seconds: list[float] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)
    size: int | None = None  # output bytes (writers)

    def median(self) -> tuple[float, float]:
        return statistics.median(self.records), statistics.median(self.payload)

    def spread(self) -> float:
        return max(self.records) / min(self.records) if self.records else float("nan")


def drain(it: Iterator[bytes], step: int, deadline: float) -> tuple[int, int, bool]:
    """Pull records one at a time, counting in C (list/islice/map), until EOF or the deadline."""
    n = nbytes = 0
    clock = time.perf_counter
    while True:
        batch = list(islice(it, step))
        if not batch:
            return n, nbytes, True
        n += len(batch)
        nbytes += sum(map(len, batch))
        if clock() > deadline:
            return n, nbytes, False


def drain_batches(batches: Iterable[list[bytes]], deadline: float) -> tuple[int, int, bool]:
    n = nbytes = 0
    clock = time.perf_counter
    for batch in batches:
        n += len(batch)
        nbytes += sum(map(len, batch))
        if clock() > deadline:
            return n, nbytes, False
    return n, nbytes, True


def calibrate() -> float:
    """Seconds for a fixed bit of pure-Python work: its drift shows what other tenants cost us."""
    start = time.perf_counter()
    total = 0
    for i in range(300_000):
        total += i & 7
    return time.perf_counter() - start


class Bench:
    def __init__(self, args: argparse.Namespace, tf: Any, workdir: Path) -> None:
        self.args = args
        self.tf = tf
        self.workdir = workdir
        self.reads: dict[tuple[str, str], dict[str, Cell]] = {}
        self.writes: dict[str, dict[str, Cell]] = {}
        self.expected: dict[str, tuple[int, int]] = {}  # shape -> (records, payload bytes)
        self.cli: dict[str, Any] = {}
        self.calibration: list[float] = []
        self.loads: list[tuple[str, float]] = []
        self._graph_fns: dict[tuple[str, int], Any] = {}

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def note_load(self, where: str) -> None:
        self.loads.append((where, os.getloadavg()[0]))
        self.calibration.append(calibrate())

    # -- readers: each returns (records, payload bytes, reached EOF) ------------------------------
    def tf_options(self, compression: str) -> Any:
        return self.tf.io.TFRecordOptions(compression_type="" if compression == "NONE" else "GZIP")

    def read_v1(self, path: str, comp: str, shape: Shape, deadline: float) -> tuple[int, int, bool]:
        it = self.tf.compat.v1.io.tf_record_iterator(path, options=self.tf_options(comp))
        return drain(iter(it), shape.step, deadline)

    def read_eager(
        self, path: str, comp: str, shape: Shape, deadline: float
    ) -> tuple[int, int, bool]:
        ds = self.tf.data.TFRecordDataset(path, compression_type="" if comp == "NONE" else comp)
        return drain(ds.as_numpy_iterator(), shape.step, deadline)

    def graph_fn(self, comp: str, batch: int) -> Any:
        key = (comp, batch)
        if key not in self._graph_fns:
            tf = self.tf
            kind = "" if comp == "NONE" else comp

            @tf.function
            def total(path: Any) -> Any:
                ds = tf.data.TFRecordDataset(path, compression_type=kind).batch(batch)

                def add(acc: Any, b: Any) -> Any:
                    size = tf.cast(tf.size(b), tf.int64)
                    nbytes = tf.reduce_sum(tf.cast(tf.strings.length(b), tf.int64))
                    return acc[0] + size, acc[1] + nbytes

                zero = tf.constant(0, tf.int64)
                return ds.reduce((zero, zero), add)

            self._graph_fns[key] = total
        return self._graph_fns[key]

    def read_graph(
        self, path: str, comp: str, shape: Shape, deadline: float
    ) -> tuple[int, int, bool]:
        n, nbytes = self.graph_fn(comp, shape.graph_batch)(self.tf.constant(path))
        return int(n.numpy()), int(nbytes.numpy()), True

    @staticmethod
    def read_recio_batches(
        path: str, comp: str, shape: Shape, deadline: float, verify: bool = True
    ) -> tuple[int, int, bool]:
        from recordio import TFRecordReader

        reader = TFRecordReader(path, verify=verify)
        try:
            return drain_batches(reader.iter_batches(), deadline)
        finally:
            reader.close()

    @staticmethod
    def read_recio_nocrc(
        path: str, comp: str, shape: Shape, deadline: float
    ) -> tuple[int, int, bool]:
        return Bench.read_recio_batches(path, comp, shape, deadline, verify=False)

    @staticmethod
    def read_recio_iter(
        path: str, comp: str, shape: Shape, deadline: float
    ) -> tuple[int, int, bool]:
        from recordio import TFRecordReader

        reader = TFRecordReader(path)
        try:
            return drain(iter(reader), shape.step, deadline)
        finally:
            reader.close()

    def readers(self) -> dict[str, Callable[..., tuple[int, int, bool]]]:
        return {
            "tf_record_iterator": self.read_v1,
            "tf.data graph": self.read_graph,
            "tf.data eager": self.read_eager,
            "recio iter_batches": self.read_recio_batches,
            "recio for r in reader": self.read_recio_iter,
            "recio iter_batches verify=False": self.read_recio_nocrc,
        }

    # -- writers: each writes all records to `path` and returns nothing -----------------------
    def write_tf(self, path: str, comp: str, records: list[bytes]) -> None:
        with self.tf.io.TFRecordWriter(path, self.tf_options(comp)) as writer:
            write = writer.write
            for record in records:
                write(record)

    @staticmethod
    def write_recio(path: str, comp: str, records: list[bytes], level: int | None = None) -> None:
        from recordio import TFRecordWriter

        with TFRecordWriter(path, comp, level=level) as writer:
            writer.write_many(records)

    @staticmethod
    def write_recio_loop(path: str, comp: str, records: list[bytes]) -> None:
        from recordio import TFRecordWriter

        with TFRecordWriter(path, comp) as writer:
            write = writer.write
            for record in records:
                write(record)

    @staticmethod
    def write_recio_fileobj(path: str, comp: str, records: list[bytes]) -> None:
        from recordio import TFRecordWriter

        with open(path, "wb") as file, TFRecordWriter(file, comp) as writer:
            writer.write_many(records)

    def writers(self) -> dict[str, tuple[str, Callable[[str, str, list[bytes]], None]]]:
        def level6(path: str, comp: str, records: list[bytes]) -> None:
            self.write_recio(path, comp, records, level=6)

        return {
            "TF NONE": ("NONE", self.write_tf),
            "TF GZIP": ("GZIP", self.write_tf),
            "recio NONE write_many": ("NONE", self.write_recio),
            "recio NONE write() loop": ("NONE", self.write_recio_loop),
            "recio NONE to a file object (no fsync)": ("NONE", self.write_recio_fileobj),
            "recio GZIP fast (default)": ("GZIP", self.write_recio),
            "recio GZIP level=6": ("GZIP", level6),
        }

    # -- sections ---------------------------------------------------------------------------
    def prepare(self, shape: Shape) -> list[bytes]:
        count = shape.quick_count if self.args.quick else shape.full_count
        started = time.perf_counter()
        records = shape.make(count, self.tf)
        self.expected[shape.name] = (len(records), sum(map(len, records)))
        for comp in COMPRESSIONS:
            path = self.workdir / file_name(shape.name, count, comp)
            if not path.exists():
                self.write_tf(str(path), comp, records)
            path.read_bytes()  # warm the page cache
        if shape.name == "mnist":
            small = self.workdir / "verify-small.tfrecord.gz"
            if not small.exists():
                self.write_tf(str(small), "GZIP", records[:VERIFY_FILE_RECORDS])
        self.log(
            f"[{shape.name}] {len(records):,} records, {self.expected[shape.name][1] / MB:.0f} MB"
            f" payload, files ready in {time.perf_counter() - started:.1f} s"
        )
        return records

    def run_writes(self, shape: Shape, records: list[bytes]) -> None:
        cells: dict[str, Cell] = {name: Cell() for name in self.writers()}
        self.writes[shape.name] = cells
        count, payload = self.expected[shape.name]
        names = list(cells)
        out = str(self.workdir / f"out-{shape.name}.tfrecord")
        for rep in range(self.args.reps):
            self.note_load(f"write {shape.name} rep {rep + 1}")
            shift = rep % len(names)
            for name in names[shift:] + names[:shift]:
                comp, fn = self.writers()[name]
                start = time.perf_counter()
                fn(out, comp, records)
                seconds = time.perf_counter() - start
                cell = cells[name]
                cell.seconds.append(seconds)
                cell.records.append(count / seconds)
                cell.payload.append(payload / seconds)
                cell.size = os.path.getsize(out)
                os.unlink(out)
            self.log(f"[{shape.name}] writes rep {rep + 1}/{self.args.reps} done")
        self.check_written(shape, records)

    def check_written(self, shape: Shape, records: list[bytes]) -> None:
        """Every recio output must read back, through TF, as the very records written."""
        out = str(self.workdir / f"check-{shape.name}.tfrecord")
        want = digest_batches([records])
        for comp, level in (("NONE", None), ("GZIP", None), ("GZIP", 6)):
            self.write_recio(out, comp, records, level=level)
            got = digest_iter(self.tf.compat.v1.io.tf_record_iterator(out, self.tf_options(comp)))
            os.unlink(out)
            if got != want:
                raise SystemExit(
                    f"recio's {comp} (level {level}) {shape.name} file reads back wrong"
                )

    def run_reads(self, shape: Shape, comp: str) -> None:
        path = str(self.workdir / file_name(shape.name, self.expected[shape.name][0], comp))
        readers = self.readers()
        cells: dict[str, Cell] = {name: Cell() for name in readers}
        self.reads[(shape.name, comp)] = cells
        count, payload = self.expected[shape.name]
        # Untimed: the same records from recio and TF (also warms caches and traces the graph).
        want = digest_iter(self.tf.compat.v1.io.tf_record_iterator(path, self.tf_options(comp)))
        from recordio import TFRecordReader

        got = digest_batches(TFRecordReader(path).iter_batches())
        if got != want:
            raise SystemExit(f"recio and TF read different records from {path}")
        self.read_graph(path, comp, shape, 0.0)
        names = list(readers)
        for rep in range(self.args.reps):
            self.note_load(f"read {shape.name}/{comp} rep {rep + 1}")
            shift = rep % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                start = time.perf_counter()
                n, nbytes, eof = readers[name](path, comp, shape, start + self.args.cap)
                seconds = time.perf_counter() - start
                cell = cells[name]
                if eof and (n, nbytes) != (count, payload):
                    raise SystemExit(f"{name} read {n} records / {nbytes} B of {path}")
                if not eof:
                    cell.notes.add("capped")
                cell.seconds.append(seconds)
                cell.records.append(n / seconds)
                cell.payload.append(nbytes / seconds)
            self.log(f"[{shape.name}/{comp}] reads rep {rep + 1}/{self.args.reps} done")

    # -- whole processes --------------------------------------------------------------------
    def run_cli(self) -> None:
        recio = Path(sys.executable).with_name("recio")
        base = [str(recio)] if recio.exists() else [sys.executable, "-m", "recio"]
        small = self.workdir / "verify-small.tfrecord.gz"
        commands: dict[str, list[str]] = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "python -c 'import recordio'": [sys.executable, "-c", "import recordio"],
            "recio --help": [*base, "--help"],
        }
        probe = subprocess.run([*base, "verify", "--help"], capture_output=True, text=True)
        if probe.returncode != 0:
            reason = last_line(probe.stderr or probe.stdout)
            self.cli["recio verify"] = {"skipped": f"`recio verify --help` fails: {reason}"}
        elif not small.exists():
            self.cli["recio verify"] = {"skipped": "no small file (run with the mnist shape)"}
        else:
            commands[f"recio verify ({VERIFY_FILE_RECORDS} mnist records, GZIP)"] = [
                *base,
                "verify",
                str(small),
            ]
        for label, command in commands.items():
            times = []
            result = None
            for _ in range(CLI_RUNS + 1):  # the first run only warms the caches
                start = time.perf_counter()
                result = subprocess.run(command, capture_output=True, text=True)
                times.append(time.perf_counter() - start)
            assert result is not None
            entry: dict[str, Any] = {
                "seconds": statistics.median(times[1:]),
                "rc": result.returncode,
            }
            if result.returncode != 0:
                entry["error"] = last_line(result.stderr or result.stdout)
            self.cli[label] = entry
        self.log("[cli] done")


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else "(no output)"


def digest_batches(batches: Iterable[list[bytes]]) -> tuple[int, str]:
    """Count and hash of a record sequence (contents and boundaries), independent of batching."""
    data, sizes = hashlib.blake2b(), hashlib.blake2b()
    n = 0
    for batch in batches:
        n += len(batch)
        data.update(b"".join(batch))
        sizes.update(array("Q", map(len, batch)).tobytes())
    return n, data.hexdigest() + sizes.hexdigest()


def digest_iter(it: Iterable[bytes]) -> tuple[int, str]:
    it = iter(it)
    return digest_batches(iter(lambda: list(islice(it, 4096)), []))


# -- report -------------------------------------------------------------------------------------
def fmt_rate(records_per_s: float) -> str:
    if records_per_s >= 1e5:
        return f"{records_per_s / 1e6:.2f} M"
    if records_per_s >= 1e3:
        return f"{records_per_s / 1e3:.1f} k"
    return f"{records_per_s:.0f}"


def data_label(bench: Bench, shape: str) -> str:
    n = bench.expected[shape][0]
    text = f"{n / 1e6:g}M" if n >= 1e6 else f"{n / 1e3:g}k" if n >= 1e3 else str(n)
    return SHAPES[shape].label.format(n=text)


def ratio(a: Cell, b: Cell) -> float:
    """Median over repetitions of the per-repetition ratio a/b (same repetition, same file)."""
    return statistics.median(x / y for x, y in zip(a.records, b.records, strict=True))


def read_target(shape: str, comp: str) -> float:
    if shape == "large":
        return 2.0
    return 1.5 if comp == "GZIP" else 1.0


RECIO_CRC_READERS = ("recio iter_batches", "recio for r in reader")
ANCHORS = ("tf_record_iterator", "tf.data graph", "tf.data eager")


def read_table(bench: Bench) -> tuple[list[str], list[tuple[str, bool]]]:
    lines = [
        "| data | comp | reader | rec/s | MB/s | ÷ tf_record_iterator | ÷ tf.data graph"
        " | ÷ tf.data eager | spread | target (÷ iterator) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts: list[tuple[str, bool]] = []
    for (shape, comp), cells in bench.reads.items():
        for name, cell in cells.items():
            rec, pay = cell.median()
            cols = []
            for anchor in ANCHORS:
                cols.append("" if name in ANCHORS else f"{ratio(cell, cells[anchor]):.2f}")
            target = ""
            if name in RECIO_CRC_READERS:
                need = read_target(shape, comp)
                ok = ratio(cell, cells["tf_record_iterator"]) >= need
                target = f"≥ {need:.1f}× **{'pass' if ok else 'FAIL'}**"
                verdicts.append((f"read {shape}/{comp} {name} ≥ {need:.1f}× iterator", ok))
            label = name + (" (capped)" if "capped" in cell.notes else "")
            lines.append(
                f"| {data_label(bench, shape)} | {comp} | {label} | {fmt_rate(rec)}"
                f" | {pay / MB:,.0f} | " + " | ".join(cols) + f" | {cell.spread():.2f} | {target} |"
            )
    return lines, verdicts


def write_table(bench: Bench) -> tuple[list[str], list[tuple[str, bool]]]:
    lines = [
        "| data | writer | rec/s | MB/s | ÷ TF (same compression) | size ÷ TF's file | spread"
        " | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts: list[tuple[str, bool]] = []
    for shape, cells in bench.writes.items():
        for name, cell in cells.items():
            rec, pay = cell.median()
            comp = "GZIP" if "GZIP" in name else "NONE"
            anchor = cells[f"TF {comp}"]
            is_anchor = name.startswith("TF ")
            speed = "" if is_anchor else f"{ratio(cell, anchor):.2f}"
            size = cell.size / anchor.size if cell.size and anchor.size else float("nan")
            target = ""
            if name == "recio NONE write_many":
                ok = ratio(cell, anchor) >= 1.0
                target = f"≥ 1.0× **{'pass' if ok else 'FAIL'}**"
                verdicts.append((f"write {shape}/NONE ≥ 1.0× TF", ok))
            elif name == "recio GZIP fast (default)":
                ok = ratio(cell, anchor) >= 5.0 and size <= 1.05
                target = f"≥ 5× at ≤ 1.05 size **{'pass' if ok else 'FAIL'}**"
                verdicts.append((f"write {shape}/GZIP fast ≥ 5× TF, size ≤ 1.05", ok))
            elif name == "recio GZIP level=6":
                ok = ratio(cell, anchor) >= 1.8 and size <= 1.01
                target = f"alt. ≥ 1.8× at equal size: {'pass' if ok else 'fail'}"
            lines.append(
                f"| {data_label(bench, shape)} | {name} | {fmt_rate(rec)} | {pay / MB:,.0f}"
                f" | {speed} | "
                f"{size:.3f} | {cell.spread():.2f} | {target} |"
            )
    return lines, verdicts


def cli_table(bench: Bench) -> tuple[list[str], list[tuple[str, bool]]]:
    lines = ["| command (whole process, median of 5) | seconds | target |", "|---|---|---|"]
    verdicts: list[tuple[str, bool]] = []
    for label, entry in bench.cli.items():
        if "skipped" in entry:
            lines.append(f"| {label} | skipped: {entry['skipped']} | < {CLI_TARGET_S} s |")
            continue
        target = ""
        if label.startswith("recio"):
            ok = entry["rc"] == 0 and entry["seconds"] < CLI_TARGET_S
            target = f"< {CLI_TARGET_S} s **{'pass' if ok else 'FAIL'}**"
            verdicts.append((f"{label.split(' (')[0]} < {CLI_TARGET_S} s", ok))
        shown = f"{entry['seconds']:.3f}"
        if entry["rc"] != 0:
            shown += f" (exit {entry['rc']}: {entry['error']})"
        lines.append(f"| {label} | {shown} | {target} |")
    return lines, verdicts


def machine_line(tf: Any, workdir: Path) -> str:
    import numpy

    import recordio
    from recordio import compression

    model = "unknown CPU"
    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                have = set(line.split(":", 1)[1].split())
                wanted = ("sse4_2", "pclmulqdq", "avx2", "avx512f", "vpclmulqdq")
                flags = [f for f in wanted if f in have]
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    inflate = getattr(compression, "_inflate_lib", None)
    deflate = getattr(compression, "_fast_deflate_lib", None)
    return (
        f"{model} ({cores} cores; {' '.join(flags)}), {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__},"
        f" numpy {numpy.__version__}; recio backend {recordio.BACKEND},"
        f" inflate {getattr(inflate, '__name__', '?')},"
        f" fast deflate {getattr(deflate, '__name__', '?')};"
        f" files in {workdir} ({filesystem(workdir)})"
    )


def filesystem(path: Path) -> str:
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount, fstype = line.split()[:3]
            if str(path).startswith(mount) and len(mount) > len(best):
                best, kind = mount, f"{fstype} on {device}"
    except OSError:
        pass
    return kind


def report(bench: Bench, machine: str, started: float) -> str:
    args = bench.args
    mode = "quick" if args.quick else "full"
    loads = [load for _, load in bench.loads]
    cal = bench.calibration
    out = [
        f"# recio vs TensorFlow: TFRecord read/write ({mode} run, {args.reps} repetitions,"
        f" read cap {args.cap:g} s)",
        "",
        f"Machine: {machine}.",
        "",
        f"Load average (1 min) at start {loads[0]:.2f}, max {max(loads):.2f}, end"
        f" {os.getloadavg()[0]:.2f}; calibration loop median"
        f" {statistics.median(cal) * 1e3:.1f} ms, max/min {max(cal) / min(cal):.2f};"
        f" run took {(time.perf_counter() - started) / 60:.1f} min."
        if loads
        else "",
        "",
    ]
    verdicts: list[tuple[str, bool]] = []
    for title, table in (
        ("Reading (payload MB/s; ratios = median of per-repetition ratios)", read_table),
        ("Writing (whole data set, timed to the end of close())", write_table),
        ("Start-up", cli_table),
    ):
        if (table is read_table and not bench.reads) or (table is write_table and not bench.writes):
            continue
        if table is cli_table and not bench.cli:
            continue
        lines, found = table(bench)
        verdicts += found
        out += [f"## {title}", "", *lines, ""]
    out += [
        "Notes: rec/s and MB/s are medians; spread = max/min of the row's repetitions. Readers run"
        f" to EOF or {args.cap:g} s (marked capped); per-record readers are drained in C"
        " (`list(islice(it, n))`), so the ratios compare the iterators themselves. The TF graph"
        " row is `TFRecordDataset.batch(1024)` (batch 1 for 1 MiB records) reduced inside a"
        " `tf.function`. recio writes are atomic (temp file, fsync, rename); TF's are not.",
        "",
    ]
    if verdicts:
        passed = sum(ok for _, ok in verdicts)
        out += [f"Targets: {passed}/{len(verdicts)} pass."]
        out += [f"- {'pass' if ok else 'FAIL'}: {what}" for what, ok in verdicts]
    return "\n".join(out) + "\n"


# -- main ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data sets (biased TF numbers)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3; quick 2)")
    parser.add_argument("--cap", type=float, default=None, help="seconds per read (default 2; 0.5)")
    parser.add_argument("--workdir", type=Path, help="where to write data (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the data files afterwards")
    parser.add_argument("--shapes", default="small,mnist,large", help="comma list of data sets")
    parser.add_argument(
        "--sections", default="write,read,cli", help="comma list of write, read, cli"
    )
    parser.add_argument("--json", type=Path, help="also save the raw measurements here")
    args = parser.parse_args(argv)
    args.reps = args.reps or (2 if args.quick else 3)
    args.cap = args.cap or (0.5 if args.quick else 2.0)
    args.shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    args.sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    unknown = [s for s in args.shapes if s not in SHAPES]
    unknown += sorted(args.sections - {"write", "read", "cli"})
    if unknown:
        parser.error(f"unknown shape or section: {', '.join(unknown)}")
    if args.reps < 1 or args.cap <= 0:
        parser.error("--reps must be >= 1 and --cap > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    import recordio  # noqa: F401 - imported before gc.freeze like everything else

    tf.get_logger().setLevel("ERROR")
    gc.collect()
    gc.freeze()  # after TF's import a gc pass costs ~0.2 s; keep it out of the timings

    repo = Path(__file__).resolve().parents[1]
    if args.workdir:
        workdir = args.workdir.resolve()
        if workdir == repo or repo in workdir.parents:
            raise SystemExit("--workdir must be outside the repository")
        workdir.mkdir(parents=True, exist_ok=True)
        owned = False
    else:
        workdir = Path(tempfile.mkdtemp(prefix="recio-bench-"))
        owned = True
    bench = Bench(args, tf, workdir)
    bench.note_load("start")
    machine = machine_line(tf, workdir)
    bench.log(f"machine: {machine}\nload average at start: {os.getloadavg()}")
    try:
        for name in args.shapes:
            shape = SHAPES[name]
            records = bench.prepare(shape)
            if "write" in args.sections:
                bench.run_writes(shape, records)
            del records
            gc.collect()
            if "read" in args.sections:
                for comp in COMPRESSIONS:
                    bench.run_reads(shape, comp)
        if "cli" in args.sections:
            bench.run_cli()
    finally:
        if owned and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    text = report(bench, machine, started)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(raw(bench, machine), indent=1))
    return 0


def raw(bench: Bench, machine: str) -> dict[str, Any]:
    def cells(group: dict[str, Cell]) -> dict[str, Any]:
        return {
            name: {
                "records_per_s": c.records,
                "payload_per_s": c.payload,
                "seconds": c.seconds,
                "size": c.size,
                "notes": sorted(c.notes),
            }
            for name, c in group.items()
        }

    return {
        "machine": machine,
        "args": {
            k: (sorted(v) if isinstance(v, set) else str(v)) for k, v in vars(bench.args).items()
        },
        "loads": bench.loads,
        "calibration_s": bench.calibration,
        "reads": {f"{s}/{c}": cells(g) for (s, c), g in bench.reads.items()},
        "writes": {s: cells(g) for s, g in bench.writes.items()},
        "cli": bench.cli,
    }


if __name__ == "__main__":
    sys.exit(main())
