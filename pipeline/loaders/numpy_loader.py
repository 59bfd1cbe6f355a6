"""NumpyLoader: TFRecord Examples -> numpy batches with recordio only (no TensorFlow).

    loader = NumpyLoader("out/", label="label", batch_size=2048,
                         decode=DecodeOptions(decode_bytes={"image": ("uint8", (28, 28))},
                                              to_float32={"image": 1 / 255}),
                         workers=WorkerOptions(num_workers=8))
    for features, labels in loader:        # one epoch, shuffled with seed 0 + epoch
        ...

What it does, and why:
- Decodes with templates specialised to the data's byte layout (see `decode.py`), falling back to
  recordio's generic decoder record by record, so output never depends on the fast path.
- Splits the data once across `world_size` ranks (and torch DataLoader workers, via the adapter)
  into equal parts at record level (`recordio.parts`): every rank gets the same number of
  records and batches; see `_plan.py` for the order of an epoch.
- Makes batches in the background (`num_workers` processes, or one thread) straight into shared
  memory; a batch's arrays are views of that memory, never overwritten while referenced.
- `state_dict()` after any batch and `load_state_dict()` in a fresh process continue the epoch with
  the very same order: no record repeated, none skipped.
"""

from __future__ import annotations

import logging
import math
import os
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from pipeline.errors import LoaderError, LoaderOptionError
from pipeline.loaders._backend import Backend, InlineBackend, WorkerBackend
from pipeline.loaders._lanes import (
    EpochTask,
    ReadOptions,
    count_records,
    lane_counts,
    open_reader,
)
from pipeline.loaders._outputs import Output, Transform, base_outputs, concat, probe_outputs
from pipeline.loaders._plan import CURSOR_WIDTH, assign_lanes, fingerprint, make_units
from pipeline.loaders._slots import SlotLayout
from pipeline.loaders.decode import Field, make_fields
from pipeline.loaders.files import file_key, record_reader, resolve_files
from pipeline.loaders.options import DecodeOptions, OrderOptions, SourceOptions, WorkerOptions
from pipeline.loaders.spec import FeatureSpec, load_spec, select

log = logging.getLogger(__name__)
STATE_VERSION = 1
_COUNTS: dict[tuple[Any, ...], int] = {}  # (file identity, read options) -> record count


def _close_backend(holder: dict[str, Backend | None]) -> None:
    backend = holder.get("backend")
    holder["backend"] = None
    if backend is not None:
        backend.close()


class NumpyLoader:
    """Batches `(features, label)` of numpy arrays from Example TFRecords, without TensorFlow.

    Args:
        data: a folder (`recio job transform` / `recio job csv` output, or any folder of
            TFRecord files), a glob, a file, or a list of them.
        label: the feature returned as the second element.
        features: features to load (default: all but the label).
        split: "train"/"eval" inside a transform job's output (default train).
        batch_size: rows per batch; the last batch of an epoch may be smaller unless
            `order.drop_remainder`.
        order: shuffling, seed, this process's part of the data (`OrderOptions`).
        decode: raw bytes as numbers, float32 scaling, padding (`DecodeOptions`).
        workers: background processes and prefetch (`WorkerOptions`).
        source: the feature spec and what to do at damage (`SourceOptions`).
        transform: `fn(batch: dict, rng) -> dict`, run where the batches are made (the worker
            processes, or in-process with num_workers=0) on each lane's rows of a batch: it
            must work row by row, keep the number of rows, and be a top-level function (or an
            instance of a top-level class, e.g. `pipeline.loaders.transforms.ImageAugment`) so it
            can be pickled. `rng` is a numpy Generator seeded from (seed, epoch, rank, lane,
            position in the lane), so the result depends on neither num_workers nor a resume.
            It is called once on a batch of zeros first to learn what it returns.
    """

    def __init__(
        self,
        data: str | os.PathLike[str] | Sequence[str],
        *,
        label: str,
        features: Sequence[str] | None = None,
        split: str | None = None,
        batch_size: int = 32,
        order: OrderOptions | None = None,
        decode: DecodeOptions | None = None,
        workers: WorkerOptions | None = None,
        source: SourceOptions | None = None,
        transform: Transform | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise LoaderOptionError(
                f"batch_size must be an integer >= 1, got {batch_size!r}", params=("batch_size",)
            )
        order = order or OrderOptions()
        decode = decode or DecodeOptions()
        workers = workers or WorkerOptions()
        source = source or SourceOptions()
        for name, value, kind in (
            ("order", order, OrderOptions),
            ("decode", decode, DecodeOptions),
            ("workers", workers, WorkerOptions),
            ("source", source, SourceOptions),
        ):
            if not isinstance(value, kind):
                raise LoaderOptionError(
                    f"{name} must be a {kind.__name__}, got {type(value).__name__}",
                    params=(name,),
                )
        self.data = data
        self.split = split
        self.order = order
        self.decode = decode
        self.workers = workers
        self.source = source
        self.files = resolve_files(data, split)
        self.spec: dict[str, FeatureSpec] = (
            dict(source.spec)
            if source.spec is not None
            else load_spec(data, split, salvage=source.salvage)
        )
        where = data if isinstance(data, str) else self.files[0]
        names, _ = select(self.spec, label, features, str(where))
        self.label = label
        self.features = names
        self.batch_size = batch_size
        self.shuffle = order.shuffle
        self.seed = order.seed
        self.drop_remainder = order.drop_remainder
        self.rank = order.rank
        self.world_size = order.world_size
        self.num_workers = workers.num_workers
        self.prefetch = workers.prefetch
        self.shuffle_buffer = order.shuffle_buffer
        self.lanes = order.lanes or max(8, workers.num_workers)
        self.start_method = workers.start_method
        self.opts = ReadOptions(verify=source.verify, strict=source.strict, salvage=source.salvage)
        self.scales = {k: float(v) for k, v in decode.to_float32.items()}
        all_names = [*names, label]
        raw_lengths = self._raw_lengths(decode.decode_bytes)
        self.fields: list[Field] = make_fields(
            self.spec, all_names, decode.decode_bytes, decode.pad, raw_lengths
        )
        for name in self.scales:
            field = next((f for f in self.fields if f.name == name), None)
            if field is None:
                raise LoaderOptionError(
                    f"to_float32 names {name!r}, not a loaded feature", params=("to_float32",)
                )
            if not field.numeric:
                raise LoaderOptionError(
                    f"to_float32[{name!r}]: {field.kind} values are not numbers"
                    + (" (add it to decode_bytes first)" if field.kind == "bytes" else ""),
                    params=("to_float32", "decode_bytes"),
                )
        self.global_shuffle = order.global_shuffle
        if self.global_shuffle and (source.salvage or not order.shuffle):
            raise LoaderOptionError(
                "global_shuffle reads records at random through the files' index: it needs "
                "shuffle=True and cannot salvage damaged files",
                params=("global_shuffle", "shuffle", "salvage"),
            )
        self.transform = transform
        self.outputs: list[Output] = self._outputs(transform)
        self.damage: list[Any] = []
        self.epoch = 0
        self._batch = 0
        self._cursors: np.ndarray | None = None
        self._counts: list[int] | None = None
        self._units: list[Any] | None = None
        self._holder: dict[str, Backend | None] = {"backend": None}
        self._finalizer = weakref.finalize(self, _close_backend, self._holder)
        self._active = 0

    # -- set-up ----------------------------------------------------------------------------
    def _outputs(self, transform: Transform | None) -> list[Output]:
        """The arrays of a batch: the decoded fields, or what the transform makes of them."""
        inputs = base_outputs(self.fields, self.scales, self.decode.return_lengths)
        if transform is None:
            return inputs
        if not callable(transform):
            raise LoaderOptionError(
                f"transform must be a function fn(batch, rng) -> dict, got {transform!r}",
                params=("transform",),
            )
        if self.num_workers > 0:
            import pickle

            try:
                pickle.dumps(transform)
            except Exception as error:
                raise LoaderOptionError(
                    f"transform {transform!r} cannot be sent to the worker processes ({error}): "
                    "use a function defined at the top level of a module (no lambda or closure)",
                    params=("transform",),
                ) from None
        outputs = probe_outputs(transform, inputs)
        if self.label not in {o.name for o in outputs}:
            raise LoaderOptionError(
                f"transform must return the label {self.label!r} too", params=("transform",)
            )
        return outputs

    def _raw_lengths(self, decode_bytes: Mapping[str, Any]) -> dict[str, int]:
        """Byte length of each decode_bytes feature, from the first record (when no shape given)."""
        need = [n for n, how in decode_bytes.items() if isinstance(how, str)]
        if not need:
            return {}
        from recordio import decode_example

        skip = (lambda damage: None) if self.opts.salvage else None
        for path in self.files:
            with record_reader(path, on_damage=skip) as reader:
                first = next(iter(reader), None)
            if first is None:
                continue
            values = decode_example(first, numpy=True)
            out = {}
            for name in need:
                arr = values.get(name)
                if arr is None or arr.size != 1 or arr.dtype != object:
                    raise LoaderError(
                        f"{path}: record 0: decode_bytes[{name!r}] needs one bytes value per record"
                    )
                out[name] = len(arr[0])
            return out
        raise LoaderError(
            f"{self.files[0]}: no records to learn the size of {', '.join(need)} from"
        )

    def _count(self, backend: Backend | None) -> list[int]:
        """Records per file: cached for unchanged local files, counted (by the workers) else."""
        if self.opts.salvage:
            return self._count_salvaging()
        options = (self.opts.verify, self.opts.strict, self.opts.salvage)
        idents = [file_key(path) for path in self.files]
        keys = [None if ident is None else (*ident, *options) for ident in idents]
        missing = [i for i, key in enumerate(keys) if key is None or key not in _COUNTS]
        paths = [self.files[i] for i in missing]
        if backend is not None:
            got = backend.count(paths, self.opts) if paths else []
        else:
            got = [count_records(p, self.opts) for p in paths]
        fresh = dict(zip(missing, got, strict=True))
        for i, n in fresh.items():
            key = keys[i]
            if key is not None:  # remote files are counted afresh each time
                _COUNTS[key] = n
        return [fresh[i] if i in fresh else _COUNTS[keys[i] or ()] for i in range(len(keys))]

    def _count_salvaging(self) -> list[int]:
        """Count what a salvaging read yields, and report the damage now: the lanes read only
        that many records, so they never reach a damaged tail themselves."""
        counts = []
        for path in self.files:
            found: list[Any] = []
            with open_reader(path, 0, self.opts, found.append) as reader:
                counts.append(sum(len(batch) for batch in reader.iter_batches(max_records=8192)))
            self._report(found)
        return counts

    def _prepare(self) -> None:
        if self._units is not None:
            return
        backend = self._backend() if self.num_workers > 0 else None
        self._counts = self._count(backend)
        self._units = make_units(self.files, self._counts, self.rank, self.world_size,
                                 self.order.remainder,
                                 pieces=1 if self.opts.salvage else self.lanes,
                                 cut=self.global_shuffle)  # fmt: skip
        self.num_records = sum(u.count for u in self._units)
        self._lane_count = max(1, min(self.lanes, len(self._units)))

    @property
    def window(self) -> int:
        if not self.shuffle:
            return 1024
        return max(256, math.ceil(self.shuffle_buffer / self.lanes))

    def _layout(self) -> SlotLayout:
        slotted = tuple(
            (o.name, o.dtype.str, o.row_shape)
            for o in self.outputs
            if o.slotted and o.row_shape is not None
        )
        return SlotLayout(
            slotted, self.batch_size, max(1, min(self.lanes, len(self._units or [1])))
        )

    def _backend(self) -> Backend:
        backend = self._holder["backend"]
        if backend is None:
            if self._units is None and self.num_workers == 0:
                self._prepare()
            lanes = (
                max(1, min(self.lanes, len(self._units))) if self._units is not None else self.lanes
            )
            layout = SlotLayout(self._layout().fields, self.batch_size, lanes)
            if self.num_workers > 0:
                backend = WorkerBackend(layout, min(self.num_workers, lanes), self.prefetch,
                                        threads=False, start_method=self.start_method)  # fmt: skip
            elif self.prefetch > 0:
                backend = WorkerBackend(layout, 1, self.prefetch, threads=True)
            else:
                backend = InlineBackend(layout)
            self._holder["backend"] = backend
        return backend

    # -- size and state ----------------------------------------------------------------------
    def __len__(self) -> int:
        """Batches per epoch for this part."""
        self._prepare()
        n = self.num_records
        return n // self.batch_size if self.drop_remainder else -(-n // self.batch_size)

    def _config(self) -> dict[str, Any]:
        self._prepare()
        assert self._counts is not None
        names = [os.path.basename(f) for f in self.files]
        return {
            "data": fingerprint(names, self._counts),
            "rank": self.rank,
            "world_size": self.world_size,
            "lanes": self._lane_count,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "window": self.window,
            "drop_remainder": self.drop_remainder,
            "remainder": self.order.remainder,
            "global_shuffle": self.global_shuffle,
        }

    def state_dict(self) -> dict[str, Any]:
        """Where the iteration stands (JSON-serialisable): resume it with load_state_dict."""
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "epoch": self.epoch,
            "batch": self._batch,
            "cursors": None if self._cursors is None else self._cursors.tolist(),
            **self._config(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a saved state; the loader must read the same data the same way."""
        if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
            raise LoaderError("not a NumpyLoader state (or one from another version)")
        config = self._config()
        changed = [k for k, v in config.items() if state.get(k) != v]
        if changed:
            detail = ", ".join(f"{k}: saved {state.get(k)!r}, now {config[k]!r}" for k in changed)
            raise LoaderError(f"the saved loader state does not fit this loader ({detail})")
        cursors = state.get("cursors")
        self.seed = int(state["seed"])
        self.epoch = int(state["epoch"])
        self._batch = int(state["batch"])
        if cursors is None:
            self._cursors = None
        else:
            arr = np.asarray(cursors, dtype=np.int64)
            if arr.shape != (self._lane_count, CURSOR_WIDTH):
                raise LoaderError("the saved loader state has cursors of the wrong shape")
            self._cursors = arr
        self._active += 1  # an iterator started before this no longer matches the state
        backend = self._holder["backend"]
        if backend is not None:
            backend.end()  # a stream running ahead is for the old position

    # -- iteration ---------------------------------------------------------------------------
    def _task(self) -> EpochTask:
        assert self._units is not None
        lanes = assign_lanes(self._units, self.lanes, seed=self.seed, epoch=self.epoch,
                             part=self.rank, shuffle=self.shuffle)  # fmt: skip
        counts = lane_counts(self._units, lanes, self.global_shuffle)
        cursors = self._cursors if self._batch and self._cursors is not None else None
        if cursors is None:
            cursors = np.zeros((len(lanes), CURSOR_WIDTH), dtype=np.int64)
        return EpochTask(
            gen=0, epoch=self.epoch, seed=self.seed, part=self.rank, shuffle=self.shuffle,
            batch_size=self.batch_size, window=self.window, units=list(self._units), lanes=lanes,
            cursors=cursors, fields=self.fields, scales=self.scales, opts=self.opts,
            start_batch=self._batch, n_batches=len(self), counts=counts,
            global_shuffle=self.global_shuffle,
            return_lengths=self.decode.return_lengths, transform=self.transform,
            outputs=self.outputs,
        )  # fmt: skip

    def __iter__(self) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
        """One epoch (the rest of it, after load_state_dict or an interrupted iteration)."""
        self._prepare()
        backend = self._backend()
        task = self._task()
        self._active += 1
        mine = self._active
        n_batches = task.n_batches
        messages = self.opts.salvage or any(not o.slotted for o in self.outputs)
        if task.start_batch >= n_batches:
            self._end_epoch()
            return
        if task.start_batch == 0 and backend.follows(task.epoch):
            backend.advance()  # the workers are already making this epoch's first batches
        else:
            backend.start(task, messages)
        complete = False
        try:
            for b in range(task.start_batch, n_batches):
                slot, extras, damage = backend.get(b)
                if mine != self._active:
                    raise LoaderError("this iterator was replaced by a newer iter(loader)")
                rows = min(self.batch_size, self.num_records - b * self.batch_size)
                batch = self._assemble(slot, extras, rows)
                if backend.ring.crowded:
                    batch = {k: np.array(v) for k, v in batch.items()}
                if damage:
                    self._report(damage)
                self._cursors = np.array(slot.cursors[: self._lane_count], dtype=np.int64)
                self._batch = b + 1
                if self._batch >= n_batches:
                    self._end_epoch()
                    complete = True
                label = batch.pop(self.label)
                yield batch, label
                del batch, label
        finally:
            if mine == self._active and not complete:
                backend.end()

    def _end_epoch(self) -> None:
        self.epoch += 1
        self._batch = 0
        self._cursors = None

    def _assemble(
        self, slot: Any, extras: Mapping[int, Mapping[str, list[np.ndarray]]], rows: int
    ) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for o in self.outputs:
            arr = slot.arrays.get(o.name)
            if arr is not None:
                out[o.name] = arr if rows == self.batch_size else arr[:rows]
                continue
            pieces = [p for lane in sorted(extras) for p in extras[lane].get(o.name, [])]
            out[o.name] = concat(pieces, o, rows)
        return out

    def _report(self, damage: list[Any]) -> None:
        for item in damage:
            log.warning("skipped damaged data: %s", getattr(item, "message", item))
        self.damage.extend(damage)

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the workers and free the shared memory (also done when the loader is collected)."""
        _close_backend(self._holder)

    def __enter__(self) -> NumpyLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_holder"] = {"backend": None}
        state.pop("_finalizer", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._finalizer = weakref.finalize(self, _close_backend, self._holder)


__all__ = ["NumpyLoader"]
