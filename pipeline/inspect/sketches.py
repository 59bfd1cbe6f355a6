"""Bounded-memory summaries that merge batch by batch: moments, a sample, top-k, HyperLogLog.

Every sketch here is deterministic (fixed seeds, a stable hash), so two runs over the same data
print the same statistics, and its memory does not grow with the data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recordio.columns import crc32c_values

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)


def mix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: spreads structured keys (CRCs, ints) over all bits."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(33)
        x *= _M1
        x ^= x >> np.uint64(33)
        x *= _M2
        x ^= x >> np.uint64(33)
    return x


def hash_crcs(crcs: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """A stable 64-bit hash per bytes value from its CRC-32C and its size, mixed.

    32 bits of CRC keep HyperLogLog accurate far beyond the cardinalities of real features
    (collisions matter from about 10**8 distinct values) at a quarter of the cost of a
    cryptographic hash, and the result is the same in every process (unlike `hash`).
    """
    return mix64((sizes.astype(np.uint64) << np.uint64(32)) | crcs.astype(np.uint64))


def hash_bytes(values: list[bytes]) -> np.ndarray:
    """`hash_crcs` of a list of values (their CRCs in one batched call)."""
    sizes = np.fromiter(map(len, values), dtype=np.uint64, count=len(values))
    return hash_crcs(crc32c_values(values), sizes)


def hash_numbers(values: np.ndarray) -> np.ndarray:
    """A stable 64-bit hash per int64 or float32 value (of its bit pattern)."""
    if values.dtype.kind == "f":
        bits = values.astype(np.float32).view(np.uint32).astype(np.uint64)
    else:
        bits = values.astype(np.int64).view(np.uint64)
    return mix64(bits)


class HyperLogLog:
    """Approximate distinct count in 2**p one-byte registers (p=14: 16 KiB, ~0.8 % error)."""

    def __init__(self, p: int = 14) -> None:
        self.p = p
        self.registers = np.zeros(1 << p, dtype=np.uint8)

    def add_hashes(self, hashes: np.ndarray) -> None:
        if not hashes.size:
            return
        p = np.uint64(self.p)
        index = (hashes >> (np.uint64(64) - p)).astype(np.intp)
        rest = (hashes << p) | (np.uint64(1) << (p - np.uint64(1)))  # never all zeros
        # rank = leading zeros of `rest` + 1. Shifted right by p-1, `rest` is below 2**(65-p),
        # exact as a float64, so log2 finds its highest bit without rounding.
        top_bit = np.floor(np.log2((rest >> (p - np.uint64(1))).astype(np.float64)))
        rank = (65 - self.p - top_bit.astype(np.int64)).astype(np.uint8)
        np.maximum.at(self.registers, index, rank)

    def merge(self, other: HyperLogLog) -> None:
        np.maximum(self.registers, other.registers, out=self.registers)

    def estimate(self) -> int:
        m = float(self.registers.size)
        alpha = 0.7213 / (1 + 1.079 / m)
        raw = alpha * m * m / float(np.sum(np.ldexp(1.0, -self.registers.astype(np.int64))))
        zeros = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * m and zeros:
            return int(round(m * np.log(m / zeros)))  # linear counting for small sets
        return int(round(raw))


def _value_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an integer array, sorted, and how often each occurs: by
    bincount when they span a small range (labels, categories), else by sorting."""
    low, high = int(values.min()), int(values.max())
    if values.dtype.kind in "iu" and high - low <= max(4 * values.size, 1 << 12):
        counts = np.bincount((values - low).astype(np.intp), minlength=high - low + 1)
        keys = np.flatnonzero(counts)
        return keys.astype(np.int64) + low, counts[keys]
    return np.unique(values, return_counts=True)


@dataclass
class TopK:
    """Most frequent values, exact while there are at most `capacity` distinct ones.

    Past that it keeps the `capacity` most frequent after each prune (a heavy hitter is never
    lost; counts of the rest are lower bounds). When the values seen before the first prune are
    nearly all (90 %) distinct (ids, image bytes) it stops counting: such a feature has no top
    values worth showing, and counting them would cost the most.
    """

    capacity: int = 1000
    counts: Counter[Any] = field(default_factory=Counter)
    seen: int = 0
    pruned: bool = False
    gave_up: bool = False

    def add(self, values: Any) -> None:
        """Count a batch: a list of values, or a numpy array (counted with np.unique, the
        values entering `counts` in the order they first appear, as a list would)."""
        if self.gave_up or not len(values):
            return
        if isinstance(values, np.ndarray):
            self._add_array(values)
        else:
            self.counts.update(values)
        self.seen += len(values)
        if len(self.counts) > 2 * self.capacity:
            if not self.pruned and len(self.counts) >= 0.9 * self.seen:
                self.gave_up, self.counts = True, Counter()  # nearly all distinct: ids, blobs
                return
            self.counts = Counter(dict(self.counts.most_common(self.capacity)))
            self.pruned = True

    def gives_up_at(self, distinct: int, n: int) -> bool:
        """Give up now, without counting the next `n` values, when at least `distinct` of them
        are distinct (e.g. their distinct 64-bit hashes) and that alone means `add` would give
        up; True when it did. Counting them would reach the same state at a higher cost."""
        if self.gave_up:
            return True
        held = max(len(self.counts), distinct)  # distinct values once the batch is counted
        if self.pruned or held <= 2 * self.capacity or held < 0.9 * (self.seen + n):
            return False
        self.seen += n
        self.gave_up, self.counts = True, Counter()
        return True

    def _add_array(self, values: np.ndarray) -> None:
        counts = self.counts
        keys, found = _value_counts(values)
        pairs = dict(zip(keys.tolist(), found.tolist(), strict=True))
        if any(key not in counts for key in pairs):
            # New values enter in the order they first appear in the batch, as from a list.
            keys, first, found = np.unique(values, return_index=True, return_counts=True)
            order = np.argsort(first, kind="stable")
            pairs = dict(zip(keys[order].tolist(), found[order].tolist(), strict=True))
        counts.update(pairs)

    @property
    def exact(self) -> bool:
        """True when `counts` holds every distinct value with its exact count."""
        return not self.pruned and not self.gave_up

    def top(self, k: int) -> list[tuple[Any, int]]:
        return self.counts.most_common(k)


@dataclass
class Moments:
    """Count, mean, variance (Chan's parallel merge), min, max, zeros and NaNs of numbers."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = float("inf")
    max: float = float("-inf")
    zeros: int = 0
    nans: int = 0

    def add(self, values: np.ndarray) -> None:
        if not values.size:
            return
        if values.dtype.kind == "f":
            nan = np.isnan(values)
            n_nan = int(np.count_nonzero(nan))
            if n_nan:
                self.nans += n_nan
                values = values[~nan]
                if not values.size:
                    return
        n = int(values.size)
        low, high = float(values.min()), float(values.max())
        if low == high:  # one value repeated (sizes of fixed-width values): no passes needed
            mean, m2, zeros = low, 0.0, n if low == 0 else 0
        else:
            x = values.astype(np.float64)
            mean = float(x.mean())
            m2 = float(np.square(x - mean).sum())
            zeros = int(np.count_nonzero(x == 0))
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total
        self.min = min(self.min, low)
        self.max = max(self.max, high)
        self.zeros += zeros

    @property
    def std(self) -> float:
        return (self.m2 / self.count) ** 0.5 if self.count else 0.0


class Reservoir:
    """A uniform sample of at most `size` numbers (for medians and histograms), seeded."""

    def __init__(self, size: int = 10_000, seed: int = 0) -> None:
        self.size = size
        self.seen = 0
        self.sample = np.empty(0, dtype=np.float64)
        self._rng = np.random.default_rng(seed)

    def add(self, values: np.ndarray) -> None:
        n = int(values.size)
        if not n:
            return
        x = values.astype(np.float64, copy=False).ravel()
        room = self.size - self.sample.size
        if room > 0:
            take = x[:room]
            self.sample = np.concatenate([self.sample, take])
            x = x[room:]
            self.seen += take.size
        if x.size:
            # Algorithm R, vectorised: item i (0-based overall) replaces slot j < size
            # when a uniform j in [0, i] falls inside the reservoir.
            positions = self.seen + np.arange(x.size)
            slots = (self._rng.random(x.size) * (positions + 1)).astype(np.int64)
            keep = slots < self.size
            self.sample[slots[keep]] = x[keep]  # later items overwrite earlier ones, as in R
            self.seen += x.size

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.sample, q)) if self.sample.size else float("nan")


__all__ = [
    "HyperLogLog",
    "Moments",
    "Reservoir",
    "TopK",
    "hash_bytes",
    "hash_crcs",
    "hash_numbers",
    "mix64",
]
