"""An error inside a loop over a loader with workers prints that error and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.pipeline.loaders.loader_data import fmnist_arrays, write_fmnist

SCRIPT = textwrap.dedent(
    """
    import sys
    from pipeline.loaders import DecodeOptions, NumpyLoader, WorkerOptions
    from tests.pipeline.loaders.loader_data import with_noise

    def main(where):
        ld = NumpyLoader(sys.argv[1], label="label", batch_size=50,
                         decode=DecodeOptions(decode_bytes={"image": ("uint8", (28, 28))}),
                         workers=WorkerOptions(num_workers=2), transform=with_noise)
        with ld:
            for i, (features, label) in enumerate(ld):
                if i == 2:
                    raise RuntimeError("boom " + where)

    main(sys.argv[2])
    """
)


@pytest.mark.parametrize("kind", ["shm", "memfd"])
def test_error_in_the_loop_leaves_only_that_error_on_stderr(tmp_path: Path, kind: str) -> None:
    images, labels = fmnist_arrays(300, seed=2)
    write_fmnist(tmp_path, images, labels, shards=2)
    env = {**os.environ, "RECIO_LOADER_SHM": kind,
           "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), kind], env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith(f"RuntimeError: boom {kind}"), done.stderr
    assert "Exception ignored" not in done.stderr and "BufferError" not in done.stderr
    assert done.stderr.count("Traceback") == 1
