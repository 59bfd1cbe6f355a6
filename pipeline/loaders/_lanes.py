"""Lanes: read units in turn, decode a window of records at once, hand out rows in order.

A lane's position is a cursor (see `_plan.CURSOR_FIELDS`): where its current window starts in
the record stream (a recordio `start_offset`), the window's number (which seeds its permutation)
and how many of its rows were handed out. Restarting a lane from a cursor re-reads that one
window and continues exactly where it stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pipeline.errors import LoaderError
from pipeline.loaders._outputs import TRANSFORM_SEED_TAG, Output, check_result, length_name
from pipeline.loaders._plan import CURSOR_WIDTH, Unit, assign_lanes, rng, shares
from pipeline.loaders.decode import LENGTHS, ExampleDecoder, Field
from pipeline.loaders.files import file_key, record_reader
from recordio.errors import RecordIOError

READ_BATCH = 1024
FRAMING = 16  # bytes of header and footer around each record in the stream


@dataclass
class ReadOptions:
    """How records are read (passed to recordio.TFRecordReader)."""

    verify: bool = True
    strict: bool = True
    max_record_bytes: int = 256 << 20
    salvage: bool = False


def open_reader(
    path: str, offset: int, opts: ReadOptions, on_damage: Callable[..., None] | None
) -> contextlib.AbstractContextManager[Any]:
    """A recordio reader of `path` from stream offset `offset` (a context manager)."""
    return record_reader(
        path,
        verify=opts.verify,
        strict=opts.strict,
        max_record_bytes=opts.max_record_bytes,
        start_offset=offset,
        on_damage=on_damage if opts.salvage else None,
    )


def count_records(path: str, opts: ReadOptions) -> int:
    """Records a read with these options yields (damaged ones excluded when salvaging): from
    the file's index (an `.idx` sidecar, or a header scan) for a local file read whole."""
    if not opts.salvage and file_key(path) is not None:
        from recordio.index import count_records as indexed_count

        return indexed_count(path, strict=opts.strict, max_record_bytes=opts.max_record_bytes)
    with open_reader(path, 0, opts, (lambda damage: None)) as reader:
        return sum(len(batch) for batch in reader.iter_batches(max_records=8192))


def record_offset(path: str, record: int, opts: ReadOptions) -> int | None:
    """Stream offset where record `record` of `path` starts, from its index (the `.idx` sidecar,
    or one built in memory and kept for the process); None when no index can be had."""
    key = (file_key(path) or path, opts.strict)
    offsets = _OFFSETS.get(key)
    if offsets is None:
        try:
            from recordio.index import get_index
        except ImportError:
            return None
        try:
            offsets = get_index(path, strict=opts.strict).offsets
        except (RecordIOError, OSError):
            return None
        if len(_OFFSETS) > 64:
            _OFFSETS.clear()
        _OFFSETS[key] = offsets
    return int(offsets[record]) if record < len(offsets) else None


_OFFSETS: dict[tuple[Any, bool], Any] = {}


class UnitStream:
    """The kept records of one unit, from a given stream position, with that position tracked."""

    def __init__(
        self,
        unit: Unit,
        offset: int,
        record: int,
        opts: ReadOptions,
        on_damage: Callable[..., None] | None,
    ) -> None:
        self.unit = unit
        self.offset = offset  # stream offset of the next raw record not consumed
        self.record = record  # file index (among records read) of that record
        self._opts = opts
        self._on_damage = on_damage
        if on_damage is not None and unit.start:
            # Damage before the unit's span belongs to the part that reads those records.
            self._on_damage = lambda d: None if d.index < unit.start else on_damage(d)
        self._files = contextlib.ExitStack()
        self._reader: Any = None
        self._batches: Any = None
        self._buf: list[bytes] = []
        self._pos = 0
        self.done = False

    def _seek_to_start(self) -> None:
        """A unit that starts inside its file: jump to its first record with the file's index
        (read and skipped instead when salvaging, or when no index can be had)."""
        start = self.unit.start
        if self.record >= start or self._opts.salvage:
            return
        offset = record_offset(self.unit.path, start, self._opts)
        if offset is not None:
            self.offset, self.record = offset, start

    def _refill(self) -> bool:
        if self._reader is None:
            self._seek_to_start()
            self._reader = self._files.enter_context(
                open_reader(self.unit.path, self.offset, self._opts, self._on_damage)
            )
            self._batches = self._reader.iter_batches(max_records=READ_BATCH)
        batch = next(self._batches, None)
        if batch is None:
            self.done = True
            self.close()
            return False
        # Salvage may have skipped damaged bytes: the batch starts where the reader says.
        self.offset = self._reader.offset - sum(map(len, batch)) - FRAMING * len(batch)
        self._buf = batch
        self._pos = 0
        return True

    def _consume(self, upto: int) -> None:
        used = self._buf[self._pos : upto]
        self.offset += sum(map(len, used)) + FRAMING * len(used)
        self.record += len(used)
        self._pos = upto

    def take(self, n: int, out: list[bytes], runs: list[tuple[str, int, int, int]]) -> int:
        """Append up to n kept records to `out` (and (path, first index, count, step) to `runs`)."""
        got = 0
        stride, residue = self.unit.stride, self.unit.residue
        start, stop = self.unit.start, self.unit.start + self.unit.count * stride
        while got < n:
            if stride == 1 and self.record >= stop:
                self.done = True
                self.close()
                break
            if self._pos >= len(self._buf) and not self._refill():
                break
            buf, pos = self._buf, self._pos
            if stride == 1 and self.record < start:  # records before the unit's span
                self._consume(pos + min(start - self.record, len(buf) - pos))
                continue
            if stride == 1:
                k = min(n - got, len(buf) - pos, stop - self.record)
                out.extend(buf[pos : pos + k])
                runs.append((self.unit.path, self.record, k, 1))
                self._consume(pos + k)
            else:
                first = pos + (residue - self.record) % stride
                kept = buf[first::stride]
                k = min(n - got, len(kept))
                if k == 0:
                    self._consume(len(buf))
                    continue
                out.extend(kept[:k])
                runs.append((self.unit.path, self.record + first - pos, k, stride))
                self._consume(first + (k - 1) * stride + 1)
            got += k
        return got

    def close(self) -> None:
        self._reader = self._batches = None
        self._files.close()


@dataclass
class EpochTask:
    """Everything a producer needs to make the batches of one epoch (picklable)."""

    gen: int
    epoch: int
    seed: int
    part: int
    shuffle: bool
    batch_size: int
    window: int
    units: list[Unit]
    lanes: list[list[int]]
    cursors: np.ndarray  # (lanes, CURSOR_WIDTH) int64
    fields: list[Field]
    scales: dict[str, float]
    opts: ReadOptions
    start_batch: int
    n_batches: int
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    base: int = 0  # stream index of batch 0: epochs follow each other in one stream
    continuous: bool = False  # go on with the next epoch when this one is done
    global_shuffle: bool = False  # lanes deal out one permutation of all the part's records
    return_lengths: bool = False  # add NAME__length for each variable-length field
    transform: Any = None  # fn(piece: dict, rng) -> dict, run on each lane's rows of a batch
    outputs: list[Output] = field(default_factory=list)  # what the batch holds (after transform)

    def next_epoch(self) -> EpochTask:
        """The task of the following epoch, started from its beginning."""
        lanes = assign_lanes(self.units, len(self.lanes), seed=self.seed, epoch=self.epoch + 1,
                             part=self.part, shuffle=self.shuffle)  # fmt: skip
        return replace(
            self,
            epoch=self.epoch + 1,
            lanes=lanes,
            counts=lane_counts(self.units, lanes, self.global_shuffle),
            cursors=np.zeros((len(lanes), CURSOR_WIDTH), dtype=np.int64),
            start_batch=0,
            base=self.base + self.n_batches,
        )


def lane_counts(
    units: Sequence[Unit], lanes: Sequence[Sequence[int]], global_shuffle: bool = False
) -> np.ndarray:
    """Records each lane hands out in an epoch (with a global shuffle: every L-th record of the
    epoch's permutation, whatever units the lane was dealt)."""
    if global_shuffle:
        total, n = sum(u.count for u in units), len(lanes)
        return np.asarray([len(range(lane, total, n)) for lane in range(n)], dtype=np.int64)
    return np.asarray([sum(units[i].count for i in lane) for lane in lanes], dtype=np.int64)


def window_size(task: EpochTask, lane: int, window: int) -> int:
    """Records in a lane's window. Lanes' first windows are staggered (lane l's is (l+1)/L of
    the full size) so that lanes refill at different batches instead of all at once."""
    if window > 0 or not task.shuffle:
        return task.window
    n = len(task.lanes)
    return max(64, task.window * (lane + 1) // n)


class Lane:
    """One lane: its units read in turn, decoded a window at a time, rows handed out in order."""

    def __init__(
        self,
        task: EpochTask,
        lane: int,
        decoder: ExampleDecoder,
        on_damage: Callable[..., None] | None,
    ) -> None:
        self.task = task
        self.lane = lane
        self.units = [task.units[i] for i in task.lanes[lane]]
        self.decoder = decoder
        self._on_damage = on_damage
        unit, offset, record, window, pos, consumed = (int(x) for x in task.cursors[lane])
        self._saved = [unit, offset, record, window, pos, consumed]
        self.unit_pos = unit
        self.stream: UnitStream | None = None
        self._resume = (offset, record) if (offset or record) else None
        self.window_no = window - 1  # incremented by the first load
        self.start = (unit, offset, record)
        self.pos = pos
        self.consumed = consumed
        self.size = 0
        self.order: np.ndarray | None = None
        self.arrays: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self._loaded = False

    def _open(self) -> UnitStream | None:
        while self.unit_pos < len(self.units):
            if self.stream is None:
                offset, record = self._resume or (0, 0)
                self._resume = None
                self.stream = UnitStream(
                    self.units[self.unit_pos], offset, record, self.task.opts, self._on_damage
                )
            if not self.stream.done:
                return self.stream
            self.stream = None
            self.unit_pos += 1
        return None

    def _load(self) -> None:
        """Read, decode and (when shuffling) permute the next window."""
        task = self.task
        stream = self._open()
        self.start = (
            (self.unit_pos, stream.offset, stream.record) if stream else (self.unit_pos, 0, 0)
        )
        records: list[bytes] = []
        runs: list[tuple[str, int, int, int]] = []
        self.window_no += 1
        want = window_size(task, self.lane, self.window_no)
        while len(records) < want:
            stream = self._open()
            if stream is None:
                break
            stream.take(want - len(records), records, runs)
        if not records:
            raise LoaderError(
                f"lane {self.lane} ran out of records after {self.consumed}: a file changed "
                "after its records were counted"
            )

        def where(i: int) -> tuple[str | None, int | None]:
            for path, first, count, step in runs:
                if i < count:
                    return path, first + i * step
                i -= count
            return None, None

        self._ensure_buffers(task.window)
        self.arrays = self.decoder.decode(records, where, out=self._buffers)
        self.size = len(records)
        if task.shuffle:
            self.order = rng(
                task.seed, task.epoch, task.part, self.lane, self.window_no
            ).permutation(self.size)
        else:
            self.order = None
        self._loaded = True

    def _ensure_buffers(self, n: int) -> None:
        for f in self.decoder.fields:
            if f.fixed_width and f.numeric and f.name not in self._buffers:
                self._buffers[f.name] = np.empty(f.batch_shape(n), dtype=f.dtype)

    def fill(
        self,
        dest: Mapping[str, np.ndarray],
        start: int,
        count: int,
        extras: dict[str, list[np.ndarray]],
    ) -> None:
        """Write the next `count` rows into dest[name][start:start+count] (extras appended)."""
        if not self._loaded:
            self._load()  # the window the cursor points into (or the first one)
        done = 0
        while done < count:
            if self.pos >= self.size:
                self._load()
                self.pos = 0
            k = min(count - done, self.size - self.pos)
            idx: Any = (
                slice(self.pos, self.pos + k)
                if self.order is None
                else self.order[self.pos : self.pos + k]
            )
            row = start + done
            if self.task.transform is None:
                self._write(dest, row, k, idx, extras)
            else:
                self._transform(dest, row, k, idx, extras)
            self.pos += k
            self.consumed += k
            done += k

    def _lengths(self, f: Field, idx: Any) -> np.ndarray:
        lengths = self.arrays[f.name + LENGTHS][idx]
        return lengths if f.pad is None else np.minimum(lengths, f.pad)

    def _write(
        self, dest: Mapping[str, np.ndarray], row: int, k: int, idx: Any,
        extras: dict[str, list[np.ndarray]],
    ) -> None:  # fmt: skip
        """Rows idx of the window to dest[row:row+k] (fixed-shape numbers) or to extras."""
        for f in self.decoder.fields:
            src = self.arrays[f.name]
            scale = self.task.scales.get(f.name)
            if f.name in dest:
                target = dest[f.name][row : row + k]
                picked = src[idx]
                if scale is not None and scale != 1.0:
                    np.multiply(picked, np.float32(scale), out=target, dtype=target.dtype)
                else:
                    target[...] = picked
            else:
                extras.setdefault(f.name, []).append(self._piece(f, idx, scale))
            if self.task.return_lengths and f.shape is None:
                key = length_name(f.name)
                if key in dest:
                    dest[key][row : row + k] = self._lengths(f, idx)
                else:
                    extras.setdefault(key, []).append(self._lengths(f, idx))

    def _piece(self, f: Field, idx: Any, scale: float | None) -> np.ndarray:
        piece = self.arrays[f.name][idx]
        if f.row_shape is None and piece.ndim == 2:  # ragged: as wide as its longest row
            piece = piece[:, : int(self.arrays[f.name + LENGTHS][idx].max(initial=0))]
        if scale is not None:
            piece = piece.astype(np.float32) * np.float32(scale)
        return piece

    def _transform(
        self, dest: Mapping[str, np.ndarray], row: int, k: int, idx: Any,
        extras: dict[str, list[np.ndarray]],
    ) -> None:  # fmt: skip
        """Run the transform on these rows, seeded by where they stand in the lane's epoch."""
        task = self.task
        batch: dict[str, np.ndarray] = {}
        for f in self.decoder.fields:
            batch[f.name] = self._piece(f, idx, task.scales.get(f.name))
            if task.return_lengths and f.shape is None:
                batch[length_name(f.name)] = self._lengths(f, idx)
        gen = rng(TRANSFORM_SEED_TAG, task.seed, task.epoch, task.part, self.lane, self.consumed)
        out = check_result(task.transform(batch, gen), k, f"lane {self.lane}")
        for o in task.outputs:
            value = out.get(o.name)
            if value is None:
                raise LoaderError(
                    f"transform returned no {o.name!r} here, but did on the test batch: a "
                    "transform must always return the same keys"
                )
            if o.name in dest:
                target = dest[o.name][row : row + k]
                if value.shape != target.shape:
                    raise LoaderError(
                        f"transform returned {o.name!r} rows of shape {value.shape[1:]}, but "
                        f"{target.shape[1:]} on the test batch: row shapes must not depend on "
                        "the data"
                    )
                target[...] = value
            else:
                extras.setdefault(o.name, []).append(value)

    def cursor(self) -> list[int]:
        if not self._loaded:
            return list(self._saved)
        unit, offset, record = self.start
        return [unit, offset, record, max(self.window_no, 0), self.pos, self.consumed]

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


_PERMUTATION: dict[tuple[int, ...], np.ndarray] = {}


def epoch_permutation(seed: int, epoch: int, part: int, total: int) -> np.ndarray:
    """The order of all `total` records of a part in one epoch (kept for the last epoch asked:
    the lanes of one process share it)."""
    key = (seed, epoch, part, total)
    perm = _PERMUTATION.get(key)
    if perm is None:
        _PERMUTATION.clear()
        perm = _PERMUTATION[key] = rng(seed, epoch, part, 0x6105).permutation(total)
    return perm


_READERS: dict[tuple[Any, ...], Any] = {}
MAX_READERS = 256
CACHE_BYTES = 128 << 20  # inflated gzip members kept per process, shared out over the files


def indexed_reader(path: str, opts: ReadOptions, cache_bytes: int = CACHE_BYTES) -> Any:
    """A random-access reader of `path`, kept for the process while the file is unchanged: its
    index and its cache of inflated gzip members then serve every epoch, not just one."""
    from recordio.access import IndexedReader

    key = (file_key(path) or path, opts.verify, opts.max_record_bytes)
    reader = _READERS.get(key)
    if reader is None:
        if len(_READERS) >= MAX_READERS:
            _READERS.pop(next(iter(_READERS))).close()
        reader = _READERS[key] = IndexedReader(
            path,
            verify=opts.verify,
            max_record_bytes=opts.max_record_bytes,
            cache_bytes=cache_bytes,
        )
    return reader


class GlobalLane(Lane):
    """A lane of a globally shuffled epoch: records `lane, lane + L, ...` of the epoch's
    permutation of the whole part, read by random access (`recordio.access.IndexedReader`) a
    window at a time, in that order. Its cursor needs only the window and the rows handed out."""

    def __init__(
        self,
        task: EpochTask,
        lane: int,
        decoder: ExampleDecoder,
        on_damage: Callable[..., None] | None,
        readers: dict[str, Any],
    ) -> None:
        super().__init__(task, lane, decoder, on_damage)
        counts = np.asarray([u.count for u in task.units], dtype=np.int64)
        self._unit_starts = np.concatenate([[0], np.cumsum(counts)])
        total = int(self._unit_starts[-1])
        self._mine = epoch_permutation(task.seed, task.epoch, task.part, total)[
            lane :: len(task.lanes)
        ]
        self._readers = readers
        self._paths = sorted({u.path for u in task.units})
        number = {path: i for i, path in enumerate(self._paths)}
        self._path_ids = np.asarray([number[u.path] for u in task.units], dtype=np.int64)
        self._unit_first = np.asarray([u.start for u in task.units], dtype=np.int64)

    def _reader(self, path: str) -> Any:
        reader = self._readers.get(path)
        if reader is None:
            share = max(1 << 20, CACHE_BYTES // len(self._paths))
            reader = self._readers[path] = indexed_reader(path, self.task.opts, share)
        return reader

    def _load(self) -> None:
        task = self.task
        self.window_no += 1
        first = self.window_no * task.window
        picked = self._mine[first : first + task.window]
        if not len(picked):
            raise LoaderError(
                f"lane {self.lane} ran out of records after {self.consumed}: a file changed "
                "after its records were counted"
            )
        unit_of = np.searchsorted(self._unit_starts, picked, side="right") - 1
        file_index = self._unit_first[unit_of] + (picked - self._unit_starts[unit_of])
        path_id = self._path_ids[unit_of]
        # Read (and decode) in file order; hand the rows out in the permutation's order.
        sorted_rows = np.lexsort((file_index, path_id))
        ids, firsts = np.unique(path_id[sorted_rows], return_index=True)
        bounds = [*firsts.tolist(), len(sorted_rows)]
        records: list[bytes] = []
        for k, pid in enumerate(ids.tolist()):
            rows = sorted_rows[bounds[k] : bounds[k + 1]]
            records += self._reader(self._paths[pid]).take(file_index[rows])

        def where(i: int) -> tuple[str | None, int | None]:
            row = int(sorted_rows[i])
            return self._paths[int(path_id[row])], int(file_index[row])

        self._ensure_buffers(task.window)
        self.arrays = self.decoder.decode(records, where, out=self._buffers)
        self.size = len(records)
        self.order = np.argsort(sorted_rows)  # output row j is decoded row order[j]
        self._loaded = True

    def cursor(self) -> list[int]:
        if not self._loaded:
            return list(self._saved)
        return [0, 0, 0, max(self.window_no, 0), self.pos, self.consumed]

    def close(self) -> None:
        pass  # the readers belong to the producer


class Producer:
    """Makes the batches of one epoch for a subset of the lanes (a worker's, or all of them)."""

    def __init__(self, task: EpochTask, lanes: Sequence[int], decoder: ExampleDecoder) -> None:
        self.task = task
        self.damage: list[Any] = []
        self._readers: dict[str, Any] = {}
        if task.global_shuffle:
            self.lanes: dict[int, Lane] = {
                lane: GlobalLane(task, lane, decoder, self._damaged, self._readers)
                for lane in lanes
            }
        else:
            self.lanes = {lane: Lane(task, lane, decoder, self._damaged) for lane in lanes}
        self.remaining = task.counts - task.cursors[:, 5]
        if (self.remaining < 0).any():
            raise LoaderError(
                "the saved state does not fit the data: a lane consumed more than it holds"
            )

    def _damaged(self, damage: Any) -> None:
        self.damage.append(damage)

    def fill(
        self, dest: Mapping[str, np.ndarray], cursors: np.ndarray
    ) -> dict[int, dict[str, list[np.ndarray]]]:
        """Fill the next batch's rows of our lanes; write their cursors into `cursors`.

        Returns, per lane, the pieces of the fields that do not live in `dest` (ragged and bytes
        fields), in row order within the lane.
        """
        share = shares(self.remaining, self.task.batch_size)
        offsets = np.cumsum(share) - share
        extras: dict[int, dict[str, list[np.ndarray]]] = {}
        for lane_id, lane in self.lanes.items():
            k = int(share[lane_id])
            if k:
                lane.fill(dest, int(offsets[lane_id]), k, extras.setdefault(lane_id, {}))
            cursors[lane_id, :CURSOR_WIDTH] = lane.cursor()
        self.remaining -= share
        return extras

    def close(self) -> None:
        for lane in self.lanes.values():
            lane.close()
        self._readers.clear()  # the readers stay open for the next epoch (indexed_reader)


__all__ = ["EpochTask", "Lane", "Producer", "ReadOptions", "UnitStream", "count_records"]
