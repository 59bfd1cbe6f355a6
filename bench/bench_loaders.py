"""Loader throughput on the CPU: recio's tf.data loader and TF-free NumpyLoader against TF anchors.

    python bench/bench_loaders.py            # 60,000 Fashion-MNIST-shaped Examples, 10 GZIP shards
    python bench/bench_loaders.py --quick    # 6,000 records, one repetition (a smoke run)

All readers read the same shards in the same run (median of --reps full epochs, after one warm-up
epoch each), and the script prints examples/s and ratios:
- book: the chapter 13 exercise pipeline: list_files -> interleave(TFRecordDataset, 5) ->
  map(parse_single_example + decode_raw, 5) -> batch(32) -> prefetch(1);
- tf-graph: TFRecordDataset(files).batch(1024).map(parse_example), no tuning: TF's read + parse
  graph, the anchor of the TF-free decoding target (also measured on uncompressed copies);
- recio tf_dataset at batch 32 (shuffle buffer 10,000 included) and 1024;
- NumpyLoader inline, with a background thread, and with worker processes.
TF pipelines are drained inside the graph (Dataset.reduce), which is the most favourable way
for them; NumpyLoader batches are consumed from Python, as Keras consumes them.

The data generator here is also used by bench/gpu_train.py (it imports no TensorFlow).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RECIPE_VERSION = 3
RAW = {"image": ("uint8", (28, 28))}


# ------------------------------------------------------------------------------- the data
def make_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 28, 28) uint8, labels (n,) int64): a shaded elliptic blob whose aspect ratio
    depends on the label, on a mostly black background; GZIP shrinks the Examples to ~0.4."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    images = np.empty((n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.int64)
    for start in range(0, n, 4096):
        k = min(4096, n - start)
        lab = labels[start : start + k]
        a = (3.0 + 0.6 * lab + rng.uniform(0, 1, k))[:, None, None]
        b = (10.0 - 0.5 * lab + rng.uniform(0, 1, k))[:, None, None]
        cx = rng.uniform(10, 18, k)[:, None, None]
        cy = rng.uniform(10, 18, k)[:, None, None]
        r = ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2
        shade = 255 * (1.0 - 0.5 * r) + rng.normal(0, 20, (k, 28, 28))
        speckle = rng.uniform(size=(k, 28, 28)) < 0.15
        background = np.where(speckle, rng.integers(1, 30, (k, 28, 28)), 0)
        images[start : start + k] = np.where(r <= 1, np.clip(shade, 0, 255), background)
    return images, labels


def write_shards(folder: Path, images: np.ndarray, labels: np.ndarray, shards: int,
                 compression: str = "GZIP") -> list[str]:  # fmt: skip
    """Write Examples {"image": raw bytes, "label": int64} with recordio, round-robin.

    GZIP at zlib level 6 gives the file size TensorFlow's own writer gives.
    """
    from recordio import TFRecordWriter
    from recordio.example import encode_example

    folder.mkdir(parents=True, exist_ok=True)
    ext = ".tfrecord.gz" if compression == "GZIP" else ".tfrecord"
    paths = [str(folder / f"fmnist-{i:05d}-of-{shards:05d}{ext}") for i in range(shards)]
    level = 6 if compression == "GZIP" else None
    writers = [TFRecordWriter(p, compression, level=level) for p in paths]
    try:
        for i in range(len(labels)):
            record = encode_example({"image": images[i].tobytes(), "label": int(labels[i])})
            writers[i % shards].write(record)
    finally:
        for w in writers:
            w.close()
    return paths


def ensure_shards(folder: str | os.PathLike[str], n: int = 60_000, shards: int = 10,
                  compression: str = "GZIP", seed: int = 0) -> list[str]:  # fmt: skip
    """The shard paths in `folder`, written first when missing or made by another recipe."""
    folder = Path(folder)
    stamp = folder / "recipe.json"
    recipe = {"version": RECIPE_VERSION, "n": n, "shards": shards, "compression": compression,
              "seed": seed}  # fmt: skip
    ext = ".tfrecord.gz" if compression == "GZIP" else ".tfrecord"
    paths = [str(folder / f"fmnist-{i:05d}-of-{shards:05d}{ext}") for i in range(shards)]
    if (
        stamp.is_file()
        and json.loads(stamp.read_text()) == recipe
        and all(map(os.path.isfile, paths))
    ):
        return paths
    if folder.is_dir():
        for old in folder.glob("fmnist-*"):
            old.unlink()
    images, labels = make_arrays(n, seed)
    paths = write_shards(folder, images, labels, shards, compression)
    stamp.write_text(json.dumps(recipe))
    return paths


# ------------------------------------------------------------------------------- readers
def tf_book(files: list[str], pattern: str) -> Callable[[], int]:
    """Chapter 13's exercise pipeline (per-record parse_single_example, batch 32, prefetch 1)."""
    import tensorflow as tf

    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
    }

    def parse(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        example = tf.io.parse_single_example(record, spec)
        image = tf.reshape(tf.io.decode_raw(example["image"], tf.uint8), [28, 28])
        return image, example["label"]

    ds = tf.data.Dataset.list_files(pattern, seed=42)
    ds = ds.interleave(lambda f: tf.data.TFRecordDataset(f, compression_type="GZIP"),
                       cycle_length=5, num_parallel_calls=5)  # fmt: skip
    ds = ds.map(parse, num_parallel_calls=5).batch(32).prefetch(1)
    return lambda: _drain(ds)


def tf_graph(files: list[str], compression: str) -> Callable[[], int]:
    """TF's read + batched parse_example graph, without any tuning."""
    import tensorflow as tf

    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
    }

    ds = tf.data.TFRecordDataset(files, compression_type=compression).batch(1024)
    ds = ds.map(lambda s: tf.io.parse_example(s, spec))
    ds = ds.map(lambda e: (tf.io.decode_raw(e["image"], tf.uint8), e["label"]))
    return lambda: _drain(ds)


def recio_tf(data: str, batch: int) -> Callable[[], int]:
    from pipeline.loaders import tf_dataset

    ds = tf_dataset(data, label="label", batch_size=batch, decode_bytes=RAW)
    return lambda: _drain(ds)


def _drain(ds: object) -> int:
    import tensorflow as tf

    def size(batch: object) -> tf.Tensor:
        label = batch[1] if isinstance(batch, tuple) else batch
        return tf.shape(label, out_type=tf.int64)[0]

    total = ds.reduce(
        tf.constant(0, tf.int64), lambda acc, *b: acc + size(b[0] if len(b) == 1 else b)
    )  # type: ignore[attr-defined]
    return int(total)


def flip_crop() -> Any:
    """The augmentation of the transform= row: random flip + 85 % crop resized back."""
    from pipeline.loaders.transforms import ImageAugment
    from pipeline.options import AugmentOptions

    opts = AugmentOptions(rotate=False, brightness=False, contrast=False)
    return ImageAugment("image", opts)


def numpy_loader(
    data: str,
    batch: int,
    *,
    num_workers: int = 0,
    prefetch: int = 2,
    global_shuffle: bool = False,
    transform: Any = None,
) -> tuple[Callable[[], int], Callable[[], None]]:
    from pipeline.loaders import DecodeOptions, NumpyLoader, OrderOptions, WorkerOptions

    loader = NumpyLoader(
        data,
        label="label",
        batch_size=batch,
        order=OrderOptions(global_shuffle=global_shuffle),
        decode=DecodeOptions(decode_bytes=RAW),
        workers=WorkerOptions(num_workers=num_workers, prefetch=prefetch),
        transform=transform,
    )

    def run() -> int:
        n = 0
        for _, label in loader:
            n += len(label)
        return n

    return run, loader.close


# ------------------------------------------------------------------------------- main
def timed(run: Callable[[], int], reps: int) -> tuple[float, int]:
    run()  # warm-up epoch: compiles graphs, starts workers, fills the page cache
    rates = []
    n = 0
    for _ in range(reps):
        t0 = time.perf_counter()
        n = run()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6,000 records, one repetition")
    parser.add_argument("--reps", type=int, default=9, help="epochs timed per reader")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "fmnist"))
    parser.add_argument("--workers", type=int, default=2, help="NumpyLoader processes")
    parser.add_argument("--shuffle-only", action="store_true",
                        help="only the global-shuffle rows against NumpyLoader's own")  # fmt: skip
    args = parser.parse_args()
    n = 6_000 if args.quick else 60_000
    reps = 1 if args.quick else args.reps
    gz_dir = os.path.join(args.out, f"gzip-{n}")
    raw_dir = os.path.join(args.out, f"none-{n}")
    gz = ensure_shards(gz_dir, n=n, shards=10, compression="GZIP")
    raw = ensure_shards(raw_dir, n=n, shards=10, compression="NONE")
    size = sum(os.path.getsize(p) for p in gz)
    print(f"data: {n:,} Examples in 10 GZIP shards, {size / 1e6:.1f} MB "
          f"({size / sum(os.path.getsize(p) for p in raw):.2f} of uncompressed); "
          f"{os.cpu_count()} CPUs")  # fmt: skip

    if not args.shuffle_only:
        import tensorflow as tf  # noqa: F401  (imported once, outside the timings)

    gc.collect()
    gc.freeze()
    rows: list[tuple[str, float]] = []

    def measure(
        name: str, run: Callable[[], int], close: Callable[[], None] | None = None
    ) -> float:
        rate, got = timed(run, reps)
        if got != n:
            raise SystemExit(f"{name}: read {got} records, expected {n}")
        if close is not None:
            close()
        rows.append((name, rate))
        print(f"  {name:<44} {rate / 1e3:9.1f} k ex/s", flush=True)
        return rate

    if args.shuffle_only:
        global_shuffle_rows(measure, raw_dir, gz_dir, args.workers)
        return
    print("GZIP shards")
    book = measure(
        "book pipeline (parse_single_example, b32)", tf_book(gz, os.path.join(gz_dir, "*.gz"))
    )
    graph = measure("tf-graph read + parse_example (b1024)", tf_graph(gz, "GZIP"))
    ours_tf32 = measure("recio tf_dataset b32 (shuffle 10k)", recio_tf(gz_dir, 32))
    ours_tf1k = measure("recio tf_dataset b1024 (shuffle 10k)", recio_tf(gz_dir, 1024))
    inline = measure(
        "NumpyLoader b1024 inline (prefetch=0)", *numpy_loader(gz_dir, 1024, prefetch=0)
    )
    thread = measure("NumpyLoader b1024 thread (prefetch=2)", *numpy_loader(gz_dir, 1024))
    procs = measure(f"NumpyLoader b1024 {args.workers} processes",
                    *numpy_loader(gz_dir, 1024, num_workers=args.workers, prefetch=4))  # fmt: skip
    augmented = measure(f"NumpyLoader b1024 {args.workers} processes + flip+crop",
                        *numpy_loader(gz_dir, 1024, num_workers=args.workers, prefetch=4,
                                      transform=flip_crop()))  # fmt: skip
    procs32 = measure(f"NumpyLoader b32 {args.workers} processes",
                      *numpy_loader(gz_dir, 32, num_workers=args.workers, prefetch=8))  # fmt: skip
    print("uncompressed copies")
    graph_raw = measure("tf-graph read + parse_example (b1024) NONE", tf_graph(raw, ""))
    inline_raw = measure("NumpyLoader b1024 inline NONE", *numpy_loader(raw_dir, 1024, prefetch=0))
    procs_raw = measure(
        f"NumpyLoader b1024 {args.workers} processes NONE",
        *numpy_loader(raw_dir, 1024, num_workers=args.workers, prefetch=4),
    )

    print("ratios (target)")
    print(f"  recio tf_dataset b32 / book pipeline        {ours_tf32 / book:6.2f}x  (>= 2)")
    print(f"  recio tf_dataset b1024 / book pipeline      {ours_tf1k / book:6.2f}x")
    print(f"  NumpyLoader processes / tf-graph, GZIP      {procs / graph:6.2f}x  (>= 3)")
    print(f"  NumpyLoader inline / tf-graph, GZIP         {inline / graph:6.2f}x")
    print(f"  NumpyLoader thread / tf-graph, GZIP         {thread / graph:6.2f}x")
    print(f"  NumpyLoader b32 processes / book pipeline   {procs32 / book:6.2f}x")
    cost = 1 - augmented / procs
    print(f"  transform= flip+crop: rate lost             {cost:6.2f}   (<= 0.30)")
    print(f"  NumpyLoader processes / tf-graph, NONE      {procs_raw / graph_raw:6.2f}x  (>= 1.0)")
    print(f"  NumpyLoader inline / tf-graph, NONE         {inline_raw / graph_raw:6.2f}x")
    global_shuffle_rows(measure, raw_dir, gz_dir, args.workers, inline_raw, procs_raw)


def global_shuffle_rows(
    measure: Callable[..., float],
    raw_dir: str,
    gz_dir: str,
    workers: int,
    inline_raw: float | None = None,
    procs_raw: float | None = None,
) -> None:
    """NumpyLoader with a global shuffle (random access through the index) against its own
    windowed shuffle that reads files front to back, on the same files (target >= 0.5)."""
    print("global shuffle (OrderOptions(global_shuffle=True))")
    if inline_raw is None or procs_raw is None:
        inline_raw = measure("NumpyLoader b1024 inline NONE",
                             *numpy_loader(raw_dir, 1024, prefetch=0))  # fmt: skip
        procs_raw = measure(
            f"NumpyLoader b1024 {workers} processes NONE",
            *numpy_loader(raw_dir, 1024, num_workers=workers, prefetch=4),
        )
    g_inline = measure("NumpyLoader b1024 inline NONE global shuffle",
                       *numpy_loader(raw_dir, 1024, prefetch=0, global_shuffle=True))  # fmt: skip
    g_procs = measure(f"NumpyLoader b1024 {workers} processes NONE global shuffle",
                      *numpy_loader(raw_dir, 1024, num_workers=workers, prefetch=4,
                                    global_shuffle=True))  # fmt: skip
    g_gzip = measure(f"NumpyLoader b1024 {workers} processes GZIP global shuffle",
                     *numpy_loader(gz_dir, 1024, num_workers=workers, prefetch=4,
                                   global_shuffle=True))  # fmt: skip
    print(f"  global shuffle / windowed, inline, NONE     {g_inline / inline_raw:6.2f}x  (>= 0.5)")
    print(f"  global shuffle / windowed, processes, NONE  {g_procs / procs_raw:6.2f}x  (>= 0.5)")
    print(f"  global shuffle GZIP / windowed NONE, procs  {g_gzip / procs_raw:6.2f}x")


if __name__ == "__main__":
    main()
