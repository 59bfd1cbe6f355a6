"""The built-in data set and the recordio leg of `recio demo`.

Makes synthetic Fashion-MNIST-shaped images (a class-dependent elliptic blob on a dark
background, 28x28 uint8, label 0-9), writes them as sharded GZIP TFRecords of tf.train.Examples,
reads every shard back, checks each record against what was written and verifies the files.
Deterministic for a seed, so two runs write byte-identical data.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from recordio.errors import RecordIOError
from recordio.example import decode_example, encode_example
from recordio.files import shard_names
from recordio.reader import read_records
from recordio.verify import verify_file
from recordio.writer import TFRecordWriter


def fashion_like(count: int, seed: int = 42) -> Iterator[tuple[bytes, int]]:
    """(784 image bytes, label) pairs; the label decides the blob's shape, so it is learnable."""
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    for _ in range(count):
        label = int(rng.integers(0, 10))
        cy, cx = 14 + rng.normal(0, 1.5, size=2)
        ry = 4 + (label % 5) * 2 + rng.normal(0, 0.5)
        rx = 4 + (label // 5) * 5 + rng.normal(0, 0.5)
        blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
        image = blob * rng.integers(120, 255) + rng.integers(0, 30, size=(28, 28))
        yield np.clip(image, 0, 255).astype(np.uint8).tobytes(), label


@dataclass(slots=True)
class ShardSummary:
    files: list[str]
    records: int
    payload_bytes: int
    file_bytes: int
    write_seconds: float
    read_seconds: float
    verified: bool


def write_fashion_shards(
    prefix: str, count: int = 10_000, shards: int = 4, seed: int = 42
) -> tuple[list[str], str]:
    """Write the built-in data set; returns the files and a digest of the records written."""
    names = shard_names(prefix, shards)
    digest = hashlib.sha256()
    writers = [TFRecordWriter(name, "GZIP") for name in names]
    try:
        for i, (image, label) in enumerate(fashion_like(count, seed)):
            record = encode_example({"image": image, "label": label})
            digest.update(record)
            writers[i % shards].write(record)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    for writer in writers:
        writer.close()
    return names, digest.hexdigest()


def run_recordio_demo(workdir: str, count: int = 10_000, shards: int = 4) -> ShardSummary:
    """Write, read back, check and verify the built-in data set under `workdir/data`."""
    folder = os.path.join(workdir, "data")
    os.makedirs(folder, exist_ok=True)
    prefix = os.path.join(folder, "fashion.tfrecord.gz")
    started = time.perf_counter()
    files, written = write_fashion_shards(prefix, count, shards)
    wrote = time.perf_counter() - started

    started = time.perf_counter()
    per_shard = [list(read_records(name)) for name in files]
    read_back = hashlib.sha256()
    payload = 0
    for i in range(max(map(len, per_shard))):  # undo the round-robin deal
        for shard in per_shard:
            if i < len(shard):
                read_back.update(shard[i])
                payload += len(shard[i])
    for shard in per_shard:
        for record in shard:
            features = decode_example(record)
            if len(features["image"][0]) != 784 or not 0 <= features["label"][0] <= 9:
                raise RecordIOError("demo data decoded wrongly", path=prefix)
    read = time.perf_counter() - started
    if read_back.hexdigest() != written:
        raise RecordIOError("records read back differ from those written", path=prefix)

    reports = [verify_file(name) for name in files]
    return ShardSummary(
        files=files,
        records=sum(map(len, per_shard)),
        payload_bytes=payload,
        file_bytes=sum(os.path.getsize(name) for name in files),
        write_seconds=wrote,
        read_seconds=read,
        verified=all(report.ok for report in reports),
    )


__all__ = ["ShardSummary", "fashion_like", "run_recordio_demo", "write_fashion_shards"]
