"""NumpyLoader over fsspec URLs (memory://): folders, equal parts and global shuffle there."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from pipeline.errors import LoaderError
from pipeline.loaders import NumpyLoader, resolve_files
from pipeline.loaders.options import OrderOptions
from recordio import encode_example, write_records
from recordio.index import index_file

fsspec = pytest.importorskip("fsspec")
SIZES = (100, 7, 61)


@pytest.fixture
def folder() -> str:
    base = f"memory://loader{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("memory").mkdir(base.split("://")[1])
    for shard, n in enumerate(SIZES):
        examples = [encode_example({"x": [shard * 1000 + i], "y": [i % 2]}) for i in range(n)]
        write_records(f"{base}/s{shard}.tfrecord.gz", examples, "GZIP", member_bytes=512)
    return base


def _values(loader: NumpyLoader) -> list[int]:
    return [int(v) for features, _ in loader for v in np.asarray(features["x"]).ravel()]


@pytest.mark.parametrize("global_shuffle", [False, True])
def test_ranks_read_equal_parts_of_a_url_folder(folder: str, global_shuffle: bool) -> None:
    index_file(f"{folder}/s0.tfrecord.gz")  # one file with a sidecar, two without
    assert resolve_files(folder) == [f"{folder}/s{i}.tfrecord.gz" for i in range(3)]
    everything = {s * 1000 + i for s, n in enumerate(SIZES) for i in range(n)}
    parts = []
    for rank in range(2):
        order = OrderOptions(rank=rank, world_size=2, global_shuffle=global_shuffle, seed=5)
        parts.append(_values(NumpyLoader(folder, label="y", batch_size=8, order=order)))
    assert len(parts[0]) == len(parts[1]) == sum(SIZES) // 2
    assert not set(parts[0]) & set(parts[1])
    assert len(everything - set(parts[0]) - set(parts[1])) == sum(SIZES) % 2  # dropped remainder


def test_a_url_folder_without_records_is_a_loader_error(folder: str) -> None:
    empty = f"{folder}/empty"
    fsspec.filesystem("memory").mkdir(empty.split("://")[1])
    fsspec.filesystem("memory").pipe_file(f"{empty.split('://')[1]}/notes.txt", b"x")
    with pytest.raises(LoaderError, match="no record files"):
        resolve_files(empty)
