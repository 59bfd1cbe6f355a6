"""One streaming pass over Example records that everything else reads: schema, stats, skew.

`profile_files` reads the files batch by batch (CRC checked), decodes each batch into columns
and folds them into per-feature sketches of fixed size, so memory does not depend on how many
records there are. `sample` stops after that many records (the first ones, in file order).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.errors import InputError
from pipeline.inspect.sketches import (
    HyperLogLog,
    Moments,
    Reservoir,
    TopK,
    hash_bytes,
    hash_numbers,
)
from recordio import ExampleDecodeError, Kind, TFRecordReader, expand_paths
from recordio.columns import Column, decode_columns

MAX_LENGTHS = 1000  # distinct value counts remembered per feature before only min/max are kept


@dataclass
class FeatureProfile:
    """What one pass learned about one feature."""

    name: str
    kind: Kind | None = None
    mixed_kinds: bool = False
    present: int = 0  # records holding the feature (possibly with an empty list)
    nonempty: int = 0
    values: int = 0
    min_length: int = 0
    max_length: int = 0
    lengths: Counter[int] = field(default_factory=Counter)
    lengths_cut: bool = False
    moments: Moments = field(default_factory=Moments)
    sample: Reservoir = field(default_factory=Reservoir)
    top: TopK = field(default_factory=TopK)
    distinct: HyperLogLog = field(default_factory=HyperLogLog)
    value_bytes: Moments = field(default_factory=Moments)  # sizes of bytes values

    def add(self, column: Column) -> None:
        lengths = column.lengths[column.lengths >= 0]
        if not lengths.size:
            return
        if column.kind is not None:
            if self.kind is None:
                self.kind = column.kind
            elif self.kind is not column.kind:
                self.mixed_kinds = True
                return
        first = self.present == 0
        self.present += int(lengths.size)
        self.nonempty += int(np.count_nonzero(lengths))
        self.values += int(lengths.sum())
        low, high = int(lengths.min()), int(lengths.max())
        self.min_length = low if first else min(self.min_length, low)
        self.max_length = high if first else max(self.max_length, high)
        if not self.lengths_cut:
            if low == high:
                self.lengths[low] += int(lengths.size)
            else:
                self.lengths.update(Counter(lengths.tolist()))
            if len(self.lengths) > MAX_LENGTHS:
                self.lengths_cut, self.lengths = True, Counter()
        values = column.values
        if column.kind is Kind.BYTES:
            self.top.add(values)
            self.distinct.add_hashes(hash_bytes(values))
            sizes = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
            self.value_bytes.add(sizes)
        elif column.kind is not None:
            self.moments.add(values)
            self.sample.add(values)
            self.distinct.add_hashes(hash_numbers(values))
            if column.kind is Kind.INT64:
                self.top.add(values.tolist())


@dataclass
class DatasetProfile:
    """The files' records and features, as one pass saw them."""

    files: list[str]
    records: int = 0
    sampled: bool = False
    record_bytes: Moments = field(default_factory=Moments)
    record_sample: Reservoir = field(default_factory=lambda: Reservoir(seed=1))
    stream_bytes: int = 0  # framed records (payload + 16 bytes each), uncompressed
    file_bytes: int = 0
    compression: list[str] = field(default_factory=list)
    features: dict[str, FeatureProfile] = field(default_factory=dict)

    def add_batch(self, records: list[bytes]) -> None:
        sizes = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
        self.record_bytes.add(sizes)
        self.record_sample.add(sizes)
        self.stream_bytes += int(sizes.sum()) + 16 * len(records)
        self.records += len(records)
        columns, mixed = decode_columns(records)
        for name in sorted(columns):
            feature = self.features.get(name)
            if feature is None:
                feature = self.features[name] = FeatureProfile(name)
            feature.add(columns[name])
        for name in mixed:
            self.features.setdefault(name, FeatureProfile(name)).mixed_kinds = True

    @property
    def compression_ratio(self) -> float | None:
        """File bytes over framed record bytes (None when only a sample was read)."""
        if self.sampled or not self.stream_bytes:
            return None
        return self.file_bytes / self.stream_bytes


def profile_files(
    patterns: Sequence[str],
    *,
    sample: int | None = None,
    batch_size: int = 1024,
    verify: bool = True,
) -> DatasetProfile:
    """Profile every record (or the first `sample`) of the TFRecord files of Examples."""
    if sample is not None and sample < 1:
        raise InputError(f"sample must be at least 1, got {sample}", params=("sample",))
    paths = expand_paths(list(patterns))
    if not paths:
        raise InputError("no input files", params=("files",))
    profile = DatasetProfile(files=list(paths))
    for path in paths:
        if sample is not None and profile.records >= sample:
            profile.sampled = True
            break
        with contextlib.suppress(OSError):
            profile.file_bytes += os.path.getsize(path)
        with TFRecordReader(path, verify=verify) as reader:
            profile.compression.append(str(reader.compression))
            index = 0
            for batch in reader.iter_batches(max_records=batch_size):
                if sample is not None and profile.records + len(batch) >= sample:
                    batch = batch[: sample - profile.records]
                    profile.sampled = True
                try:
                    profile.add_batch(batch)
                except ExampleDecodeError as error:
                    raise InputError(
                        f"{path}: a record in the batch from record {index} is not a "
                        f"tf.train.Example ({error})"
                    ) from error
                index += len(batch)
                if profile.sampled:
                    break
        if profile.sampled:
            break
    if profile.sampled:
        # Reading stopped early: the file sizes say nothing about the records read.
        profile.file_bytes = 0
    if not profile.records:
        raise InputError(f"{paths[0]}: no records")
    return profile


__all__ = ["DatasetProfile", "FeatureProfile", "profile_files"]
