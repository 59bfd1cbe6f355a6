"""Ready-made transforms for `NumpyLoader(transform=...)`: run in the workers, row by row.

    from pipeline.loaders.transforms import Compose, ImageAugment, Standardize
    loader = NumpyLoader("out/", label="label", decode=DecodeOptions(decode_bytes=...),
                         transform=Compose(ImageAugment("image"),
                                           Standardize.from_job("out/", ["income"])))

Each is an instance of a top-level dataclass, so it pickles into the worker processes. No
TensorFlow in the workers: importing it there costs seconds and memory per worker, and a call
per image would cost more than decoding. `ImageAugment` takes the options of
`recio job augment` (`pipeline.options.AugmentOptions`) and applies the same operations in the
same order with the same ranges: flip left-right, a random window of `crop_fraction` of each
side resized back (bilinear, half-pixel centres like `tf.image.resize`), brightness, contrast,
clip to [0, 1] and round back to uint8. Its random draws come from the loader's stateless
generator (seed, epoch, position), not from the job's per-key seeds: the job makes fixed copies,
the loader a new variant of each image every epoch.

`ImageAugment` runs a C kernel (`pipeline.loaders._imageops`, built by setup.py when a compiler
is present) that does all of it in one pass per image, about fifteen times faster than numpy's
gathers and float passes on 28x28 uint8 images. Without it (or with RECIO_PURE_PYTHON=1)
`_augment_numpy` runs, the twin that defines the results: both give the same arrays, bit for
bit. `KERNEL` says which one runs.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from pipeline.errors import LoaderError, LoaderOptionError
from pipeline.options import AugmentOptions

Batch = dict[str, np.ndarray]


def _load_kernel() -> tuple[ModuleType | None, str]:
    if os.environ.get("RECIO_PURE_PYTHON"):
        return None, "numpy (forced by RECIO_PURE_PYTHON)"
    try:
        return importlib.import_module("pipeline.loaders._imageops"), "c"
    except ImportError:
        return None, "numpy (the C kernel was not built)"


_imageops, KERNEL = _load_kernel()


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


@functools.lru_cache(maxsize=64)
def _weights(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """resize_weights as int64/float32, computed once per size pair (read-only)."""
    lower, upper, frac = resize_weights(size_in, size_out)
    arrays = (lower.astype(np.int64), upper.astype(np.int64), frac)
    for a in arrays:
        a.flags.writeable = False
    return arrays


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
    lo_y, hi_y, fy = _weights(crop[0], h)
    lo_x, hi_x, fx = _weights(crop[1], w)
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
        n, h, w = image.shape[:3]
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
        flip &= opts.flip
        out = augment_images(
            image,
            flip,
            top,
            left,
            crop if opts.crop and opts.crop_fraction < 1.0 else None,
            delta * _top_value(image) if opts.brightness and opts.brightness_delta > 0 else None,
            factor if opts.contrast and opts.contrast_lower < opts.contrast_upper else None,
        )
        return {**batch, self.feature: out}


def _top_value(image: np.ndarray) -> np.float32:
    """The top of the scale: 255 for uint8 pixels, else 1 (floats on a 0-1 scale)."""
    return np.float32(255.0 if image.dtype == np.uint8 else 1.0)


def augment_images(
    image: np.ndarray,
    flip: np.ndarray,
    top: np.ndarray,
    left: np.ndarray,
    crop: tuple[int, int] | None,
    bright: np.ndarray | None,
    factor: np.ndarray | None,
) -> np.ndarray:
    """ImageAugment's operations on images (N, H, W) or (N, H, W, C) for given draws: mirror
    where `flip`, the `crop` window at (top, left) resized back (None: no crop), + `bright`
    (on the image's scale), contrast `factor` around each image's channel means, clip to
    [0, top of the scale]; uint8 in gives uint8 out (rounded half to even), else float32.

    The C kernel (`pipeline.loaders._imageops`) when it was built, else numpy: equal results.
    """
    if _imageops is not None and image.dtype.kind in "iuf":
        return _augment_c(image, flip, top, left, crop, bright, factor)
    return _augment_numpy(image, flip, top, left, crop, bright, factor)


def _augment_numpy(
    image: np.ndarray,
    flip: np.ndarray,
    top: np.ndarray,
    left: np.ndarray,
    crop: tuple[int, int] | None,
    bright: np.ndarray | None,
    factor: np.ndarray | None,
) -> np.ndarray:
    """The numpy twin of the C kernel (it defines the results: each float32 step is the same)."""
    top_value = _top_value(image)
    image4 = image[..., None] if image.ndim == 3 else image
    if crop is not None:
        x = flip_crop_resize(image4, flip, top, left, crop)
    else:
        x = image4.astype(np.float32)
        if flip.any():
            x[flip] = x[flip, :, ::-1]
    if bright is not None:
        x += np.asarray(bright, np.float32)[:, None, None, None]
    if factor is not None:
        mean = _channel_mean(x)[:, None, None, :]
        x -= mean
        x *= np.asarray(factor, np.float32)[:, None, None, None]
        x += mean
    np.clip(x, 0.0, top_value, out=x)
    if image.ndim == 3:
        x = x[..., 0]
    if image.dtype != np.uint8:
        return x
    np.rint(x, out=x)
    return x.astype(np.uint8)


def _channel_mean(x: np.ndarray) -> np.ndarray:
    """Per-image, per-channel mean of x (N, H, W, C) as float32, summed in float64 in a fixed
    order (down each column, then across; add.accumulate is sequential) that C can repeat."""
    columns = np.add.accumulate(x, axis=1, dtype=np.float64)[:, -1]
    total = np.add.accumulate(columns, axis=1)[:, -1]
    return np.asarray(total / (x.shape[1] * x.shape[2]), dtype=np.float32)


_NO_WEIGHTS = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))


def _augment_c(
    image: np.ndarray,
    flip: np.ndarray,
    top: np.ndarray,
    left: np.ndarray,
    crop: tuple[int, int] | None,
    bright: np.ndarray | None,
    factor: np.ndarray | None,
) -> np.ndarray:
    """augment_images through the C kernel (which must be built)."""
    if _imageops is None:
        raise LoaderError(f"the ImageAugment C kernel is not available ({KERNEL})")
    pixels = image.dtype == np.uint8
    dtype = np.uint8 if pixels else np.float32
    src = np.ascontiguousarray(image, dtype=dtype)
    out = np.empty(image.shape, dtype=dtype)
    n, h, w = image.shape[:3]
    c = image.shape[3] if image.ndim == 4 else 1
    if crop is None:
        window, rows, cols = (h, w), _NO_WEIGHTS, _NO_WEIGHTS
    else:
        window, rows, cols = crop, _weights(crop[0], h), _weights(crop[1], w)
    empty = _NO_WEIGHTS[2]
    _imageops.augment(
        src,
        out,
        n,
        h,
        w,
        c,
        pixels,
        np.ascontiguousarray(flip, dtype=np.bool_),
        np.ascontiguousarray(top, dtype=np.int64),
        np.ascontiguousarray(left, dtype=np.int64),
        window[0],
        window[1],
        crop is not None,
        *rows,
        *cols,
        empty if bright is None else np.ascontiguousarray(bright, dtype=np.float32),
        empty if factor is None else np.ascontiguousarray(factor, dtype=np.float32),
        float(_top_value(image)),
    )
    return out


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
    "KERNEL",
    "Compose",
    "ImageAugment",
    "Standardize",
    "augment_images",
    "crop_and_resize",
    "flip_crop_resize",
    "resize_weights",
]
