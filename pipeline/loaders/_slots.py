"""Slots: preallocated batch buffers, and how to tell whether a caller still holds one.

A slot holds every fixed-shape field of one batch plus the lanes' cursors, in one segment of
shared (or local) memory. Whether the caller still holds a slot's arrays is read from reference
counts: every view of an array made here has one of the slot's flat arrays as its `.base`, so
keeping a batch (`list(loader)`) is safe: a held slot is retired and replaced, never overwritten.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.loaders._plan import CURSOR_WIDTH
from pipeline.loaders._segments import Segment

ALIGN = 64
MAX_RETIRED = 8  # held slots kept aside before batches are handed out as copies


@dataclass(frozen=True)
class SlotLayout:
    """Arrays of one batch: (name, dtype, row shape) for each fixed-shape field, plus cursors."""

    fields: tuple[tuple[str, str, tuple[int, ...]], ...]
    batch: int
    lanes: int

    def offsets(self) -> tuple[list[tuple[str, np.dtype, tuple[int, ...], int, int]], int, int]:
        out = []
        pos = 0
        for name, dtype, row in self.fields:
            dt = np.dtype(dtype)
            count = self.batch * int(np.prod(row, dtype=np.int64))
            out.append((name, dt, row, pos, count))
            pos += -(-(count * dt.itemsize) // ALIGN) * ALIGN
        cursor_at = pos
        pos += self.lanes * CURSOR_WIDTH * 8
        return out, cursor_at, max(pos, 1)

    def views(self, buf: Any) -> tuple[dict[str, np.ndarray], np.ndarray, list[np.ndarray]]:
        specs, cursor_at, _ = self.offsets()
        # Every view of an array made here, even a slice of a slice, has one of these flat
        # arrays as its `.base`: their reference counts tell whether anybody holds the slot.
        flats = [np.frombuffer(buf, dtype=dt, count=n, offset=pos) for _, dt, _, pos, n in specs]
        arrays = {
            spec[0]: flat.reshape(self.batch, *spec[2])
            for spec, flat in zip(specs, flats, strict=True)
        }
        cursors = np.frombuffer(
            buf, dtype=np.int64, count=self.lanes * CURSOR_WIDTH, offset=cursor_at
        )
        return arrays, cursors.reshape(self.lanes, CURSOR_WIDTH), flats


class Slot:
    """A batch buffer owned by the main process (a shared segment, or local memory)."""

    def __init__(self, layout: SlotLayout, kind: str) -> None:
        self.segment = Segment(layout.offsets()[2], kind)
        self.buf = self.segment.buf
        self.arrays, self.cursors, self._flats = layout.views(self.buf)
        self._base = self._counts()

    @property
    def name(self) -> str:
        return self.segment.name

    def _counts(self) -> tuple[int, ...]:
        return (
            sys.getrefcount(self.buf),
            *(sys.getrefcount(a) for a in self._flats),
            *(sys.getrefcount(a) for a in self.arrays.values()),
        )

    def in_use(self) -> bool:
        """True while anything outside this object still refers to the slot's memory."""
        return self._counts() != self._base

    def close(self) -> None:
        held = self.in_use()
        self.arrays = {}
        self._flats = []
        self.cursors = None  # type: ignore[assignment]
        self.buf = None
        self.segment.close(held=held)


class SlotRing:
    """K slots; slot b % K holds batch b. Held slots are retired rather than overwritten."""

    def __init__(self, layout: SlotLayout, k: int, kind: str) -> None:
        self.layout = layout
        self.kind = kind
        self.slots = [Slot(layout, kind) for _ in range(k)]
        self.versions = [0] * k
        self.retired: list[Slot] = []

    @property
    def k(self) -> int:
        return len(self.slots)

    def replace(self, s: int) -> None:
        self.retired.append(self.slots[s])
        self.slots[s] = Slot(self.layout, self.kind)
        self.versions[s] += 1
        self.sweep()

    def sweep(self) -> None:
        keep = []
        for slot in self.retired:
            if slot.in_use():
                keep.append(slot)
            else:
                slot.close()
        self.retired = keep

    @property
    def crowded(self) -> bool:
        """The caller keeps many batches: hand out copies so slots come back (bounded memory)."""
        if len(self.retired) >= MAX_RETIRED:
            self.sweep()
        return len(self.retired) >= MAX_RETIRED

    def close(self) -> None:
        for slot in (*self.slots, *self.retired):
            slot.close()
        self.retired = []


__all__ = ["Slot", "SlotLayout", "SlotRing"]
