"""NumpyLoader's options, grouped by what they decide and checked when they are made.

    NumpyLoader("out/", label="label", batch_size=2048,
                order=OrderOptions(seed=1, rank=rank, world_size=world),
                decode=DecodeOptions(decode_bytes={"image": ("uint8", (28, 28))},
                                     to_float32={"image": 1 / 255}),
                workers=WorkerOptions(num_workers=8))

Each group has defaults that suit the common case, so most loaders need none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import LoaderOptionError


def _whole(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise LoaderOptionError(
            f"{name} must be an integer >= {low}, got {value!r}", params=(name,)
        )


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """Which records are read, and what happens at damage.

    Attributes:
        spec: the feature spec (default: the data's schema, or inferred from its first records).
        salvage: skip damaged records (recordio's resync) instead of raising; what was skipped is
            in `loader.damage`.
        verify: check every record's CRCs (on by default; off is faster and unsafe).
        strict: report the truncations TensorFlow is silent about (see recordio.TFRecordReader).
    """

    spec: Mapping[str, Any] | None = None
    salvage: bool = False
    verify: bool = True
    strict: bool = True


@dataclass(frozen=True, slots=True)
class OrderOptions:
    """The order of an epoch and this process's part of the data.

    Attributes:
        shuffle, seed: shuffle file order and records (within windows of `shuffle_buffer` records
            spread over the lanes) with a seed; epoch e uses (seed, e).
        drop_remainder: leave out the last, smaller batch of an epoch.
        rank, world_size: this process's part of the data: the records of all files are split
            into `world_size` equal parts at record level (`recordio.parts`), so every rank runs
            the same number of steps.
        remainder: what happens to the records left over when they do not split evenly:
            "drop" them (each record in at most one part; the default), "pad" the short parts by
            repeating records from the start, or "uneven" (parts differ by one record).
        global_shuffle: shuffle over all records of this part each epoch (a seeded permutation,
            read by random access through the files' index) instead of files and windows.
        shuffle_buffer: records shuffled together, summed over the lanes.
        lanes: independent reading streams (default max(8, num_workers)); the order depends on
            it, never on the number of worker processes.
    """

    shuffle: bool = True
    seed: int = 0
    drop_remainder: bool = False
    rank: int = 0
    world_size: int = 1
    shuffle_buffer: int = 10_000
    lanes: int | None = None
    remainder: str = "drop"
    global_shuffle: bool = False

    def __post_init__(self) -> None:
        from recordio.parts import REMAINDERS

        if self.remainder not in REMAINDERS:
            raise LoaderOptionError(
                f"remainder must be one of {', '.join(REMAINDERS)}, got {self.remainder!r}",
                params=("remainder",),
            )
        _whole("world_size", self.world_size, 1)
        _whole("shuffle_buffer", self.shuffle_buffer, 1)
        _whole("seed", self.seed, 0)
        if not isinstance(self.rank, int) or not 0 <= self.rank < self.world_size:
            raise LoaderOptionError(
                f"rank must be in 0..{self.world_size - 1}, got {self.rank!r}", params=("rank",)
            )
        if self.lanes is not None:
            _whole("lanes", self.lanes, 1)


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How values become arrays, in the workers.

    Attributes:
        decode_bytes: {name: dtype or (dtype, shape)}: a bytes feature holding raw numbers (e.g.
            "uint8" pixels) comes back as a numeric array instead of bytes objects.
        to_float32: {name: scale}: convert a numeric feature to float32 times scale (e.g.
            {"image": 1/255}).
        pad: {name: width}: cut or pad a variable-length feature to a fixed width (numbers or
            bytes).
        return_lengths: add `NAME__length` (int64, values kept per row: at most the pad width)
            for every variable-length feature, so padding can be told from real zeros
            (`mask = np.arange(width) < lengths[:, None]`).
    """

    decode_bytes: Mapping[str, Any] = field(default_factory=dict)
    to_float32: Mapping[str, float] = field(default_factory=dict)
    pad: Mapping[str, int] = field(default_factory=dict)
    return_lengths: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.return_lengths, bool):
            raise LoaderOptionError(
                f"return_lengths must be True or False, got {self.return_lengths!r}",
                params=("return_lengths",),
            )
        for name in ("decode_bytes", "to_float32", "pad"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise LoaderOptionError(
                    f"{name} must be a mapping of feature names, got {type(value).__name__}",
                    params=(name,),
                )
            object.__setattr__(self, name, dict(value))


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """Who makes the batches.

    Attributes:
        num_workers: processes decoding in the background; 0 = one background thread (or none
            at all with prefetch=0).
        prefetch: batches made ahead of the one being consumed.
        start_method: multiprocessing start method for the workers (default "spawn").
    """

    num_workers: int = 0
    prefetch: int = 2
    start_method: str | None = None

    def __post_init__(self) -> None:
        _whole("num_workers", self.num_workers, 0)
        _whole("prefetch", self.prefetch, 0)


__all__ = ["DecodeOptions", "OrderOptions", "SourceOptions", "WorkerOptions"]
