"""NumpyLoader as a torch `IterableDataset` (importing this module imports torch)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

try:
    import torch
    import torch.utils.data
except ImportError as error:  # pragma: no cover - depends on the environment
    from pipeline.errors import LoaderError

    raise LoaderError(
        "TorchIterableDataset needs torch, which is not installed; install it with: "
        "pip install 'recio[torch]'"
    ) from error

from pipeline.errors import LoaderOptionError
from pipeline.loaders.numpy_loader import NumpyLoader
from pipeline.loaders.options import OrderOptions, SourceOptions, WorkerOptions


class TorchIterableDataset(torch.utils.data.IterableDataset):
    """Batches for `torch.utils.data.DataLoader(ds, batch_size=None, num_workers=N)`.

    Each DataLoader worker (and each `torch.distributed` rank) builds its own NumpyLoader over
    its part of the data (part = rank * workers + worker id), so every record is read exactly once
    per epoch. Call `set_epoch(e)` before each epoch, as with DistributedSampler. Numeric arrays
    become tensors without a copy; bytes features stay numpy object arrays.

    Args:
        data, label, **kwargs: as NumpyLoader (order.rank/world_size default to
            torch.distributed's).
    """

    def __init__(
        self, data: str | os.PathLike[str] | Sequence[str], *, label: str, **kwargs: Any
    ) -> None:
        super().__init__()
        if "workers" in kwargs:
            raise LoaderOptionError(
                "use the DataLoader's num_workers; each worker reads its own part",
                params=("workers",),
            )
        self.data = data
        self.label = label
        self.kwargs = kwargs
        self.order: OrderOptions = kwargs.pop("order", None) or OrderOptions()
        self.epoch = 0
        # One loader built here makes bad options fail now rather than inside a worker.
        self._probe = NumpyLoader(
            data, label=label, order=self.order, workers=WorkerOptions(prefetch=0), **kwargs
        )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _part(self) -> tuple[int, int]:
        info = torch.utils.data.get_worker_info()
        wid, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        rank, world = self.order.rank, self.order.world_size
        dist = torch.distributed
        if world == 1 and dist.is_available() and dist.is_initialized():
            rank, world = dist.get_rank(), dist.get_world_size()
        return rank * workers + wid, world * workers

    def __iter__(self) -> Iterator[tuple[dict[str, Any], Any]]:
        part, parts = self._part()
        source = self.kwargs.get("source") or SourceOptions()
        if source.spec is None:
            source = replace(source, spec=self._probe.spec)
        loader = NumpyLoader(
            self.data,
            label=self.label,
            **{**self.kwargs, "source": source},
            order=replace(self.order, rank=part, world_size=parts),
        )
        loader.epoch = self.epoch
        try:
            for features, label in loader:
                yield {k: _tensor(v) for k, v in features.items()}, _tensor(label)
        finally:
            loader.close()

    def __len__(self) -> int:
        """Batches per epoch read by a single process (with workers, each yields its share)."""
        return len(self._probe)


def _tensor(value: np.ndarray) -> Any:
    return value if value.dtype.kind == "O" else torch.from_numpy(value)


__all__ = ["TorchIterableDataset"]
