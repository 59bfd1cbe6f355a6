"""Test data for the loader tests: small Fashion-MNIST-shaped shards and helpers (no tests here).

Images are synthetic (an elliptic blob with texture on a dark background), labels depend on the
blob's shape so a model can learn something. Shards are written by recordio (GZIP) or, for the
cross-checks, by TensorFlow's own writer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


def fmnist_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 28, 28), labels int64 (n,)): blobs whose aspect ratio sets the class."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    labels = rng.integers(0, 10, n)
    a = 3.0 + 0.6 * labels + rng.uniform(0, 0.5, n)
    b = 9.0 - 0.5 * labels + rng.uniform(0, 0.5, n)
    cx = rng.uniform(11, 17, n)[:, None, None]
    cy = rng.uniform(11, 17, n)[:, None, None]
    inside = ((xx - cx) / a[:, None, None]) ** 2 + ((yy - cy) / b[:, None, None]) ** 2 <= 1
    texture = rng.integers(90, 256, (n, 28, 28))
    images = np.where(inside, texture, rng.integers(0, 20, (n, 28, 28))).astype(np.uint8)
    return images, labels.astype(np.int64)


def write_fmnist(
    folder: Path,
    images: np.ndarray,
    labels: np.ndarray,
    shards: int,
    *,
    compression: str = "GZIP",
    prefix: str = "fmnist",
) -> list[str]:
    """Write with recordio, records dealt round-robin to `shards` files; returns the paths."""
    from recordio import TFRecordWriter
    from recordio.example import encode_example

    folder.mkdir(parents=True, exist_ok=True)
    ext = ".tfrecord.gz" if compression == "GZIP" else ".tfrecord"
    paths = [str(folder / f"{prefix}-{i:05d}-of-{shards:05d}{ext}") for i in range(shards)]
    writers = [TFRecordWriter(p, compression) for p in paths]
    try:
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            writers[i % shards].write(
                encode_example({"image": image.tobytes(), "label": int(label)})
            )
    finally:
        for w in writers:
            w.close()
    return paths


def write_tf_examples(path: str, rows: Iterable[dict[str, Any]], compression: str = "GZIP") -> None:
    """Write rows with TensorFlow's own Example protos and writer: {name: (kind, values)}."""
    import tensorflow as tf

    def feature(kind: str, values: list[Any]) -> Any:
        if kind == "bytes":
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        if kind == "float":
            return tf.train.Feature(float_list=tf.train.FloatList(value=values))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    with tf.io.TFRecordWriter(path, options=compression) as writer:
        for row in rows:
            example = tf.train.Example(
                features=tf.train.Features(feature={k: feature(*v) for k, v in row.items()})
            )
            writer.write(example.SerializeToString())


def keys(images: Any, labels: Any) -> Counter[tuple[int, bytes]]:
    """A multiset of (label, image bytes): equal multisets = exactly the same records."""
    images = np.asarray(images)
    return Counter(
        zip(np.asarray(labels).reshape(-1).tolist(), [im.tobytes() for im in images], strict=True)
    )


def collect(
    batches: Iterable[tuple[dict[str, Any], Any]], name: str = "image"
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (features, label) batches into (features[name], labels) arrays."""
    xs, ys = [], []
    for features, label in batches:
        xs.append(np.asarray(features[name]))
        ys.append(np.asarray(label))
    return np.concatenate(xs), np.concatenate(ys)


def with_noise(batch: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A test transform (top level, so it pickles into workers): adds a random key per row."""
    n = len(batch["label"])
    return {**batch, "noise": rng.standard_normal(n).astype(np.float32)}
