"""The recordio leg of `recio demo`: write, read back, check and verify sharded GZIP Examples.

Writes the built-in Fashion-MNIST-shaped images (`recio.demo.data`) as sharded GZIP TFRecords of
tf.train.Examples, reads every shard back, checks each record against what was written and
verifies the files. Needs nothing but recordio.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

from recio.demo.data import write_fashion_shards
from recio.demo.errors import DemoError
from recordio import decode_example, read_records, verify_file


@dataclass(slots=True)
class ShardSummary:
    files: list[str]
    records: int
    payload_bytes: int
    file_bytes: int
    write_seconds: float
    read_seconds: float
    verified: bool


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
                raise DemoError(f"{prefix}: demo data decoded wrongly")
    read = time.perf_counter() - started
    if read_back.hexdigest() != written:
        raise DemoError(f"{prefix}: records read back differ from those written")

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


__all__ = ["ShardSummary", "run_recordio_demo"]
