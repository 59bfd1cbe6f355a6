"""Who makes the batches: the caller's thread, one background thread, or worker processes.

Batches are written straight into slots (see `_slots.py`): slot `b % K` holds batch b of the
stream, which runs on from one epoch into the next so that an epoch's first batches are ready
when it starts. Per batch the main process reads a few counters and copies nothing: the arrays
it yields are views of the slot.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.errors import LoaderError, WorkerError
from pipeline.loaders._lanes import EpochTask, Producer, ReadOptions, count_records
from pipeline.loaders._segments import Segment, choose_kind
from pipeline.loaders._slots import SlotLayout, SlotRing
from pipeline.loaders._workers import (
    C_GEN,
    C_GRANTED,
    C_HEAD,
    C_STOP,
    NAME_BYTES,
    POLL_S,
    Channel,
    code,
    process_main,
    start_without_main,
    unpack_error,
    worker_loop,
)
from pipeline.loaders.decode import ExampleDecoder


class Backend:
    """Makes batch b of the current epoch available in a slot (see subclasses)."""

    def __init__(self, layout: SlotLayout, k: int, kind: str) -> None:
        self.ring = SlotRing(layout, k, kind)
        self.gen = 0

    def _free_slot(self, s: int, force: bool) -> bool:
        if not self.ring.slots[s].in_use():
            return True
        if force:
            self.ring.replace(s)
            return True
        return False

    def count(self, paths: Sequence[str], opts: ReadOptions) -> list[int]:
        return [count_records(p, opts) for p in paths]

    def follows(self, epoch: int) -> bool:
        """Whether the producers already make `epoch`'s first batches (prefetch across epochs)."""
        raise NotImplementedError

    def advance(self) -> None:
        """Take the epoch the producers are already making (after `follows` said yes)."""
        raise NotImplementedError

    def start(self, task: EpochTask, messages: bool) -> None:
        raise NotImplementedError

    def get(self, b: int) -> tuple[Any, dict[int, dict[str, list[np.ndarray]]], list[Any]]:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.ring.close()


class InlineBackend(Backend):
    """Batches are made on demand in the caller's thread (prefetch=0: simplest, no overlap)."""

    def __init__(self, layout: SlotLayout, k: int = 3) -> None:
        super().__init__(layout, k, "local")
        self.producer: Producer | None = None
        self.decoders: dict[Any, ExampleDecoder] = {}
        self.messages = False

    def follows(self, epoch: int) -> bool:
        return False

    def advance(self) -> None:  # pragma: no cover - follows() is never true inline
        raise AssertionError("an inline backend makes no batches ahead")

    def start(self, task: EpochTask, messages: bool) -> None:
        self.end()
        self.gen += 1
        key = tuple(task.fields)
        decoder = self.decoders.setdefault(key, ExampleDecoder(task.fields))
        self.producer = Producer(task, range(len(task.lanes)), decoder)

    def get(self, b: int) -> tuple[Any, dict[int, dict[str, list[np.ndarray]]], list[Any]]:
        assert self.producer is not None
        s = b % self.ring.k
        self._free_slot(s, force=True)
        slot = self.ring.slots[s]
        extras = self.producer.fill(slot.arrays, slot.cursors)
        damage, self.producer.damage = self.producer.damage, []
        return slot, extras, damage

    def end(self) -> None:
        if self.producer is not None:
            self.producer.close()
            self.producer = None


class WorkerBackend(Backend):
    """Background producers: one thread (threads=True) or `workers` processes."""

    def __init__(self, layout: SlotLayout, workers: int, prefetch: int, *, threads: bool,
                 start_method: str | None = None) -> None:  # fmt: skip
        k = prefetch + 2
        kind = "local" if threads else choose_kind(k * layout.offsets()[2])
        super().__init__(layout, k, kind)
        self.workers = workers
        self.prefetch = prefetch
        self.threads = threads
        self.granted = -1
        self.n_batches = 0
        self.base = 0
        self.epoch = -1
        self.finished = False
        self.messages = False
        self._procs: list[Any] = []
        self._threads: list[threading.Thread] = []
        self.cmd_qs: list[Any] = []
        self.res_qs: list[Any] = []
        self.dones: list[Any] = []
        self._ctrl_seg: Segment | None = None
        self._names_view: Any = None
        self.ctrl = np.zeros(C_HEAD + k + 2 * workers, dtype=np.int64)
        try:
            if threads:
                self._start_threads()
            else:
                self._start_processes(layout, start_method)
        except BaseException:
            self.close()  # no worker or shared memory outlives a failed start
            raise

    def _start_threads(self) -> None:
        k, workers = self.ring.k, self.workers
        self.cmd_qs = [queue.Queue() for _ in range(workers)]
        self.res_qs = [queue.Queue() for _ in range(workers)]
        self.dones = [threading.Semaphore(0) for _ in range(workers)]
        for wid in range(workers):
            ch = Channel(wid, self.ctrl, self.cmd_qs[wid], self.res_qs[wid], self.dones[wid],
                         self._thread_attach, k, workers)  # fmt: skip
            t = threading.Thread(
                target=worker_loop, args=(ch,), name=f"recio-loader-{wid}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _start_processes(self, layout: SlotLayout, start_method: str | None) -> None:
        k, workers, n_ctrl = self.ring.k, self.workers, self.ctrl.size
        self._ctrl_seg = Segment(n_ctrl * 8 + k * NAME_BYTES, self.ring.kind)
        self.ctrl = np.frombuffer(self._ctrl_seg.buf, dtype=np.int64, count=n_ctrl)
        self.ctrl[:] = 0
        self._names_view = self._ctrl_seg.buf[n_ctrl * 8 :]
        for s in range(k):
            self._publish(s)
        ctx = multiprocessing.get_context(start_method or "spawn")
        self.cmd_qs = [ctx.Queue() for _ in range(workers)]
        self.res_qs = [ctx.Queue() for _ in range(workers)]
        self.dones = [ctx.Semaphore(0) for _ in range(workers)]
        for wid in range(workers):
            queues = (self.cmd_qs[wid], self.res_qs[wid], self.dones[wid])
            p = ctx.Process(  # type: ignore[attr-defined]
                target=process_main,
                args=(wid, self._ctrl_seg.name, k, workers, layout, *queues),
                name=f"recio-loader-{wid}",
                daemon=True,
            )
            start_without_main(p)
            self._procs.append(p)

    # -- plumbing --------------------------------------------------------------------------
    def _thread_attach(self, s: int) -> Any:
        return self.ring.slots[s]

    def _publish(self, s: int) -> None:
        """Tell workers which segment slot s is now (process mode)."""
        if self._names_view is None:
            return
        name = self.ring.slots[s].name.encode()
        self._names_view[s * NAME_BYTES : (s + 1) * NAME_BYTES] = name.ljust(NAME_BYTES, b"\0")
        self.ctrl[C_HEAD + s] = self.ring.versions[s]

    def _free_slot(self, s: int, force: bool) -> bool:
        version = self.ring.versions[s]
        ok = super()._free_slot(s, force)
        if ok and self.ring.versions[s] != version:
            self._publish(s)
        return ok

    def _alive(self, wid: int) -> None:
        if self.threads:
            if not self._threads[wid].is_alive():
                raise WorkerError(f"loader thread {wid} stopped unexpectedly")
            return
        proc = self._procs[wid]
        if proc.exitcode is not None:
            raise WorkerError(
                f"loader worker {wid} (pid {proc.pid}) exited with code {proc.exitcode}; "
                "out of memory or killed? (num_workers=0 runs without processes)"
            )

    def _raise_from(self, wid: int) -> None:
        while True:
            try:
                msg = self.res_qs[wid].get(timeout=POLL_S)
            except queue.Empty:
                self._alive(wid)
                continue
            if msg[0] == "error" and msg[1] == self.gen:
                raise unpack_error(msg[2], f"loader worker {wid}")

    def _message(self, wid: int, kind: str) -> tuple[Any, ...]:
        while True:
            try:
                msg = self.res_qs[wid].get(timeout=POLL_S)
            except queue.Empty:
                self._alive(wid)
                continue
            if msg[1] != self.gen:
                continue
            if msg[0] == "error":
                raise unpack_error(msg[2], f"loader worker {wid}")
            if msg[0] == kind:
                return msg

    def _wait_done(self, target: int) -> None:
        k = self.ring.k
        for wid in range(self.workers):
            done_at = C_HEAD + k + wid
            err_at = C_HEAD + k + self.workers + wid
            while self.ctrl[done_at] < target:
                if self.ctrl[err_at] == self.gen:
                    self._raise_from(wid)
                if not self.dones[wid].acquire(timeout=POLL_S):
                    self._alive(wid)

    # -- protocol --------------------------------------------------------------------------
    def count(self, paths: Sequence[str], opts: ReadOptions) -> list[int]:
        self.gen += 1
        self.ctrl[C_GEN] = self.gen
        jobs = list(enumerate(paths))
        for wid in range(self.workers):
            self.cmd_qs[wid].put(("count", self.gen, opts, jobs[wid :: self.workers]))
        out = [0] * len(paths)
        for wid in range(self.workers):
            for i, n in self._message(wid, "counts")[2]:
                out[i] = n
        return out

    def start(self, task: EpochTask, messages: bool) -> None:
        """Begin a stream at `task` (workers roll on into the next epochs by themselves)."""
        self.end()
        self.gen += 1
        task.gen = self.gen
        task.base = 0
        task.continuous = True
        self.ctrl[C_GEN] = self.gen
        self.messages = messages
        self.n_batches = task.n_batches
        self.base = 0
        self.epoch = task.epoch
        self.finished = False
        self.granted = task.start_batch - 1
        lanes = len(task.lanes)
        for wid in range(self.workers):
            mine = list(range(wid, lanes, self.workers))
            self.cmd_qs[wid].put(("epoch", self.gen, task, mine, messages))
        # Every worker has left the previous stream before any slot is handed out again.
        self._wait_done(code(self.gen, task.start_batch - 1))

    def follows(self, epoch: int) -> bool:
        """True when the running stream's next epoch is `epoch`, from its first batch."""
        return self.finished and self.epoch + 1 == epoch and self.n_batches > 0

    def advance(self) -> None:
        """Go on with the stream's next epoch (see `follows`)."""
        self.base += self.n_batches
        self.epoch += 1
        self.finished = False

    def get(self, b: int) -> tuple[Any, dict[int, dict[str, list[np.ndarray]]], list[Any]]:
        """Batch b of the current epoch (a slot), once every worker has written its rows."""
        g = self.base + b
        if b == self.n_batches - 1:
            self.finished = True
        horizon = g + self.prefetch
        granted = self.granted
        while granted < horizon:
            c = granted + 1
            if not self._free_slot(c % self.ring.k, force=c <= g):
                break
            granted = c
        if granted != self.granted:
            self.granted = granted
            self.ctrl[C_GRANTED] = code(self.gen, granted)
        self._wait_done(code(self.gen, g))
        extras: dict[int, dict[str, list[np.ndarray]]] = {}
        damage: list[Any] = []
        if self.messages:
            for wid in range(self.workers):
                _, _, got, part, dmg = self._message(wid, "batch")
                if got != g:
                    raise LoaderError(f"loader worker {wid} sent batch {got} for batch {g}")
                extras.update(part)
                damage.extend(dmg)
        return self.ring.slots[g % self.ring.k], extras, damage

    def end(self) -> None:
        """Leave the current stream (workers abandon it at their next step)."""
        self.finished = False
        self.gen += 1
        self.ctrl[C_GEN] = self.gen

    def close(self) -> None:
        self.end()
        self.ctrl[C_STOP] = 1
        for q in self.cmd_qs:
            with contextlib.suppress(Exception):
                q.put(("stop", self.gen))
        deadline = time.monotonic() + 5
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        for wid, p in enumerate(self._procs):
            # A process exits only once its queued results are in the pipe: read them away
            # (an iteration stopped early leaves some behind).
            while p.is_alive() and time.monotonic() < deadline:
                with contextlib.suppress(Exception):
                    self.res_qs[wid].get(timeout=0.02)
            if p.exitcode is None:
                p.terminate()
                p.join(timeout=1)
        for q in (*self.cmd_qs, *self.res_qs):
            if hasattr(q, "cancel_join_thread"):
                with contextlib.suppress(Exception):
                    q.cancel_join_thread()  # the workers are gone: nothing left to deliver
                    q.close()
        super().close()
        if self._ctrl_seg is not None:
            self._names_view = None
            self.ctrl = np.zeros(1, dtype=np.int64)
            self._ctrl_seg.close()
            self._ctrl_seg = None


__all__ = ["Backend", "InlineBackend", "WorkerBackend"]
