"""NumpyLoader batches as global `jax.Array`s sharded over devices (importing this imports jax).

    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    loader = NumpyLoader("out/", label="label", batch_size=256,
                         order=OrderOptions(rank=jax.process_index(),
                                            world_size=jax.process_count(),
                                            drop_remainder=True))
    for features, label in JaxBatches(loader, sharding):   # global batch: 256 x processes
        state = train_step(state, features, label)

Each process reads its own part of the data (rank/world_size) and contributes its batch as its
rows of the global batch (`jax.make_array_from_process_local_data`): with one process it is
simply the batch, split over the local devices. Batches are put on the devices `prefetch` ahead
of the one being used, so the copy to the device overlaps the step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from pipeline.errors import LoaderError, LoaderOptionError

try:
    import jax
except ImportError as error:  # pragma: no cover - depends on the environment
    raise LoaderError(
        "JaxBatches needs jax, which is not installed; install it with: pip install 'recio[jax]'"
    ) from error

from pipeline.loaders.numpy_loader import NumpyLoader


def data_parallel_sharding() -> Any:
    """Rows split over every device of every process (a 1-D "data" mesh)."""
    mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("data",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))


class JaxBatches:
    """Iterate a NumpyLoader as `(features, label)` of global `jax.Array`s.

    Args:
        loader: this process's NumpyLoader; with several processes its order.rank and
            world_size must be jax.process_index() and jax.process_count(), and every process
            must yield the same number of equal-size batches (drop_remainder=True).
        sharding: how a global batch is laid out (default: rows over all devices). The rows of
            a batch must divide evenly over the devices its leading axis is split on.
        prefetch: batches put on the devices ahead of the one being consumed.

    Bytes features cannot live on a device: they are passed through as numpy object arrays.
    """

    def __init__(self, loader: NumpyLoader, sharding: Any = None, *, prefetch: int = 2) -> None:
        if not isinstance(loader, NumpyLoader):
            raise LoaderError("JaxBatches wraps a NumpyLoader")
        if not isinstance(prefetch, int) or isinstance(prefetch, bool) or prefetch < 0:
            raise LoaderOptionError(
                f"prefetch must be an integer >= 0, got {prefetch!r}", params=("prefetch",)
            )
        processes = jax.process_count()
        if processes > 1 and (loader.world_size, loader.rank) != (processes, jax.process_index()):
            raise LoaderOptionError(
                f"with {processes} JAX processes the loader must read part "
                f"{jax.process_index()} of {processes} (order rank/world_size), not "
                f"{loader.rank} of {loader.world_size}",
                params=("rank", "world_size"),
            )
        self.loader = loader
        self.sharding = sharding if sharding is not None else data_parallel_sharding()
        self.prefetch = prefetch
        # On CPU devices jax may keep using the numpy memory it was given: the loader reuses its
        # batch buffers, so those get a copy of their own.
        self._copy = any(d.platform == "cpu" for d in self.sharding.addressable_devices)

    def __len__(self) -> int:
        return len(self.loader)

    def _put(self, value: np.ndarray) -> Any:
        if value.dtype.kind == "O":
            return value
        if self._copy:
            value = np.array(value)
        global_shape = (value.shape[0] * jax.process_count(), *value.shape[1:])
        try:
            return jax.make_array_from_process_local_data(self.sharding, value, global_shape)
        except (ValueError, TypeError) as error:
            raise LoaderError(
                f"cannot place a batch of {value.shape[0]} rows on the sharding {self.sharding}: "
                f"{error} (use a batch_size the devices divide and order drop_remainder=True)"
            ) from None

    def _device(self, batch: tuple[dict[str, np.ndarray], np.ndarray]) -> tuple[Any, Any]:
        features, label = batch
        return {k: self._put(v) for k, v in features.items()}, self._put(label)

    def __iter__(self) -> Iterator[tuple[dict[str, Any], Any]]:
        ahead: deque[tuple[tuple[Any, Any], dict[str, Any]]] = deque()
        for batch in self.loader:
            ahead.append((self._device(batch), self.loader.state_dict()))
            del batch
            if len(ahead) > self.prefetch:
                out, self._state = ahead.popleft()
                yield out
        while ahead:
            out, self._state = ahead.popleft()
            yield out

    _state: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        """Where the batches handed out so far end (prefetched ones not counted): resume
        with load_state_dict, in this process or a fresh one."""
        return self._state if self._state is not None else self.loader.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._state = None
        self.loader.load_state_dict(state)


__all__ = ["JaxBatches", "data_parallel_sharding"]
