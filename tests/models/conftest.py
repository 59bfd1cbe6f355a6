"""Small learnable synthetic tasks shared by the models tests (no downloads, a few hundred rows)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def image_task(n: int = 384, side: int = 12, classes: int = 3, seed: int = 0):
    """Noisy int64 pixels in [0, 255]; class k lights up the k-th horizontal band."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n).astype(np.int64)
    pixels = rng.integers(0, 60, size=(n, side, side)).astype(np.int64)
    band = side // classes
    for i, k in enumerate(labels):
        pixels[i, k * band : (k + 1) * band, :] += 150
    return pixels.reshape(n, side * side), labels


def housing_task(n: int = 384, seed: int = 0):
    """Three standardised features and a dollar-scale target that depends on them linearly."""
    rng = np.random.default_rng(seed)
    a, b, c = (rng.normal(size=n).astype(np.float32) for _ in range(3))
    target = 200_000 + 60_000 * a - 30_000 * b + 10_000 * c + rng.normal(0, 5_000, n)
    return {"a": a, "b": b, "c": c}, target.astype(np.float32)


@pytest.fixture(scope="session")
def images():
    return image_task()


@pytest.fixture(scope="session")
def housing():
    return housing_task()
