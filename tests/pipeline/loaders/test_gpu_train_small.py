"""bench/gpu_train.py runs without a GPU at a tiny size (MLP only, one worker): it stays runnable
on a fresh `pip install 'recio[jax]'` set-up. The GPU figures come from test_gpu.py's machine."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_gpu_train_small_runs_on_cpu(repo_root: object, tmp_path: object) -> None:
    if importlib.util.find_spec("jax") is None or importlib.util.find_spec("keras") is None:
        pytest.skip("needs jax and keras (pip install 'recio[jax]')")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": str(repo_root)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, os.path.join(str(repo_root), "bench", "gpu_train.py"), "--small",
         "--models", "mlp", "--worker-counts", "1", "--data", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MLP batch" in done.stdout and " 1 workers:" in done.stdout
    assert "MISMATCH" not in done.stdout
