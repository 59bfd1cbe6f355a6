"""One streaming pass over Example records that everything else reads: schema, stats, skew.

`profile_files` reads the files batch by batch (CRC checked), decodes each batch into columns
and folds them into per-feature sketches of fixed size, so memory does not depend on how many
records there are. `sample=N` profiles N records drawn at random (seeded) from all the files.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
from recordio import Compression, ExampleDecodeError, Kind, TFRecordReader, expand_paths
from recordio.columns import Column, ColumnDecoder

if TYPE_CHECKING:
    from recordio import IndexedReader

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
            sizes = column.value_sizes()
            hashes = hash_crcs(column.value_crc32c(), sizes)
            self.distinct.add_hashes(hashes)
            self.value_bytes.add(sizes)
            # Values are sliced out only while top values are counted, and not for a batch
            # whose distinct hashes alone show that the feature is nearly all distinct.
            top = self.top
            if not top.gave_up and not top.gives_up_at(np.unique(hashes).size, hashes.size):
                top.add(column.values)
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
    seed: int = 0,
    batch_size: int = 4096,
    verify: bool = True,
) -> DatasetProfile:
    """Profile every record of the TFRecord files of Examples, or a random sample of them.

    `sample=N` profiles N records drawn uniformly at random without replacement from all the
    files together (numpy's Generator seeded with `seed`: the same seed, the same records, so
    the output is reproducible; another seed, another sample); all records when there are no
    more than N. The files are counted first (O(1) with `.idx` sidecars, else a header scan),
    then the chosen records are read in file order: by random access in a plain file or in a
    GZIP file of several members that has a sidecar, else by reading the file through and
    keeping them. Records are folded `batch_size` at a time (fewer when they are large).
    """
    if sample is not None and sample < 1:
        raise InputError(f"sample must be at least 1, got {sample}", params=("sample",))
    if seed < 0:
        raise InputError(f"seed must be >= 0, got {seed}", params=("seed",))
    paths = expand_paths(list(patterns))
    if not paths:
        raise InputError("no input files", params=("files",))
    profile = DatasetProfile(files=list(paths))
    feed = _Feed(profile, max(1, batch_size))
    if sample is None:
        _read_all(feed, paths, verify)
    else:
        _read_sample(feed, paths, sample, seed, verify)
    if profile.sampled:
        # Only some records were read: the file sizes say nothing about them.
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


def _read_all(feed: _Feed, paths: list[str], verify: bool) -> None:
    profile = feed.profile
    for path in paths:
        with contextlib.suppress(OSError):
            profile.file_bytes += os.path.getsize(path)
        with TFRecordReader(path, verify=verify) as reader:
            profile.compression.append(str(reader.compression))
            index, offset = 0, reader.offset
            for batch in reader.iter_batches(max_records=min(READ_BATCH, feed.size)):
                feed.add(path, index, batch, reader.offset - offset)
                index, offset = index + len(batch), reader.offset
        feed.flush()


def _read_sample(feed: _Feed, paths: list[str], sample: int, seed: int, verify: bool) -> None:
    from recordio import count_records

    if "-" in paths:
        raise InputError(
            "sample draws from files it can count first; standard input cannot be read twice",
            params=("sample",),
        )
    readers: list[IndexedReader | None] = []
    counts: list[int] = []
    codecs: list[Compression] = []
    try:
        for path in paths:
            codec, reader = _random_access(path, verify)
            codecs.append(codec)
            readers.append(reader)
            counts.append(len(reader) if reader is not None else count_records(path))
        total = sum(counts)
        if sample >= total:  # the sample is everything: one plain pass, in file order
            _read_all(feed, paths, verify)
            return
        feed.profile.sampled = True
        feed.profile.compression.extend(str(c) for c in codecs)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed])))
        chosen = np.sort(rng.choice(total, size=sample, replace=False))
        starts = np.concatenate([[0], np.cumsum(counts)])
        bounds = np.searchsorted(chosen, starts)
        for f, path in enumerate(paths):
            wanted = chosen[bounds[f] : bounds[f + 1]] - starts[f]
            if not wanted.size:
                continue
            reader = readers[f]
            if reader is not None:
                for at in range(0, wanted.size, READ_BATCH):
                    chunk = wanted[at : at + READ_BATCH]
                    records = reader.take(chunk)
                    feed.add(path, int(chunk[0]), records, sum(map(len, records)))
            else:
                _stream_sample(feed, path, wanted, verify)
            feed.flush()
    finally:
        for reader in readers:
            if reader is not None:
                reader.close()


def _random_access(path: str, verify: bool) -> tuple[Compression, IndexedReader | None]:
    """The file's compression, and a reader for taking records at random where that is cheap:
    a plain file (its index is a header scan) or a GZIP file of several members with a sidecar
    index. A compressed file without a sidecar is read through instead: building its index
    would inflate it all anyway, and a one-stream file cannot be entered in the middle."""
    from recordio import IndexedReader, index_path
    from recordio.compression import detect
    from recordio.paths import exists, open_read

    with open_read(path) as file:
        codec = detect(file.read(12))
    if codec is not Compression.NONE and not exists(index_path(path)):
        return codec, None
    reader = IndexedReader(path, verify=verify)
    index = reader.record_index  # a sidecar is loaded (a stale one raises), else built
    if index.compression is Compression.NONE or index.member_count > 1:
        return index.compression, reader
    reader.close()
    return index.compression, None


def _stream_sample(feed: _Feed, path: str, wanted: np.ndarray, verify: bool) -> None:
    """Read `path` from the start, keeping the records at `wanted` (sorted indices)."""
    done, position = 0, 0
    with TFRecordReader(path, verify=verify) as reader:
        for batch in reader.iter_batches(READ_BATCH):
            end = position + len(batch)
            upto = int(np.searchsorted(wanted, end))
            if upto > done:
                picks = wanted[done:upto]
                records = [batch[i] for i in (picks - position).tolist()]
                feed.add(path, int(picks[0]), records, sum(map(len, records)))
                done = upto
            position = end
            if done == wanted.size:
                break
    if done < wanted.size:
        raise InputError(f"{path}: holds fewer records than it was counted to hold ({position})")


__all__ = ["DatasetProfile", "FeatureProfile", "profile_files"]
