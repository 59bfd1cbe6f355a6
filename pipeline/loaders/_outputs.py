"""What a batch holds: one `Output` per array, decided in the main process before workers start.

Without a transform the outputs are the decoded fields (float32 where scaled) plus, with
`return_lengths`, one `NAME__length` int64 array per variable-length feature. A transform may
change them: the main process calls it once on a small batch of zeros to learn the names, dtypes
and row shapes it returns, so the workers can write its output straight into shared memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.errors import LoaderError, LoaderOptionError
from pipeline.loaders.decode import Field

LENGTH_SUFFIX = "__length"
PROBE_ROWS = 2
TRANSFORM_SEED_TAG = 0x7472616E73  # keeps transform randomness apart from the shuffle's

Transform = Callable[[dict[str, np.ndarray], np.random.Generator], Mapping[str, Any]]


@dataclass(frozen=True)
class Output:
    """One array of a batch. `row_shape` None: rows of different lengths, padded per batch."""

    name: str
    dtype: np.dtype
    row_shape: tuple[int, ...] | None

    @property
    def slotted(self) -> bool:
        """Fixed-shape numbers live in the shared batch buffers; the rest travel by queue."""
        return self.row_shape is not None and self.dtype != np.dtype(object)


def length_name(name: str) -> str:
    """The key of a variable-length feature's lengths (values kept per row, at most `pad`)."""
    return name + LENGTH_SUFFIX


def base_outputs(
    fields: Sequence[Field], scales: Mapping[str, float], return_lengths: bool
) -> list[Output]:
    """The arrays the decoder makes (what a transform receives)."""
    outs = [
        Output(f.name, np.dtype(np.float32) if f.name in scales else f.dtype, f.row_shape)
        for f in fields
    ]
    if return_lengths:
        names = {f.name for f in fields}
        for f in fields:
            if f.shape is None:
                key = length_name(f.name)
                if key in names:
                    raise LoaderOptionError(
                        f"return_lengths: {key!r} is already a loaded feature",
                        params=("return_lengths",),
                    )
                outs.append(Output(key, np.dtype(np.int64), ()))
    return outs


def check_result(result: Any, rows: int, where: str) -> dict[str, np.ndarray]:
    """The transform's result as arrays of `rows` rows, or a LoaderError saying what is wrong."""
    if not isinstance(result, Mapping):
        raise LoaderError(
            f"transform must return a dict of arrays, got {type(result).__name__} ({where})"
        )
    out = {}
    for name, value in result.items():
        arr = np.asarray(value)
        if arr.ndim == 0 or arr.shape[0] != rows:
            raise LoaderError(
                f"transform returned {name!r} with shape {arr.shape}, expected {rows} rows "
                f"({where}): transforms work row by row and keep the number of rows"
            )
        out[str(name)] = arr
    return out


def probe_outputs(transform: Transform, inputs: Sequence[Output]) -> list[Output]:
    """Call the transform on a batch of zeros to learn what it returns."""
    sample = {}
    for o in inputs:
        shape = (PROBE_ROWS, *(o.row_shape if o.row_shape is not None else (0,)))
        sample[o.name] = (
            np.zeros(shape, dtype=o.dtype)
            if o.dtype != np.dtype(object)
            else np.full(shape, b"", dtype=object)
        )
    try:
        result = transform(sample, np.random.default_rng(0))
    except Exception as error:
        raise LoaderError(
            f"transform failed on a test batch of zeros: {type(error).__name__}: {error}"
        ) from error
    out = check_result(result, PROBE_ROWS, "test batch of zeros")
    ragged = {o.name for o in inputs if o.row_shape is None}
    return [
        Output(name, arr.dtype, None if name in ragged else tuple(arr.shape[1:]))
        for name, arr in out.items()
    ]


def concat(pieces: list[np.ndarray], o: Output, rows: int) -> np.ndarray:
    """Join the lanes' pieces of an array that is not in shared memory (ragged or bytes)."""
    empty = o.dtype == np.dtype(object)
    if not pieces:
        shape = (rows, *(o.row_shape if o.row_shape is not None else (0,)))
        return np.full(shape, b"", dtype=object) if empty else np.zeros(shape, dtype=o.dtype)
    if o.row_shape is not None:
        return np.concatenate(pieces, axis=0)
    width = max(p.shape[1] for p in pieces)
    dtype = pieces[0].dtype
    out = (
        np.zeros((rows, width), dtype=dtype)
        if dtype.kind != "O"
        else np.full((rows, width), b"", dtype=object)
    )
    at = 0
    for p in pieces:
        out[at : at + p.shape[0], : p.shape[1]] = p
        at += p.shape[0]
    return out


__all__ = [
    "LENGTH_SUFFIX",
    "Output",
    "Transform",
    "base_outputs",
    "check_result",
    "concat",
    "length_name",
    "probe_outputs",
]
