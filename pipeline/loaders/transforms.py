"""Ready-made transforms for `NumpyLoader(transform=...)`: run in the workers, row by row.

    from pipeline.loaders.transforms import Compose, ImageAugment, Standardize
    loader = NumpyLoader("out/", label="label", decode=DecodeOptions(decode_bytes=...),
                         transform=Compose(ImageAugment("image"),
                                           Standardize.from_job("out/", ["income"])))

Each is an instance of a top-level dataclass, so it pickles into the worker processes. They use
numpy only (no TensorFlow in the workers: importing it there costs seconds and memory per worker
and a call per image would cost more than decoding). `ImageAugment` takes the options of
`recio job augment` (`pipeline.options.AugmentOptions`) and applies the same operations in the
same order with the same ranges: flip left-right, a random window of `crop_fraction` of each
side resized back (bilinear, half-pixel centres like `tf.image.resize`), brightness, contrast,
clip to [0, 1] and round back to uint8. Its random draws come from the loader's stateless
generator (seed, epoch, position), not from the job's per-key seeds: the job makes fixed copies,
the loader a new variant of each image every epoch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.errors import LoaderError, LoaderOptionError
from pipeline.options import AugmentOptions

Batch = dict[str, np.ndarray]


def _no_rotation() -> AugmentOptions:
    return AugmentOptions(rotate=False)


def resize_weights(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, fraction) source indices of bilinear resizing with half-pixel centres."""
    scale = size_in / size_out
    pos = (np.arange(size_out, dtype=np.float64) + 0.5) * scale - 0.5
    floor = np.floor(pos)
    lower = np.clip(floor, 0, size_in - 1).astype(np.intp)
    upper = np.clip(np.ceil(pos), 0, size_in - 1).astype(np.intp)
    return lower, upper, (pos - floor).astype(np.float32)


def _lerp(a: np.ndarray, b: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """a + (b - a) * frac as float32, in three passes (a and b may be uint8)."""
    out = np.subtract(b, a, dtype=np.float32)
    np.multiply(out, frac, out=out)
    np.add(out, a, out=out, dtype=np.float32)
    return out


def flip_crop_resize(
    x: np.ndarray, flip: np.ndarray, top: np.ndarray, left: np.ndarray, crop: tuple[int, int]
) -> np.ndarray:
    """Mirror images x (N, H, W, C) where `flip`, cut the (ch, cw) window at (top[i], left[i])
    and resize it back to (H, W) bilinearly (half-pixel centres), as float32.

    Two gathers per axis and a blend: the column pass reads the source (any dtype) and folds
    the mirror into its indices; the row pass reads contiguous rows.
    """
    n, h, w, _ = x.shape
    lo_y, hi_y, fy = resize_weights(crop[0], h)
    lo_x, hi_x, fx = resize_weights(crop[1], w)
    b = np.arange(n)[:, None]
    cols_lo = left[:, None] + lo_x[None, :]
    cols_hi = left[:, None] + hi_x[None, :]
    mirrored = flip[:, None]
    cols_lo = np.where(mirrored, w - 1 - cols_lo, cols_lo)
    cols_hi = np.where(mirrored, w - 1 - cols_hi, cols_hi)
    # x[b, :, cols] puts the indexed axis first: (N, W, H, C)
    across = _lerp(x[b, :, cols_lo], x[b, :, cols_hi], fx[None, :, None, None])
    rows_lo = top[:, None] + lo_y[None, :]
    rows_hi = top[:, None] + hi_y[None, :]
    # across[b, :, rows] -> (N, H, W, C) again
    return _lerp(across[b, :, rows_lo], across[b, :, rows_hi], fy[None, :, None, None])


def crop_and_resize(x: np.ndarray, top: np.ndarray, left: np.ndarray, crop: tuple[int, int]) -> Any:
    """Cut the (ch, cw) window at (top[i], left[i]) of each image x[i] (N, H, W, C) and resize
    it back to (H, W) bilinearly, as float32 (tf.image.resize's "bilinear")."""
    return flip_crop_resize(x, np.zeros(x.shape[0], dtype=bool), top, left, crop)


@dataclass(frozen=True)
class ImageAugment:
    """Random flip / crop / brightness / contrast of an image feature, a new draw every epoch.

    The feature must be (rows, H, W) or (rows, H, W, C): uint8 pixels (returned as uint8) or
    floats on a 0-1 scale (e.g. after `to_float32={"image": 1/255}`, returned as float32).
    Rotation is not offered here (use `recio job augment` for it); the other options mean what
    they mean for that job.
    """

    feature: str = "image"
    options: AugmentOptions = field(default_factory=_no_rotation)

    def __post_init__(self) -> None:
        if not isinstance(self.options, AugmentOptions):
            raise LoaderOptionError(
                f"options must be an AugmentOptions, got {type(self.options).__name__}",
                params=("options",),
            )
        if self.options.rotate and self.options.max_rotation > 0:
            raise LoaderOptionError(
                "ImageAugment does not rotate: pass AugmentOptions(rotate=False), or make "
                "rotated copies once with `recio job augment`",
                params=("options",),
            )

    def __call__(self, batch: Batch, rng: np.random.Generator) -> Batch:
        image = batch[self.feature]
        if image.ndim not in (3, 4):
            raise LoaderError(
                f"ImageAugment: {self.feature!r} rows have shape {image.shape[1:]}; give the "
                "image shape in decode_bytes, e.g. ('uint8', (28, 28))"
            )
        opts = self.options
        n = image.shape[0]
        image4 = image[..., None] if image.ndim == 3 else image
        h, w = image4.shape[1:3]
        # Draw everything in a fixed order, so turning one option off leaves the others' draws.
        flip = np.asarray(rng.random(n) < 0.5, dtype=bool)
        crop = (
            max(int(round(h * opts.crop_fraction)), 1),
            max(int(round(w * opts.crop_fraction)), 1),
        )
        top = rng.integers(0, h - crop[0] + 1, n)
        left = rng.integers(0, w - crop[1] + 1, n)
        delta = np.asarray(
            rng.uniform(-opts.brightness_delta, opts.brightness_delta, n), dtype=np.float32
        )
        factor = np.asarray(rng.uniform(opts.contrast_lower, opts.contrast_upper, n), np.float32)
        pixels = image.dtype == np.uint8
        top_value = np.float32(255.0 if pixels else 1.0)  # work on the 0-255 scale for pixels
        flip &= opts.flip
        if opts.crop and opts.crop_fraction < 1.0:
            x = flip_crop_resize(image4, flip, top, left, crop)
        else:
            x = image4.astype(np.float32)
            if flip.any():
                x[flip] = x[flip, :, ::-1]
        if opts.brightness and opts.brightness_delta > 0:
            x += (delta * top_value)[:, None, None, None]
        if opts.contrast and opts.contrast_lower < opts.contrast_upper:
            mean = x.mean(axis=(1, 2), keepdims=True)
            x -= mean
            x *= factor[:, None, None, None]
            x += mean
        np.clip(x, 0.0, top_value, out=x)
        if image.ndim == 3:
            x = x[..., 0]
        if pixels:
            np.rint(x, out=x)
            out = x.astype(np.uint8)
        else:
            out = x
        return {**batch, self.feature: out}


@dataclass(frozen=True)
class Standardize:
    """(x - mean) / std per feature, as float32 (features with std 0 are only centred)."""

    stats: Mapping[str, tuple[float, float]]

    @classmethod
    def from_job(cls, folder: str | os.PathLike[str], features: Sequence[str] | Mapping[str, str]
                 ) -> Standardize:  # fmt: skip
        """Mean and std that a `recio job transform` run's analyzers computed (its
        recio_job.json: no TensorFlow needed). `features` maps loaded feature -> the output
        whose statistics to use (a list: the same names)."""
        pairs = dict(features) if isinstance(features, Mapping) else {f: f for f in features}
        path = os.path.join(os.fspath(folder), "recio_job.json")
        try:
            with open(path, encoding="utf-8") as f:
                analyzers = json.load(f).get("stats", {}).get("analyzers", {})
        except (OSError, ValueError) as error:
            raise LoaderError(f"{path}: cannot read the job's statistics: {error}") from None
        stats = {}
        for name, output in pairs.items():
            values = analyzers.get(output, {})
            mean = values.get("mean", values.get("fill_mean"))
            std = values.get("std")
            if not isinstance(mean, int | float) or not isinstance(std, int | float):
                raise LoaderError(
                    f"{path}: no mean and std for {output!r} (the job computes them for outputs "
                    "with a z_score step): give Standardize({name: (mean, std)}) instead"
                )
            stats[name] = (float(mean), float(std))
        return cls(stats)

    def __call__(self, batch: Batch, rng: np.random.Generator) -> Batch:
        out = dict(batch)
        for name, (mean, std) in self.stats.items():
            x = batch[name].astype(np.float32) - np.float32(mean)
            out[name] = x / np.float32(std) if std > 0 else x
        return out


@dataclass(frozen=True)
class Compose:
    """Several transforms in turn, sharing the generator."""

    steps: tuple[Callable[[Batch, np.random.Generator], Any], ...]

    def __init__(self, *steps: Callable[[Batch, np.random.Generator], Any]) -> None:
        object.__setattr__(self, "steps", tuple(steps))

    def __call__(self, batch: Batch, rng: np.random.Generator) -> Batch:
        for step in self.steps:
            batch = dict(step(batch, rng))
        return batch


__all__ = [
    "Compose",
    "ImageAugment",
    "Standardize",
    "crop_and_resize",
    "flip_crop_resize",
    "resize_weights",
]
