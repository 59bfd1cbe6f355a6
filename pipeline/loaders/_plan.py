"""The order of an epoch, as pure functions of (files, counts, seed, epoch, part, lanes).

Reading is split into *units* (a file, or every m-th record of a file when there are fewer files
than parts) and units are dealt to parts (`rank x worker`) once, so a part always reads the same
records and every record belongs to exactly one part. Inside a part the units are shuffled each
epoch and dealt to `lanes`; each lane reads its units in turn, decodes `window` records at a time
and, when shuffling, permutes each window. Every batch takes rows from every lane that has
records left, in proportion to what each has left, so all lanes run dry together and each batch
mixes records from several files. Nothing here depends on how many processes do the work, so
the order for a seed is the same with 0 or 16 workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A lane's position, stored as 6 integers (in shared memory, and in state dicts):
# unit index in the lane, stream offset and file record index where its current window starts,
# window number, rows of that window already handed out, rows of the lane handed out in total.
CURSOR_FIELDS = ("unit", "offset", "record", "window", "pos", "consumed")
CURSOR_WIDTH = len(CURSOR_FIELDS)


@dataclass(frozen=True, slots=True)
class Unit:
    """Records `start + residue, start + residue + stride, ...` of file `path`: `count` of them
    (all of a file when start is 0 and stride 1; a span of it when start > 0 or count is less)."""

    path: str
    stride: int
    residue: int
    count: int
    start: int = 0


def make_units(
    files: Sequence[str],
    counts: Sequence[int],
    part: int,
    parts: int,
    remainder: str = "drop",
    *,
    pieces: int = 1,
    cut: bool = False,
) -> list[Unit]:
    """The units of one part: its records of the set split into equal parts over `parts`
    (`recordio.parts.equal_parts`, at record level: parts differ by at most one record, and
    `remainder` drops, pads or keeps the rest). A part of fewer spans than `pieces` has its spans
    cut into pieces of about 1/`pieces` of the part (with `cut`, every part is), so that several
    lanes can share one file."""
    from recordio.parts import equal_parts

    if not 0 <= part < parts:
        raise ValueError(f"part {part} outside 0..{parts - 1}")
    spans = equal_parts(files, counts, parts, remainder=remainder)[part]  # type: ignore[arg-type]
    total = sum(s.count for s in spans)
    piece = max(1, -(-total // pieces)) if cut or len(spans) < pieces else max(total, 1)
    units = []
    for span in spans:
        for start in range(span.start, span.stop, piece):
            units.append(Unit(span.path, 1, 0, min(piece, span.stop - start), start))
    return units


def assign_lanes(
    units: Sequence[Unit], lanes: int, *, seed: int, epoch: int, part: int, shuffle: bool
) -> list[list[int]]:
    """Unit indices per lane for this epoch (shuffled per epoch when `shuffle`)."""
    n = len(units)
    order = np.arange(n)
    if shuffle and n > 1:
        order = rng(seed, epoch, part, 0xF11E).permutation(n)
    lanes = max(1, min(lanes, n))
    return [order[lane::lanes].tolist() for lane in range(lanes)] if n else [[]]


def rng(*key: int) -> np.random.Generator:
    """A generator seeded by a tuple of non-negative ints (stable across numpy versions).

    It is SeedSequence([k & (2**48 - 1) for k in key]), with the ints given as the 32-bit words
    SeedSequence would split them into (low word first, a high word only when non-zero): the
    same generator, made in a third of the time (the loader makes one per transform call).
    """
    words = []
    for k in key:
        k = int(k) & 0xFFFFFFFFFFFF
        words.append(k & 0xFFFFFFFF)
        if k >> 32:
            words.append(k >> 32)
    seed = np.random.SeedSequence(np.array(words, dtype=np.uint32))
    return np.random.Generator(np.random.PCG64(seed))


def shares(remaining: np.ndarray, batch: int) -> np.ndarray:
    """Rows each lane gives to the next batch: proportional to what it has left (largest
    remainder, ties to the lower lane), and everything when less than a batch is left."""
    total = int(remaining.sum())
    if total <= batch:
        return remaining.copy()
    scaled = remaining * batch
    base = scaled // total
    short = batch - int(base.sum())
    if short:
        frac = scaled % total
        order = np.lexsort((np.arange(remaining.size), -frac))
        base[order[:short]] += 1
    return base


def fingerprint(files: Sequence[str], counts: Sequence[int]) -> str:
    """Identifies the data a state dict was saved for (file names and record counts)."""
    digest = hashlib.sha256()
    for path, count in zip(files, counts, strict=True):
        digest.update(f"{path}\0{count}\n".encode())
    return digest.hexdigest()[:16]


__all__ = [
    "CURSOR_FIELDS",
    "CURSOR_WIDTH",
    "Unit",
    "assign_lanes",
    "fingerprint",
    "make_units",
    "rng",
    "shares",
]
