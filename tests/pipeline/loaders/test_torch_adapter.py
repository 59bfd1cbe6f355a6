"""TorchIterableDataset: DataLoader workers x ranks read each record exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pipeline.loaders import DecodeOptions, OrderOptions
from tests.pipeline.loaders.loader_data import fmnist_arrays, keys, write_fmnist

torch = pytest.importorskip("torch")


def test_dataloader_workers_times_ranks_cover_every_record_once(tmp_path: Path) -> None:
    from pipeline.loaders import TorchIterableDataset

    images, labels = fmnist_arrays(300, seed=7)
    write_fmnist(tmp_path, images, labels, shards=4)
    seen: Counter[tuple[int, bytes]] = Counter()
    for rank in range(2):
        ds = TorchIterableDataset(
            str(tmp_path),
            label="label",
            batch_size=32,
            order=OrderOptions(rank=rank, world_size=2, seed=3),
            decode=DecodeOptions(decode_bytes={"image": ("uint8", (28, 28))}),
        )
        ds.set_epoch(1)
        dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
        for features, label in dl:
            assert isinstance(features["image"], torch.Tensor)
            assert features["image"].dtype == torch.uint8 and label.dtype == torch.int64
            seen.update(keys(features["image"].numpy(), label.numpy()))
    assert seen == keys(images, labels)
    assert set(seen.values()) == {1}


def test_without_workers_batches_are_tensors_in_the_loaders_order(tmp_path: Path) -> None:
    from pipeline.loaders import NumpyLoader, TorchIterableDataset

    images, labels = fmnist_arrays(100, seed=8)
    write_fmnist(tmp_path, images, labels, shards=2)
    raw = DecodeOptions(decode_bytes={"image": ("uint8", (28, 28))}, to_float32={"image": 1 / 255})
    ds = TorchIterableDataset(str(tmp_path), label="label", batch_size=25, decode=raw)
    got = [y.numpy() for _, y in ds]
    want = [y for _, y in NumpyLoader(str(tmp_path), label="label", batch_size=25, decode=raw)]
    assert len(got) == len(want) == 4
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
