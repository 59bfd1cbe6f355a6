"""Random access to the records of one file: `len(reader)`, `reader[i]`, `reader.take(indices)`.

Uncompressed files are memory-mapped and records gathered straight from the map (in C when the
accelerator is built), both CRCs checked. GZIP files with several members (recio writes one per
~1 MiB) inflate only the members that hold the records asked for, several at once in threads,
and keep a few recently used members. A GZIP or ZLIB file that is one stream (as TensorFlow
writes it) cannot be entered in the middle: `take` reads it from the start, keeping only the
records asked for.

The index comes from the file's `.idx` sidecar when there is one (a stale one raises
StaleIndexError), else it is built in memory on first use.
"""

from __future__ import annotations

import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, overload

import numpy as np

from recordio import _backend, paths
from recordio._framing import FOOTER, HEADER, MAX_LENGTH, STOP_BATCH, STOP_STALE, scan_error
from recordio._members import inflate_member, parse_header
from recordio.compression import Compression, CompressionLike
from recordio.errors import (
    CompressedStreamError,
    OptionError,
    RecordIOError,
    StaleIndexError,
)
from recordio.index import DEFAULT_MAX_RECORD_BYTES, RecordIndex, default_workers, get_index

CACHE_BYTES = 32 << 20  # inflated gzip members kept per reader (at least one take's worth)
RANGE_GAP = 64 << 10  # bytes of unwanted records read rather than asked for in another request


class IndexedReader(Sequence[bytes]):
    """The records of one file as a sequence: `len()`, `[i]`, slices and batched `take()`.

    Args:
        path: a local file or an fsspec URL (records are fetched as byte ranges there).
        compression: NONE/GZIP/ZLIB or None to detect it.
        verify: check both CRCs of every record returned (on by default).
        use_sidecar: use `path.idx` when present (a stale one raises); False always builds the
            index in memory.
        index: an index already built (e.g. shared by a loader's workers).
        workers: threads inflating gzip members (default: the usable cores, at most 8).
        cache_bytes: inflated gzip members kept for later takes (least recently used go first);
            a one-stream GZIP file no larger than this once inflated is cached whole, so
            random reads of a small file inflate it once instead of once per take.

    Thread-safe for reading; picklable (each process reopens the file).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        compression: CompressionLike = None,
        *,
        verify: bool = True,
        use_sidecar: bool = True,
        index: RecordIndex | None = None,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        workers: int | None = None,
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        if workers is not None and workers < 1:
            raise OptionError(f"workers must be >= 1, got {workers}", params=("workers",))
        if cache_bytes < 0:
            raise OptionError(
                f"cache_bytes must be >= 0, got {cache_bytes}", params=("cache_bytes",)
            )
        self.cache_bytes = cache_bytes
        self.path = os.fspath(path)
        self.verify = verify
        self.max_record_bytes = max_record_bytes
        self._compression = Compression.parse(compression)
        self._use_sidecar = use_sidecar
        self._given_index = index
        self._workers = workers or default_workers()
        self._reset()

    def _reset(self) -> None:
        self._index: RecordIndex | None = self._given_index
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cached = 0  # bytes in the cache
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # -- pickling: a worker process reopens the file -----------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = {
            "path": self.path,
            "verify": self.verify,
            "max_record_bytes": self.max_record_bytes,
            "_compression": self._compression,
            "_use_sidecar": self._use_sidecar,
            "_given_index": self._index,
            "_workers": self._workers,
            "cache_bytes": self.cache_bytes,
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    # -- the index ---------------------------------------------------------------------------
    @property
    def record_index(self) -> RecordIndex:
        """The record index (loaded or built on first use)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = get_index(
                        self.path,
                        self._compression,
                        use_sidecar=self._use_sidecar,
                        max_record_bytes=self.max_record_bytes,
                    )
        return self._index

    @property
    def compression(self) -> Compression:
        return self.record_index.compression

    def __len__(self) -> int:
        return len(self.record_index)

    @overload
    def __getitem__(self, item: int) -> bytes: ...

    @overload
    def __getitem__(self, item: slice) -> list[bytes]: ...

    def __getitem__(self, item: int | slice) -> bytes | list[bytes]:
        if isinstance(item, slice):
            return self.take(range(*item.indices(len(self))))
        return self.take([item])[0]

    def __iter__(self) -> Iterator[bytes]:
        """Every record in order, read in batches (a one-stream file: in one pass)."""
        index = self.record_index
        if index.compression is not Compression.NONE and not self._by_members(index):
            from recordio.reader import TFRecordReader

            self._check_unchanged()
            with TFRecordReader(
                self.path,
                index.compression,
                verify=self.verify,
                max_record_bytes=self.max_record_bytes,
            ) as reader:
                for batch in reader.iter_batches(4096):
                    yield from batch
            return
        n = len(index)
        for start in range(0, n, 4096):
            yield from self.take(range(start, min(n, start + 4096)))

    # -- batched random access ---------------------------------------------------------------
    def take(self, indices: Iterable[int] | np.ndarray) -> list[bytes]:
        """The records at `indices` (negative counts from the end), in the order given."""
        index = self.record_index
        count = len(index)
        wanted = np.asarray(
            indices
            if not isinstance(indices, range)
            else np.arange(indices.start, indices.stop, indices.step),
            dtype=np.int64,
        ).reshape(-1)
        if not len(wanted):
            return []
        wanted = np.where(wanted < 0, wanted + count, wanted)
        bad = (wanted < 0) | (wanted >= count)
        if bad.any():
            first = int(np.asarray(indices).reshape(-1)[int(np.argmax(bad))])
            raise IndexError(f"{self.path}: record index {first} out of range ({count} records)")
        starts = index.offsets[wanted]
        lengths = index.offsets[wanted + 1] - starts - np.uint64(HEADER + FOOTER)
        if index.compression is Compression.NONE:
            if paths.is_url(self.path):
                return self._take_ranges(starts, lengths, wanted)
            return self._gather(self._mapped(), starts, lengths, wanted, 0)
        if self._by_members(index):
            return self._take_members(starts, lengths, wanted)
        return self._take_streaming(wanted)

    def _by_members(self, index: RecordIndex) -> bool:
        """Read member by member: several members, or one that fits the cache whole."""
        if index.member_count > 1:
            return True
        return index.member_count == 1 and int(index.members[-1, 1]) <= self.cache_bytes

    def _mapped(self) -> mmap.mmap | bytes:
        if self._map is None:
            with self._lock:
                if self._map is None:
                    self._check_unchanged()
                    with open(self.path, "rb") as file:
                        if os.fstat(file.fileno()).st_size == 0:
                            return b""
                        self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def _check_unchanged(self) -> None:
        index = self.record_index
        if not index.file_size and not index.fingerprint:
            return  # an index given by hand
        if paths.signature(self.path) != (index.file_size, index.mtime_ns):
            raise StaleIndexError(
                "the file changed since it was indexed",
                path=self.path,
                hint=f"rebuild the index: recio index {self.path}",
            )

    def _gather(
        self,
        buf: mmap.mmap | bytes,
        starts: np.ndarray,
        lengths: np.ndarray,
        wanted: np.ndarray,
        base: int,
    ) -> list[bytes]:
        rel = starts - np.uint64(base) if base else starts
        records, failed, status, a, b = _backend.gather(
            buf,
            np.ascontiguousarray(rel, dtype=np.uint64),
            np.ascontiguousarray(lengths, dtype=np.uint64),
            self.verify,
        )
        if status != STOP_BATCH:
            self._raise_at(int(wanted[failed]), int(starts[failed]), status, a, b)
        return records

    def _raise_at(self, record: int, offset: int, status: int, a: int, b: int) -> None:
        where: dict[str, Any] = {"path": self.path, "index": record, "offset": offset}
        if status != STOP_STALE:
            raise scan_error(status, a, b, limit=MAX_LENGTH, **where)
        raise StaleIndexError(
            "the record there is not the one the index describes",
            hint=f"the file changed: rebuild the index (recio index {self.path})",
            **where,
        )

    def _take_ranges(
        self, starts: np.ndarray, lengths: np.ndarray, wanted: np.ndarray
    ) -> list[bytes]:
        """Records of a remote file: nearby records are fetched as one byte range (gaps of up
        to RANGE_GAP bytes are read rather than asked for separately), all ranges at once."""
        self._check_unchanged()
        ends = starts + lengths + np.uint64(HEADER + FOOTER)
        order = np.argsort(starts, kind="stable")
        s_sorted, e_sorted = starts[order].astype(np.int64), ends[order].astype(np.int64)
        reach = np.maximum.accumulate(e_sorted)
        breaks = np.nonzero(s_sorted[1:] > reach[:-1] + RANGE_GAP)[0] + 1
        first = np.concatenate(([0], breaks))
        last = np.concatenate((breaks, [len(order)]))
        spans = [(int(s_sorted[a]), int(reach[b - 1])) for a, b in zip(first, last, strict=True)]
        pieces = paths.read_ranges(self.path, [a for a, _ in spans], [b for _, b in spans])
        out: list[bytes | None] = [None] * len(wanted)
        for (begin, _), piece, a, b in zip(spans, pieces, first, last, strict=True):
            picks = order[a:b]
            got = self._gather(piece, starts[picks], lengths[picks], wanted[picks], begin)
            for slot, record in zip(picks.tolist(), got, strict=True):
                out[slot] = record
        return out  # type: ignore[return-value]

    # -- GZIP with members -------------------------------------------------------------------
    def _take_members(
        self, starts: np.ndarray, lengths: np.ndarray, wanted: np.ndarray
    ) -> list[bytes]:
        table = self.record_index.members
        bounds = table[:, 1]
        ends = starts + lengths + np.uint64(HEADER + FOOTER)
        first = np.searchsorted(bounds, starts, side="right") - 1
        last = np.searchsorted(bounds, ends - np.uint64(1), side="right") - 1
        needed = sorted(set(first.tolist()) | set(last.tolist()))
        spans = {
            int(m) for f, l_ in zip(first, last, strict=True) if f != l_ for m in range(f, l_ + 1)
        }
        self._load_members(sorted(set(needed) | spans))
        out: list[bytes | None] = [None] * len(wanted)
        single = first == last
        for member in np.unique(first[single]):
            picks = np.nonzero(single & (first == member))[0]
            buf = self._cache_get(int(member))
            got = self._gather(
                buf, starts[picks], lengths[picks], wanted[picks], int(bounds[member])
            )
            for slot, record in zip(picks.tolist(), got, strict=True):
                out[slot] = record
        for slot in np.nonzero(~single)[0].tolist():  # records spanning members (other writers)
            lo, hi = int(first[slot]), int(last[slot])
            buf = b"".join(self._cache_get(m) for m in range(lo, hi + 1))
            out[slot] = self._gather(
                buf, starts[[slot]], lengths[[slot]], wanted[[slot]], int(bounds[lo])
            )[0]
        return out  # type: ignore[return-value]

    def _cache_get(self, member: int) -> bytes:
        with self._lock:
            data = self._cache[member]
            self._cache.move_to_end(member)
            return data

    def _load_members(self, members: list[int]) -> None:
        with self._lock:
            missing = [m for m in members if m not in self._cache]
        if not missing:
            return
        self._check_unchanged()
        table = self.record_index.members
        if paths.is_url(self.path):  # fetch every member asked for in one batch of requests
            begins = [int(table[m, 0]) for m in missing]
            ends = [int(table[m + 1, 0]) for m in missing]
            fetched: list[bytes | None] = list(paths.read_ranges(self.path, begins, ends))
        else:
            fetched = [None] * len(missing)
        if len(missing) > 1 and self._workers > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers)
            inflated = list(self._pool.map(self._inflate, missing, fetched))
        else:
            inflated = [self._inflate(m, d) for m, d in zip(missing, fetched, strict=True)]
        with self._lock:
            for member, data in zip(missing, inflated, strict=True):
                self._cache[member] = data
                self._cached += len(data)
            needed = set(members)
            for member in list(self._cache):  # least recently used first
                if self._cached <= self.cache_bytes:
                    break
                if member not in needed:
                    self._cached -= len(self._cache.pop(member))

    def _inflate(self, member: int, data: bytes | None = None) -> bytes:
        table = self.record_index.members
        begin, end = int(table[member, 0]), int(table[member + 1, 0])
        if data is None:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY)
            data = os.pread(self._fd, end - begin, begin)
        expected = int(table[member + 1, 1] - table[member, 1])
        try:
            header = parse_header(data)
            if header is None:
                raise ValueError("member header cut short")
            out = inflate_member(data, header)
        except ValueError as error:
            raise CompressedStreamError(
                f"GZIP member {member} is damaged ({error})",
                codec="GZIP",
                path=self.path,
                compressed_offset=begin,
            ) from None
        if len(out) != expected:
            raise StaleIndexError(
                f"GZIP member {member} holds other bytes than the index says",
                path=self.path,
                hint=f"rebuild the index: recio index {self.path}",
            )
        return out

    # -- one compressed stream ---------------------------------------------------------------
    def _take_streaming(self, wanted: np.ndarray) -> list[bytes]:
        from recordio.reader import TFRecordReader

        self._check_unchanged()
        order = np.unique(wanted)
        found: dict[int, bytes] = {}
        stop = int(order[-1])
        keep = set(order.tolist())
        position = 0
        with TFRecordReader(
            self.path,
            self.record_index.compression,
            verify=self.verify,
            max_record_bytes=self.max_record_bytes,
        ) as reader:
            for batch in reader.iter_batches(4096):
                for record in batch:
                    if position in keep:
                        found[position] = record
                    position += 1
                if position > stop:
                    break
        if len(found) != len(keep):
            raise RecordIOError("the file holds fewer records than its index", path=self.path)
        return [found[i] for i in wanted.tolist()]

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._cache.clear()
        self._cached = 0

    def __enter__(self) -> IndexedReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            self.close()


__all__ = ["IndexedReader"]
