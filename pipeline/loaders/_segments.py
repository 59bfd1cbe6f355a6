"""Memory the main process shares with its loader workers, found by name.

/dev/shm (POSIX shared memory) is the usual place, but containers often mount it at 64 MiB,
and writing past that kills the writer with SIGBUS. When /dev/shm lacks room for what the loader
needs, segments are anonymous memory files (memfd) instead, which only count against the
process's memory; workers open them through /proc/<pid>/fd/<fd>. RECIO_LOADER_SHM=shm|memfd
forces one kind (the tests use it to run both).
"""

from __future__ import annotations

import contextlib
import mmap
import os
from typing import Any

SHM_HEADROOM = 64 << 20


def choose_kind(total_bytes: int) -> str:
    """ "shm" when /dev/shm has room for twice `total_bytes` (plus headroom), else "memfd"."""
    forced = os.environ.get("RECIO_LOADER_SHM", "").strip().lower()
    if forced in ("shm", "memfd"):
        return forced
    if not hasattr(os, "memfd_create"):
        return "shm"
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return "memfd"
    free = st.f_bavail * st.f_frsize
    return "shm" if free >= 2 * total_bytes + SHM_HEADROOM else "memfd"


class Segment:
    """A shared buffer (`buf`, a memoryview) that another process can attach by `name`."""

    def __init__(self, size: int, kind: str) -> None:
        size = max(size, 1)
        self.kind = kind
        self._shm: Any = None
        self._mmap: mmap.mmap | None = None
        self._fd = -1
        self.owner = True
        if kind == "shm":
            from multiprocessing import shared_memory

            self._shm = shared_memory.SharedMemory(create=True, size=size)
            self.buf: Any = self._shm.buf
            self.name = f"shm:{self._shm.name}"
        elif kind == "memfd":
            self._fd = os.memfd_create("recio-loader", os.MFD_CLOEXEC)
            os.ftruncate(self._fd, size)
            self._mmap = mmap.mmap(self._fd, size)
            self.buf = memoryview(self._mmap)
            self.name = f"memfd:{os.getpid()}:{self._fd}"
        elif kind == "local":
            self.buf = memoryview(bytearray(size))
            self.name = ""
        else:
            raise ValueError(f"unknown segment kind {kind!r}")

    @classmethod
    def attach(cls, name: str) -> Segment:
        """A worker's view of the main process's segment `name` (it never unlinks it)."""
        seg = cls.__new__(cls)
        seg.owner = False
        seg._shm = None
        seg._mmap = None
        seg._fd = -1
        seg.name = name
        kind, _, rest = name.partition(":")
        seg.kind = kind
        if kind == "shm":
            from multiprocessing import shared_memory

            # Python < 3.13 registers an attached segment with the resource tracker too; the
            # tracker is shared with the main process and keeps a set, so that is harmless.
            seg._shm = shared_memory.SharedMemory(name=rest)
            seg.buf = seg._shm.buf
        elif kind == "memfd":
            pid, fd = rest.split(":")
            with open(f"/proc/{pid}/fd/{fd}", "r+b") as handle:
                seg._mmap = mmap.mmap(handle.fileno(), 0)
            seg.buf = memoryview(seg._mmap)
        else:
            raise ValueError(f"cannot attach segment {name!r}")
        return seg

    def close(self, held: bool = False) -> None:
        """Free the segment; with `held`, arrays still use it: it goes when the last one does."""
        buf, self.buf = self.buf, None
        if self._shm is not None:
            shm, self._shm = self._shm, None
            if self.owner:
                with contextlib.suppress(Exception):
                    shm.unlink()
            if held:
                _forget_shm(shm)
            else:
                del buf
                try:
                    shm.close()
                except BufferError:  # a view is still alive somewhere (a traceback's frame):
                    _forget_shm(shm)  # else SharedMemory.__del__ prints "Exception ignored"
                except Exception:  # noqa: S110 - closing is best effort
                    pass
        elif self._mmap is not None:
            mm, self._mmap = self._mmap, None
            if not held:
                with contextlib.suppress(Exception):
                    buf.release()
                with contextlib.suppress(Exception):
                    mm.close()
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # a mapping outlives its descriptor
            self._fd = -1


def _forget_shm(shm: Any) -> None:
    """Drop a SharedMemory whose mapping callers still hold arrays of (it is unlinked already).

    The mapping stays alive through those arrays and is unmapped when the last one goes;
    SharedMemory must not try to close it first (it would raise BufferError when collected).
    """
    with contextlib.suppress(Exception):
        if shm._fd >= 0:
            os.close(shm._fd)
        shm._fd = -1
        shm._buf = None
        shm._mmap = None


__all__ = ["Segment", "choose_kind"]
