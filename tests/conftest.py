"""Capability markers that skip themselves, and a few fixtures every test package may use.

Markers: `requires_tf` (TensorFlow importable), `requires_beam` (apache-beam and
tensorflow-transform installed), `requires_gpu` (a GPU is visible), `slow` (runs anyway).
Each capability is probed once per process, and only when a test that needs it is about to run,
so a run that selects no TF test never pays TensorFlow's import.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "data"


@functools.cache
def _tf_importable() -> str | None:
    """None when TensorFlow imports; else why not."""
    try:
        importlib.import_module("tensorflow")
    except Exception as error:  # any import failure means "no usable TF"
        return f"TensorFlow is not importable ({type(error).__name__}: {error})"
    return None


@functools.cache
def _beam_installed() -> str | None:
    # find_spec, not import: importing tensorflow_transform switches tf.keras to Keras 2 for the
    # whole process, which would change the behaviour of unrelated tests in this worker.
    for name in ("apache_beam", "tensorflow_transform"):
        if importlib.util.find_spec(name) is None:
            return f"{name} is not installed"
    return None


@functools.cache
def _gpu_visible() -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "no GPU (nvidia-smi not found)"
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as error:
        return f"no GPU (nvidia-smi failed: {error})"
    if listed.returncode != 0 or "GPU" not in listed.stdout:
        return "no GPU visible to nvidia-smi"
    return None


_PROBES = {
    "requires_tf": _tf_importable,
    "requires_beam": _beam_installed,
    "requires_gpu": _gpu_visible,
}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, probe in _PROBES.items():
        if item.get_closest_marker(marker) is not None:
            reason = probe()
            if reason is not None:
                pytest.skip(reason)


# -- shared fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: tiny golden files written by real TensorFlow (recipe in its README.md)."""
    return DATA_DIR


@pytest.fixture(scope="session")
def housing_csv() -> Path:
    """The shared housing data set, or a skip when this checkout has none next to it."""
    path = REPO_ROOT.parent / "shared" / "data" / "housing.csv"
    if not path.is_file():
        pytest.skip(f"shared data set not found at {path}")
    return path


@pytest.fixture
def python_env() -> Iterator[dict[str, str]]:
    """Environment for child Pythons: this checkout importable, TF quiet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    yield env


@pytest.fixture(scope="session")
def python_exe() -> str:
    return sys.executable
