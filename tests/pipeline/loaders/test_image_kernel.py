"""ImageAugment's C kernel (`pipeline.loaders._imageops`) against its numpy twin, bit for bit.

The numpy path defines the results (and is the fallback when no compiler built the kernel):
every combination of dtype, layout, flip, crop, brightness and contrast must give equal arrays.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.loaders import transforms
from pipeline.loaders.transforms import ImageAugment
from pipeline.options import AugmentOptions

# None without a C compiler at install time, or under RECIO_PURE_PYTHON=1: the numpy path is
# still tested below.
_imageops = transforms._imageops

needs_kernel = pytest.mark.skipif(_imageops is None, reason=f"kernel: {transforms.KERNEL}")


def images(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype == "uint8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    # a little outside [0, 1], so that the clip has work on both sides
    return (rng.random(shape, dtype=np.float32) * 1.2 - 0.1).astype(dtype)


def draws(
    rng: np.random.Generator, x: np.ndarray, crop: tuple[int, int] | None, flip: str,
    bright: bool, contrast: bool,
) -> tuple[Any, ...]:  # fmt: skip
    n, h, w = x.shape[:3]
    flips = {"none": np.zeros(n, bool), "all": np.ones(n, bool), "some": rng.random(n) < 0.5}
    ch, cw = crop if crop is not None else (h, w)
    top = rng.integers(0, h - ch + 1, n)
    left = rng.integers(0, w - cw + 1, n)
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    delta = np.asarray(rng.uniform(-0.3, 0.3, n) * scale, np.float32) if bright else None
    factor = np.asarray(rng.uniform(0.5, 1.5, n), np.float32) if contrast else None
    return flips[flip], top, left, delta, factor


@pytest.fixture(params=["ssse3", "scalar"])
def column_pass(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a test with the SSSE3 column pass (where the CPU has it) and without."""
    if _imageops is None:
        pytest.skip(f"kernel: {transforms.KERNEL}")
    was = _imageops.use_ssse3(request.param == "ssse3")
    yield request.param
    _imageops.use_ssse3(was)


def both(x: np.ndarray, *args: object) -> tuple[np.ndarray, np.ndarray]:
    ours = transforms._augment_c(x, *args)  # type: ignore[arg-type]
    twin = transforms._augment_numpy(x, *args)  # type: ignore[arg-type]
    return ours, twin


def assert_same(ours: np.ndarray, twin: np.ndarray) -> None:
    assert ours.dtype == twin.dtype and ours.shape == twin.shape
    np.testing.assert_array_equal(ours, twin)


@needs_kernel
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("shape", [(7, 28, 28), (5, 13, 9, 1), (4, 11, 17, 3), (2, 5, 300)])
@pytest.mark.parametrize("crop", ["none", "one pixel", "85 %", "full"])
@pytest.mark.parametrize("flip", ["none", "all", "some"])
@pytest.mark.parametrize("color", ["plain", "brightness", "contrast", "both"])
def test_the_c_kernel_equals_numpy(
    dtype: str, shape: tuple[int, ...], crop: str, flip: str, color: str, column_pass: str
) -> None:
    rng = np.random.default_rng(list(map(ord, dtype + crop + flip + color)) + list(shape))
    x = images(rng, shape, dtype)
    h, w = shape[1:3]
    window = {
        "none": None,
        "one pixel": (1, 1),
        "85 %": (round(h * 0.85), round(w * 0.85)),
        "full": (h, w),
    }[crop]
    bright, contrast = color in ("brightness", "both"), color in ("contrast", "both")
    flips, top, left, delta, factor = draws(rng, x, window, flip, bright, contrast)
    ours, twin = both(x, flips, top, left, window, delta, factor)
    assert_same(ours, twin)
    assert ours.dtype == (np.uint8 if dtype == "uint8" else np.float32)


@needs_kernel
def test_the_c_kernel_equals_numpy_on_random_shapes_and_dtypes(column_pass: str) -> None:
    """Sizes from 1 pixel up, any window, float64 / int16 inputs (made float32 first)."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        n, h, w = (int(v) for v in rng.integers(1, 12, 3))
        channels = () if rng.random() < 0.5 else (int(rng.integers(1, 5)),)
        dtype = str(rng.choice(["uint8", "float32", "float64", "int16"]))
        x = (
            rng.integers(-3, 4, (n, h, w, *channels)).astype(np.int16)
            if dtype == "int16"
            else images(rng, (n, h, w, *channels), dtype)
        )
        window = None
        if rng.random() < 0.8:
            window = (int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1)))
        flips, top, left, delta, factor = draws(
            rng, x, window, "some", bool(rng.random() < 0.5), bool(rng.random() < 0.5)
        )
        ours, twin = both(x, flips, top, left, window, delta, factor)
        assert_same(ours, twin)


@pytest.mark.parametrize("kernel", [pytest.param("c", marks=needs_kernel), "numpy"])
def test_pixels_round_half_to_even_and_clip(kernel: str) -> None:
    """x + 0.5 lands on halves: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2 as np.rint; the ends clip."""
    x = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)  # 256 values: SIMD body and tail
    fn = transforms._augment_c if kernel == "c" else transforms._augment_numpy
    zero = np.zeros(1, np.int64)
    for shift in (0.5, -0.5, 1.5, 200.0, -300.0):
        out = fn(x, np.zeros(1, bool), zero, zero, None, np.full(1, shift, np.float32), None)
        expected = np.clip(np.rint(x.astype(np.float32) + np.float32(shift)), 0, 255)
        np.testing.assert_array_equal(out, expected.astype(np.uint8))
    x17 = np.arange(17, dtype=np.uint8).reshape(1, 1, 17)  # a row that is not 16 wide
    half = fn(x17, np.zeros(1, bool), zero, zero, None, np.full(1, 0.5, np.float32), None)
    assert half[0, 0, :4].tolist() == [0, 2, 2, 4]


def test_the_channel_mean_is_the_mean() -> None:
    rng = np.random.default_rng(5)
    x = rng.random((3, 9, 7, 2), dtype=np.float32)
    np.testing.assert_allclose(transforms._channel_mean(x), x.mean(axis=(1, 2)), rtol=1e-6)


@needs_kernel
def test_zero_rows_and_bad_arguments() -> None:
    assert _imageops is not None
    empty = np.zeros((0, 4, 4), np.uint8)
    none = np.zeros(0, np.int64)
    out = transforms._augment_c(empty, np.zeros(0, bool), none, none, (2, 2), None, None)
    assert out.shape == (0, 4, 4) and out.dtype == np.uint8
    x = np.zeros((2, 4, 4), np.uint8)
    lo, hi, frac = transforms._weights(2, 4)
    dst = np.empty_like(x)
    ok = (np.zeros(2, bool), np.zeros(2, np.int64), np.zeros(2, np.int64))
    empty_f = np.zeros(0, np.float32)
    args = [x, dst, 2, 4, 4, 1, True, *ok, 2, 2, True, lo, hi, frac, lo, hi, frac, empty_f,
            empty_f, 255.0]  # fmt: skip
    _imageops.augment(*args)
    for index, value, message in [
        (8, np.array([0, 3], np.int64), "top"),  # the window would leave the image
        (0, np.zeros((2, 4, 3), np.uint8), "src"),
        (1, np.empty((2, 4, 4), np.float32), "out"),
        (13, np.array([0, 0, 2, 0], np.int64), "lo_y"),  # outside the 2-row window
        (19, np.zeros(3, np.float32), "bright"),
    ]:
        bad = list(args)
        bad[index] = value
        with pytest.raises(ValueError, match=message):
            _imageops.augment(*bad)


def test_image_augment_with_every_option_is_the_same_without_the_kernel(
    python_exe: str, python_env: dict[str, str], tmp_path: Path
) -> None:
    """RECIO_PURE_PYTHON=1 forces numpy; a child process gives the same batches as this one."""
    code = (
        "import json, sys, numpy as np\n"
        "from pipeline.loaders import transforms as t\n"
        "from pipeline.options import AugmentOptions\n"
        "x = np.random.default_rng(2).integers(0, 256, (40, 28, 28), dtype=np.uint8)\n"
        "aug = t.ImageAugment('image', AugmentOptions(rotate=False))\n"
        "for seed in range(3):\n"
        "    out = aug({'image': x}, np.random.default_rng(seed))['image']\n"
        "    np.save(f'{sys.argv[1]}/{seed}.npy', out)\n"
        "print(json.dumps(t.KERNEL))\n"
    )
    env = dict(python_env, RECIO_PURE_PYTHON="1")
    done = subprocess.run(
        [python_exe, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout).startswith("numpy (forced")
    x = np.random.default_rng(2).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    aug = ImageAugment("image", AugmentOptions(rotate=False))
    for seed in range(3):
        here = aug({"image": x}, np.random.default_rng(seed))["image"]
        np.testing.assert_array_equal(here, np.load(tmp_path / f"{seed}.npy"))
        assert (here != x).any()
    if _imageops is not None:
        assert transforms.KERNEL == "c"
