"""The GPU feeding benchmark's smoke run, on a machine with a GPU (skipped elsewhere)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.requires_gpu, pytest.mark.slow]


def test_gpu_train_quick_run_feeds_keras_on_jax(repo_root: object, tmp_path: object) -> None:
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(repo_root)}
    done = subprocess.run(
        [sys.executable, os.path.join(str(repo_root), "bench", "gpu_train.py"), "--quick",
         "--data", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MLP batch" in done.stdout and "CNN batch" in done.stdout
    assert "MISMATCH" not in done.stdout
