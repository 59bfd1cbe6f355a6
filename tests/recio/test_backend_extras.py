"""`KERAS_BACKEND=jax|torch recio train` without that backend: one line naming the extra, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# jax/torch are installed here: the child blocks the import (sys.modules[name] = None), which
# is what a missing module looks like to recio.
CHILD = (
    "import sys; sys.modules[sys.argv[1]] = None\n"
    "from recio.cli import main\n"
    "sys.argv = ['recio', 'train', 'mlp', '--data', sys.argv[2], '--output', sys.argv[3]]\n"
    "main()\n"
)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_train_without_the_backend_names_its_extra(backend: str, tmp_path: object) -> None:
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, backend, str(tmp_path), os.path.join(str(tmp_path), "o")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install 'recio[{backend}]'" in lines[0], done.stderr
