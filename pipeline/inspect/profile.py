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
    hash_crcs,
    hash_numbers,
)
from recordio import ExampleDecodeError, Kind, TFRecordReader, expand_paths
from recordio.columns import Column, ColumnDecoder

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
        lengths = column.lengths
        if not lengths.size:
            return
        low, high = int(lengths.min()), int(lengths.max())
        if low < 0:  # absent in some records
            lengths = lengths[lengths >= 0]
            if not lengths.size:
                return
            low, high = int(lengths.min()), int(lengths.max())
        if column.kind is not None:
            if self.kind is None:
                self.kind = column.kind
            elif self.kind is not column.kind:
                self.mixed_kinds = True
                return
        first = self.present == 0
        n = int(lengths.size)
        self.present += n
        if low == high:  # the common case (fixed-length features): no pass over the lengths
            self.nonempty += n if low else 0
            self.values += n * low
        else:
            self.nonempty += int(np.count_nonzero(lengths))
            self.values += int(lengths.sum())
        self.min_length = low if first else min(self.min_length, low)
        self.max_length = high if first else max(self.max_length, high)
        if not self.lengths_cut:
            if low == high:
                self.lengths[low] += n
            else:
                found, counts = np.unique(lengths, return_counts=True)
                self.lengths.update(dict(zip(found.tolist(), counts.tolist(), strict=True)))
            if len(self.lengths) > MAX_LENGTHS:
                self.lengths_cut, self.lengths = True, Counter()
        if column.kind is Kind.BYTES:
            if not self.top.gave_up:  # values are sliced out only while top values are counted
                self.top.add(column.values)
            sizes = column.value_sizes()
            self.distinct.add_hashes(hash_crcs(column.value_crc32c(), sizes))
            self.value_bytes.add(sizes)
        elif column.kind is not None:
            values = column.values
            self.moments.add(values)
            self.sample.add(values)
            self.distinct.add_hashes(hash_numbers(values))
            if column.kind is Kind.INT64:
                self.top.add(values)


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

    _decoder: ColumnDecoder = field(default_factory=ColumnDecoder, repr=False, compare=False)

    def add_batch(self, records: list[bytes]) -> None:
        columns, mixed = self._decoder.decode(records)
        n = len(records)
        size = self._decoder.record_size
        if size is not None:  # the fast decoder checked that every record has this size
            sizes = np.full(n, size, dtype=np.int64)
            self.stream_bytes += (size + 16) * n
        else:
            sizes = np.fromiter(map(len, records), dtype=np.int64, count=n)
            self.stream_bytes += int(sizes.sum()) + 16 * n
        self.record_bytes.add(sizes)
        self.record_sample.add(sizes)
        self.records += n
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
    batch_size: int = 4096,
    verify: bool = True,
) -> DatasetProfile:
    """Profile every record (or the first `sample`) of the TFRecord files of Examples.

    Records are folded `batch_size` at a time (fewer when they are large).
    """
    if sample is not None and sample < 1:
        raise InputError(f"sample must be at least 1, got {sample}", params=("sample",))
    paths = expand_paths(list(patterns))
    if not paths:
        raise InputError("no input files", params=("files",))
    profile = DatasetProfile(files=list(paths))
    feed = _Feed(profile, max(1, batch_size))
    _read_all(feed, paths, verify, sample)
    if profile.sampled:
        # Reading stopped early: the file sizes say nothing about the records read.
        profile.file_bytes = 0
    if not profile.records:
        raise InputError(f"{paths[0]}: no records")
    return profile


BATCH_BYTES = 8 << 20  # a batch of large records is folded before it holds more than this
READ_BATCH = 1024


class _Feed:
    """Gathers the records read into batches for `DatasetProfile.add_batch`: `size` records or
    BATCH_BYTES, whichever comes first (per-batch numpy work is then paid rarely, and memory
    does not depend on the records' sizes)."""

    def __init__(self, profile: DatasetProfile, size: int) -> None:
        self.profile = profile
        self.size = size
        self.records: list[bytes] = []
        self.bytes = 0
        self.path = ""
        self.first = 0  # index in its file of the first record held

    def add(self, path: str, first: int, records: list[bytes], nbytes: int) -> None:
        """Records of `path` from record index `first` on (or the first of a sample's)."""
        if path != self.path:
            self.flush()
        if not self.records:
            self.path, self.first = path, first
        self.records.extend(records)
        self.bytes += nbytes
        if len(self.records) >= self.size or self.bytes >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.records:
            return
        try:
            self.profile.add_batch(self.records)
        except ExampleDecodeError as error:
            raise InputError(
                f"{self.path}: a record in the batch from record {self.first} is not a "
                f"tf.train.Example ({error})"
            ) from error
        self.records, self.bytes = [], 0


def _read_all(feed: _Feed, paths: list[str], verify: bool, limit: int | None) -> None:
    profile = feed.profile
    taken = 0
    for path in paths:
        if limit is not None and taken >= limit:
            profile.sampled = True
            break
        with contextlib.suppress(OSError):
            profile.file_bytes += os.path.getsize(path)
        with TFRecordReader(path, verify=verify) as reader:
            profile.compression.append(str(reader.compression))
            index, offset = 0, reader.offset
            for batch in reader.iter_batches(max_records=min(READ_BATCH, feed.size)):
                if limit is not None and taken + len(batch) >= limit:
                    batch = batch[: limit - taken]
                    profile.sampled = True
                feed.add(path, index, batch, reader.offset - offset)
                index, offset = index + len(batch), reader.offset
                taken += len(batch)
                if profile.sampled:
                    break
        feed.flush()
        if profile.sampled:
            break


__all__ = ["DatasetProfile", "FeatureProfile", "profile_files"]
