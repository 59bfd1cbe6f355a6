"""GPU feeding benchmark: Keras 3 on JAX trained from GZIP shards by NumpyLoader vs from memory.

    pip install 'recio[jax]'                    # + 'jax[cuda12]' on a GPU host
    python bench/gpu_train.py                   # on the GPU host (about 3-4 minutes)
    python bench/gpu_train.py --small           # tiny CPU run (a test runs it)

For the book's MLP (batch 2048) and CNN (batch 512), in one run:
- "memory": `fit` on a PyDataset of ready float32 batches held in memory (the ceiling a loader
  can reach with Keras);
- "loader": `fit` on KerasPyDataset(NumpyLoader) reading 60,000 Fashion-MNIST-shaped Examples
  from GZIP shards, decoding the 784 image bytes and scaling them to float32 in worker processes.
Each fit runs one full warm-up epoch first (so the last, partial batch is compiled too) and is
timed per epoch by a callback; examples/s = records / median epoch time. Also printed: the
loader alone (no training) with 1, 4, 8 and 16 worker processes and, when torch is installed, a
TorchIterableDataset check.
No TensorFlow is imported; the shards are written with recordio.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parents[1]
for path in (str(ROOT), str(ROOT / "bench")):
    if path not in sys.path:
        sys.path.insert(0, path)

import numpy as np  # noqa: E402
from bench_loaders import ensure_shards, make_arrays  # noqa: E402

MLP_BATCH = 2048
CNN_BATCH = 512


def build_mlp(keras: Any) -> Any:
    """Chapter 10: Flatten(28x28) -> Dense(300, relu) -> Dense(100, relu) -> Dense(10, softmax)."""
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(300, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


def build_cnn(keras: Any) -> Any:
    """Chapter 14's CNN (1,413,834 parameters), trained with nadam as in the book."""

    def conv(filters: int, size: int = 3) -> Any:
        return keras.layers.Conv2D(filters, size, padding="same", activation="relu",
                                   kernel_initializer="he_normal")  # fmt: skip

    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            conv(64, 7),
            keras.layers.MaxPooling2D(2),
            conv(128),
            conv(128),
            keras.layers.MaxPooling2D(2),
            conv(256),
            conv(256),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu", kernel_initializer="he_normal"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam", metrics=["accuracy"])
    return model


def memory_dataset(keras: Any, images: np.ndarray, labels: np.ndarray, batch: int) -> Any:
    """A PyDataset of ready float32 batches (the baseline)."""
    x = images.astype(np.float32) / np.float32(255)
    batches = [(x[i : i + batch], labels[i : i + batch]) for i in range(0, len(x), batch)]

    class Ready(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()

        def __len__(self) -> int:
            return len(batches)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            return batches[index]

    return Ready()


def timed_fit(keras: Any, model: Any, data: Any, records: int, epochs: int) -> float:
    """examples/s of fit over `epochs` timed epochs, after one warm-up epoch."""
    marks: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            marks.append(time.perf_counter())

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            marks.append(time.perf_counter())

    model.fit(data, epochs=1 + epochs, verbose=0, callbacks=[Clock()])
    times = [marks[2 * e + 1] - marks[2 * e] for e in range(1, 1 + epochs)]
    return records / statistics.median(times)


def loader_alone(loader: Any, epochs: int) -> float:
    for _ in loader:  # warm-up epoch
        pass
    rates = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        n = sum(len(label) for _, label in loader)
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def torch_check(data: str, records: int) -> str:
    try:
        import torch.utils.data
    except ImportError:
        return "skipped (torch is not installed)"
    from pipeline.loaders import DecodeOptions, TorchIterableDataset

    raw = DecodeOptions(decode_bytes={"image": ("uint8", (28, 28))})
    ds = TorchIterableDataset(data, label="label", batch_size=1024, decode=raw)
    seen = 0
    first = None
    # spawn: forking a process that runs JAX's threads can deadlock
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2,
                                         multiprocessing_context="spawn")  # fmt: skip
    t0 = time.perf_counter()
    for features, label in loader:
        seen += int(label.shape[0])
        first = first or (tuple(features["image"].shape), str(features["image"].dtype))
    rate = seen / (time.perf_counter() - t0)
    ok = "ok" if seen == records else f"MISMATCH ({seen} of {records} records)"
    return f"{ok}: {seen} records in batches like {first}, {rate / 1e3:.0f} k ex/s (incl. start-up)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", "--quick", action="store_true", help="tiny CPU run")
    parser.add_argument("--records", type=int, default=60_000)
    parser.add_argument("--shards", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="default: CPUs - 3, at most 14")
    parser.add_argument("--mlp-epochs", type=int, default=20, help="timed epochs (MLP)")
    parser.add_argument("--cnn-epochs", type=int, default=4, help="timed epochs (CNN)")
    parser.add_argument("--data", default=None, help="folder for the shards (default: a temp dir)")
    parser.add_argument("--models", default="mlp,cnn", help="which to train (default mlp,cnn)")
    parser.add_argument("--worker-counts", default="1,4,8,16",
                        help="loader-alone runs (default 1,4,8,16)")  # fmt: skip
    args = parser.parse_args()
    counts = [int(c) for c in args.worker_counts.split(",") if c.strip()]
    if args.small:
        args.records, args.shards, args.mlp_epochs, args.cnn_epochs = 2048, 4, 1, 1
        counts = [c for c in counts if c <= 2] or [1]
    cpus = os.cpu_count() or 2
    workers = args.workers or max(1, min(14, cpus - 3))

    try:
        import keras
    except ImportError as error:
        raise SystemExit(f"this benchmark needs {error.name}: pip install 'recio[jax]'") from None
    if keras.backend.backend() == "jax":
        try:
            import jax  # noqa: F401
        except ImportError:
            raise SystemExit("this benchmark needs jax: pip install 'recio[jax]'") from None

    from pipeline.loaders import DecodeOptions, KerasPyDataset, NumpyLoader, WorkerOptions

    assert "tensorflow" not in sys.modules, "this benchmark must run without TensorFlow"
    backend = keras.backend.backend()
    try:
        import jax

        devices = ", ".join(str(d) for d in jax.devices())
    except ImportError:
        devices = "?"
    import recordio
    from recordio import compression

    inflate = getattr(compression._inflate_lib, "__name__", "?")
    print(f"keras {keras.__version__} on {backend} ({devices}); {cpus} CPUs, {workers} loader "
          f"workers; recordio framing: {recordio.BACKEND}, inflate: {inflate}")  # fmt: skip
    if not recordio.BACKEND.startswith("c ("):
        try:
            import google_crc32c  # noqa: F401
        except ImportError:
            print("WARNING: recordio has neither its C accelerator nor google-crc32c here: CRCs "
                  "run in pure Python (15 MB/s), so the loader figures below are not "
                  "representative")  # fmt: skip
    started = time.perf_counter()

    data = args.data or tempfile.mkdtemp(prefix="recio-gpu-")
    if not args.data:  # the shards are tens of MB: do not leave them in /tmp
        atexit.register(shutil.rmtree, data, ignore_errors=True)
    t0 = time.perf_counter()
    paths = ensure_shards(data, n=args.records, shards=args.shards, compression="GZIP")
    size = sum(os.path.getsize(p) for p in paths)
    images, labels = make_arrays(args.records)
    print(f"data: {args.records:,} Examples in {args.shards} GZIP shards ({size / 1e6:.1f} MB), "
          f"ready in {time.perf_counter() - t0:.1f} s")  # fmt: skip

    results = {}
    chosen = {m.strip().upper() for m in args.models.split(",")}
    for name, build, batch, epochs, shape in (
        ("MLP", build_mlp, MLP_BATCH, args.mlp_epochs, (28, 28)),
        ("CNN", build_cnn, CNN_BATCH, args.cnn_epochs, (28, 28, 1)),
    ):
        if name not in chosen:
            continue
        if args.small:
            batch = min(batch, 256 if name == "MLP" else 64)
        x = images.reshape(-1, *shape)
        keras.utils.set_random_seed(0)
        memory = timed_fit(keras, build(keras), memory_dataset(keras, x, labels, batch),
                           args.records, epochs)  # fmt: skip
        loader = NumpyLoader(
            data,
            label="label",
            batch_size=batch,
            decode=DecodeOptions(
                decode_bytes={"image": ("uint8", shape)}, to_float32={"image": 1 / 255}
            ),
            workers=WorkerOptions(num_workers=workers, prefetch=8),
        )
        keras.utils.set_random_seed(0)
        fed = timed_fit(
            keras, build(keras), KerasPyDataset(loader, x="image"), args.records, epochs
        )
        alone = loader_alone(loader, max(2, min(epochs, 5)))
        loader.close()
        results[name] = (memory, fed, alone)
        print(f"{name} batch {batch}: memory PyDataset {memory:,.0f} ex/s | "
              f"NumpyLoader from GZIP {fed:,.0f} ex/s | ratio {fed / memory:.2f} "
              f"(target >= 0.90) | loader alone {alone:,.0f} ex/s", flush=True)  # fmt: skip

    print("loader alone (decode + float32, batch 2048, GZIP):")
    alone_rates = {}
    for count in counts:
        loader = NumpyLoader(
            data,
            label="label",
            batch_size=MLP_BATCH if not args.small else 256,
            decode=DecodeOptions(
                decode_bytes={"image": ("uint8", (28, 28))}, to_float32={"image": 1 / 255}
            ),
            workers=WorkerOptions(num_workers=count, prefetch=8),
        )
        alone_rates[count] = loader_alone(loader, 2 if args.small else 5)
        loader.close()
        print(f"  {count:>2} workers: {alone_rates[count] / 1e6:.2f} M ex/s", flush=True)

    print("summary:")
    for name, (memory, fed, alone) in results.items():
        print(f"  {name}: loader-fed / in-memory fit = {fed / memory:.2f}; loader alone "
              f"{alone / 1e6:.2f} M ex/s with {workers} workers")  # fmt: skip
    best = max(alone_rates, key=alone_rates.__getitem__)
    print(f"  loader alone, best: {alone_rates[best] / 1e6:.2f} M ex/s with {best} workers "
          "(target >= 1.7 M ex/s on the GPU host's 16 cores)")  # fmt: skip
    print(f"torch check: {torch_check(data, args.records)}")
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
