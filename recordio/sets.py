"""Whole-file operations on records: concatenate, split into a shard set, merge (maybe shuffled),
sample. What `recio cat/split/merge/sample` run, one function each.

Every function refuses an existing output unless `overwrite=True`, never writes over one of its
own inputs (not even with `overwrite`), writes atomically (TFRecordWriter's temp + rename), and
publishes sharded output as a set with its manifest (ShardedWriter).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from recordio.compression import CompressionLike
from recordio.errors import OptionError
from recordio.files import expand_paths, shard_names
from recordio.manifest import manifest_path_for
from recordio.reader import TFRecordReader
from recordio.shards import ShardedWriter
from recordio.writer import TFRecordWriter

READ_BATCH = 4096


@dataclass(frozen=True, slots=True)
class SetSummary:
    """What a set operation wrote."""

    records: int
    files: list[str]
    manifest: str | None = None

    def line(self) -> str:
        where = self.files[0] if len(self.files) == 1 else f"{len(self.files)} files"
        extra = f" and {self.manifest}" if self.manifest else ""
        return f"Wrote {self.records:,} record{'s' * (self.records != 1)} to {where}{extra}"


def _inputs(inputs: Sequence[str]) -> list[str]:
    paths = expand_paths(list(inputs))
    if "-" in paths:
        raise OptionError("set operations read files, not stdin", params=("inputs",))
    return paths


def _check_outputs(outputs: Sequence[str], inputs: Sequence[str], overwrite: bool) -> None:
    """Refuse outputs that exist (without `overwrite`) and, always, outputs that are inputs."""
    from recordio.outputs import refuse_unsafe_outputs

    refuse_unsafe_outputs(outputs, inputs, overwrite=overwrite)


def _records(paths: Sequence[str]) -> Iterator[list[bytes]]:
    for path in paths:
        with TFRecordReader(path) as reader:
            yield from reader.iter_batches(READ_BATCH)


def _lengths(paths: Sequence[str]) -> list[np.ndarray]:
    """The data length of every record of each file, from its index (sidecar or a header scan)."""
    from recordio.index import get_index

    return [np.asarray(get_index(path).lengths, dtype=np.int64) for path in paths]


def head(inputs: Sequence[str], n: int) -> Iterator[bytes]:
    """The first `n` records over the inputs, in order (reads no further)."""
    if n < 0:
        raise OptionError(f"n must be >= 0, got {n}", params=("n",))
    left = n
    for batch in _records(_inputs(inputs)) if n else ():
        yield from batch[:left]
        left -= min(left, len(batch))
        if not left:
            return


def cat(
    inputs: Sequence[str],
    out: str,
    *,
    compression: CompressionLike = None,
    overwrite: bool = False,
) -> SetSummary:
    """Every record of the inputs, in order, into one file `out`."""
    paths = _inputs(inputs)
    _check_outputs([out], paths, overwrite)
    count = 0
    with TFRecordWriter(out, _codec(out, compression)) as writer:
        for batch in _records(paths):
            count += writer.write_many(batch)
    return SetSummary(count, [out])


def _codec(out: str, compression: CompressionLike) -> CompressionLike:
    from recordio.compression import Compression

    return Compression.for_path(out, compression)


def split(
    inputs: Sequence[str],
    out: str,
    *,
    shards: int | None = None,
    records: int | None = None,
    max_bytes: int | None = None,
    compression: CompressionLike = None,
    overwrite: bool = False,
) -> SetSummary:
    """The inputs' records, in order, cut into a shard set named like `out` (`shard_names`):
    `shards` files of equal record counts (within one), or files of `records` records, or files
    of at most `max_bytes` of framed records each (a larger record gets a file of its own)."""
    given = [x for x in (shards, records, max_bytes) if x is not None]
    if len(given) != 1:
        raise OptionError(
            "give exactly one of shards, records or max_bytes",
            params=("shards", "records", "max_bytes"),
        )
    if given[0] < 1:
        raise OptionError("shards, records and max_bytes must be >= 1",
                          params=("shards", "records", "max_bytes"))  # fmt: skip
    paths = _inputs(inputs)
    lengths = np.concatenate(_lengths(paths) or [np.zeros(0, np.int64)])
    total = len(lengths)
    if shards is not None:
        bounds = [i * total // shards for i in range(shards + 1)]
    elif records is not None:
        bounds = [*range(0, total, records), total] if total else [0, 0]
    else:
        assert max_bytes is not None
        bounds = [0]
        size = 0
        for i, framed in enumerate((lengths + 16).tolist()):
            if size and size + framed > max_bytes:
                bounds.append(i)
                size = 0
            size += framed
        bounds.append(total)
    n = len(bounds) - 1
    _check_outputs([*shard_names(out, n), manifest_path_for(out)], paths, overwrite)
    with ShardedWriter(out, n, _codec(out, compression), overwrite=True) as writer:
        at, shard = 0, 0
        for batch in _records(paths):
            for record in batch:
                while at >= bounds[shard + 1]:
                    shard += 1
                writer.write(record, shard)
                at += 1
    return SetSummary(total, writer.names, writer.manifest_path)


def merge(
    inputs: Sequence[str],
    out: str,
    *,
    shuffle_seed: int | None = None,
    compression: CompressionLike = None,
    overwrite: bool = False,
) -> SetSummary:
    """The records of all inputs (files, globs, folders, manifests) into one file `out`: in
    order, or with `shuffle_seed` in one seeded random order over all records (read by random
    access through each file's index)."""
    if shuffle_seed is None:
        return cat(inputs, out, compression=compression, overwrite=overwrite)
    if shuffle_seed < 0:
        raise OptionError(f"shuffle_seed must be >= 0, got {shuffle_seed}",
                          params=("shuffle_seed",))  # fmt: skip
    from recordio.access import IndexedReader

    paths = _inputs(inputs)
    _check_outputs([out], paths, overwrite)
    readers = [IndexedReader(p) for p in paths]
    try:
        counts = np.asarray([len(r) for r in readers], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)])
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([shuffle_seed])))
        order = rng.permutation(int(starts[-1]))
        with TFRecordWriter(out, _codec(out, compression)) as writer:
            for first in range(0, len(order), READ_BATCH):
                chunk = order[first : first + READ_BATCH]
                file_of = np.searchsorted(starts, chunk, side="right") - 1
                got: list[bytes] = [b""] * len(chunk)
                for f in np.unique(file_of):
                    rows = np.flatnonzero(file_of == f)
                    wanted = chunk[rows] - starts[f]
                    sort = np.argsort(wanted, kind="stable")
                    for row, rec in zip(rows[sort].tolist(), readers[f].take(wanted[sort]),
                                        strict=True):  # fmt: skip
                        got[row] = rec
                writer.write_many(got)
    finally:
        for reader in readers:
            reader.close()
    return SetSummary(len(order), [out])


def sample(
    n: int,
    inputs: Sequence[str],
    out: str,
    *,
    seed: int = 0,
    compression: CompressionLike = None,
    overwrite: bool = False,
) -> SetSummary:
    """`n` records drawn uniformly without replacement (seeded) from the inputs, written in their
    input order; all of them when there are fewer. One pass (reservoir sampling), no index."""
    if n < 0 or seed < 0:
        raise OptionError("n and seed must be >= 0", params=("n", "seed"))
    paths = _inputs(inputs)
    _check_outputs([out], paths, overwrite)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed])))
    kept: list[tuple[int, bytes]] = []
    seen = 0
    for batch in _records(paths):
        for record in batch:
            if len(kept) < n:
                kept.append((seen, record))
            else:
                j = int(rng.integers(0, seen + 1))
                if j < n:
                    kept[j] = (seen, record)
            seen += 1
    kept.sort(key=lambda item: item[0])
    with TFRecordWriter(out, _codec(out, compression)) as writer:
        writer.write_many(record for _, record in kept)
    return SetSummary(len(kept), [out])


__all__ = ["SetSummary", "cat", "head", "merge", "sample", "split"]
