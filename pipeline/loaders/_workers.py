"""The loader worker: serve commands (count files, make batches) from a process or a thread.

The main process hands slots to workers by raising a `granted` counter in a small shared control
array (workers far enough ahead poll it: waking sleeping workers would cost the main process a
system call per worker and batch) and learns that a worker has written its lanes' rows of a
batch from that worker's `done` counter, with a semaphore to sleep on when it has to wait.
Batches are numbered along a stream that runs on into the next epoch.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipeline.errors import LoaderError
from pipeline.loaders._lanes import EpochTask, Producer, count_records
from pipeline.loaders._segments import Segment
from pipeline.loaders._slots import SlotLayout
from pipeline.loaders.decode import ExampleDecoder

GEN_SHIFT = 40
NAME_BYTES = 64
POLL_S = 0.2
MIN_PAUSE_S = 50e-6
MAX_PAUSE_S = 2e-3
C_GEN, C_STOP, C_GRANTED, C_HEAD = 0, 1, 2, 3


def code(gen: int, batch: int) -> int:
    """One int64 that orders (epoch generation, batch) pairs: batch -1 means "started"."""
    return (gen << GEN_SHIFT) | (batch + 1)


def pack_error(error: BaseException) -> tuple[Any, ...]:
    cls = type(error)
    return (cls.__module__, cls.__qualname__, error.args, dict(getattr(error, "__dict__", {})),
            traceback.format_exc())  # fmt: skip


def unpack_error(payload: tuple[Any, ...], where: str) -> BaseException:
    module, qualname, args, state, text = payload
    try:
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        error = cls.__new__(cls)
        error.args = args
        error.__dict__.update(state)
        str(error)
    except Exception:
        error = LoaderError(f"{where}: {qualname}: {args[0] if args else ''}")
    with contextlib.suppress(Exception):
        error.add_note(f"(raised in {where})\n{text}")
    return error


class Channel:
    """A worker's side of the control block, queues and semaphores."""

    def __init__(self, wid: int, ctrl: np.ndarray, cmd_q: Any, res_q: Any, done: Any,
                 attach: Callable[[int], Any], k: int, workers: int) -> None:  # fmt: skip
        self.wid = wid
        self.ctrl = ctrl
        self.cmd_q = cmd_q
        self.res_q = res_q
        self.done = done
        self.attach = attach
        self.k = k
        self.done_at = C_HEAD + k + wid
        self.err_at = C_HEAD + k + workers + wid


def _run_stream(ch: Channel, task: EpochTask, lanes: Sequence[int], decoders: dict[Any, Any],
                messages: bool) -> None:  # fmt: skip
    """Make our lanes' rows of each granted batch: this epoch, then (continuous) the next ones.

    Batches are numbered along the stream (epoch after epoch), so the main process can hand
    out slots of the next epoch while the last batches of this one are still being consumed.
    """
    key = tuple(task.fields)
    decoder = decoders.get(key)
    if decoder is None:
        decoder = decoders[key] = ExampleDecoder(task.fields)
    gen = task.gen
    ctrl = ch.ctrl
    ctrl[ch.done_at] = code(gen, task.base + task.start_batch - 1)
    ch.done.release()
    while True:
        producer = Producer(task, lanes, decoder)
        try:
            for b in range(task.start_batch, task.n_batches):
                g = task.base + b
                target = code(gen, g)
                pause = MIN_PAUSE_S
                while ctrl[C_GRANTED] < target:
                    # A worker this far ahead can afford to poll; waking sleeping workers would
                    # cost the main process a system call per worker and batch.
                    if ctrl[C_GEN] != gen or ctrl[C_STOP]:
                        return
                    time.sleep(pause)
                    pause = min(2 * pause, MAX_PAUSE_S)
                if ctrl[C_GEN] != gen:
                    return
                slot = ch.attach(g % ch.k)
                extras = producer.fill(slot.arrays, slot.cursors)
                if messages:
                    ch.res_q.put(("batch", gen, g, extras, producer.damage))
                    producer.damage = []
                ctrl[ch.done_at] = target
                ch.done.release()
        finally:
            producer.close()
        if not task.continuous or task.n_batches == 0:
            return
        task = task.next_epoch()


def worker_loop(ch: Channel) -> None:
    """Serve commands until told to stop: count files, or make the batches of an epoch."""
    decoders: dict[Any, Any] = {}
    while True:
        cmd = ch.cmd_q.get()
        kind, gen = cmd[0], cmd[1]
        if kind == "stop":
            return
        try:
            if kind == "count":
                opts, jobs = cmd[2], cmd[3]
                ch.res_q.put(("counts", gen, [(i, count_records(path, opts)) for i, path in jobs]))
            elif kind == "epoch":
                _run_stream(ch, cmd[2], cmd[3], decoders, cmd[4])
        except BaseException as error:  # report everything; the main process decides
            ch.res_q.put(("error", gen, pack_error(error)))
            ch.ctrl[ch.err_at] = gen
            ch.done.release()


class _Attached:
    def __init__(self, segment: Segment, layout: SlotLayout) -> None:
        self.segment = segment
        self.arrays, self.cursors, _ = layout.views(segment.buf)

    def close(self) -> None:
        self.arrays = {}
        self.cursors = None  # type: ignore[assignment]
        self.segment.close()


def process_main(wid: int, ctrl_name: str, k: int, workers: int, layout: SlotLayout,
                  cmd_q: Any, res_q: Any, done: Any) -> None:  # fmt: skip
    """Entry point of a worker process."""
    ctrl_seg = Segment.attach(ctrl_name)
    ctrl = np.frombuffer(ctrl_seg.buf, dtype=np.int64, count=C_HEAD + k + 2 * workers)
    names_at = (C_HEAD + k + 2 * workers) * 8
    cache: dict[int, tuple[int, _Attached]] = {}

    def attach(s: int) -> _Attached:
        version = int(ctrl[C_HEAD + s])
        hit = cache.get(s)
        if hit is not None and hit[0] == version:
            return hit[1]
        if hit is not None:
            hit[1].close()
        raw = bytes(ctrl_seg.buf[names_at + s * NAME_BYTES : names_at + (s + 1) * NAME_BYTES])
        slot = _Attached(Segment.attach(raw.rstrip(b"\0").decode()), layout)
        cache[s] = (version, slot)
        return slot

    ch = Channel(wid, ctrl, cmd_q, res_q, done, attach, k, workers)
    try:
        worker_loop(ch)
    finally:
        for _, slot in cache.values():
            slot.close()
        cache.clear()
        # Drop the views first: closing a segment that views still use is a BufferError.
        ch.ctrl = ctrl = np.zeros(1, dtype=np.int64)  # noqa: F841 - attach() reads this cell
        ctrl_seg.close()


def start_without_main(proc: Any) -> None:
    """Start a spawned worker without re-running the user's script in it.

    A spawned child normally imports the parent's `__main__` (so a script without an
    `if __name__ == "__main__"` guard would run again, and every worker would import whatever the
    script imports: JAX, TensorFlow). Our worker needs nothing from it, so the main module is
    hidden while the child's start-up data is taken.
    """
    main = sys.modules.get("__main__")
    if main is None:
        proc.start()
        return
    missing: Any = object()
    saved_spec: Any = getattr(main, "__spec__", missing)
    saved_file: Any = getattr(main, "__file__", missing)
    try:
        main.__spec__ = None
        if saved_file is not missing:
            del main.__file__
        proc.start()
    finally:
        if saved_spec is missing:
            with contextlib.suppress(AttributeError):
                del main.__spec__
        else:
            main.__spec__ = saved_spec
        if saved_file is not missing:
            main.__file__ = saved_file


__all__ = [
    "C_GEN",
    "C_GRANTED",
    "C_HEAD",
    "C_STOP",
    "NAME_BYTES",
    "POLL_S",
    "code",
    "pack_error",
    "process_main",
    "start_without_main",
    "unpack_error",
    "worker_loop",
]
