"""NumpyLoader as a Keras 3 `PyDataset` (importing this module imports Keras)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import keras
import numpy as np

from pipeline.errors import LoaderError
from pipeline.loaders.numpy_loader import NumpyLoader

MAX_PEEK = 8


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return np.array(value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


class KerasPyDataset(keras.utils.PyDataset):
    """A NumpyLoader as a `keras.utils.PyDataset` (Keras 3, JAX/torch/TensorFlow backends).

    The loader's own workers make the batches, so Keras is told to use none (`workers=1`, no
    multiprocessing) and simply asks for the next batch. Keras shuffles the *indices* it asks for
    (fit's shuffle=True); they are ignored: batches come in the loader's own order, which is
    already shuffled, seeded and resumable.

    Args:
        loader: the NumpyLoader to serve.
        x: what a batch's inputs are: None = the features dict; a name = that array alone (for
            Sequential models); a list of names = a tuple of arrays.
    """

    def __init__(self, loader: NumpyLoader, *, x: str | Sequence[str] | None = None) -> None:
        super().__init__(workers=1, use_multiprocessing=False, max_queue_size=1)
        if not isinstance(loader, NumpyLoader):
            raise LoaderError("KerasPyDataset wraps a NumpyLoader")
        names = [x] if isinstance(x, str) else list(x or [])
        unknown = [n for n in names if n not in loader.features]
        if unknown:
            raise LoaderError(f"x names {', '.join(map(repr, unknown))}, not loaded features")
        self.loader = loader
        self.x = x
        self._it: Iterator[Any] | None = None
        self._in_epoch = False
        self._peeked: list[Any] | None = []
        self._replay: list[Any] = []

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def num_batches(self) -> int:
        return len(self.loader)

    def _inputs(self, features: dict[str, np.ndarray]) -> Any:
        if self.x is None:
            return features
        if isinstance(self.x, str):
            return features[self.x]
        return tuple(features[n] for n in self.x)

    def __getitem__(self, index: int) -> tuple[Any, np.ndarray]:
        if self._replay:
            return self._replay.pop(0)
        if self._it is None:
            self._it = iter(self.loader)
        batch = next(self._it, None)
        if batch is None:  # asked for more than an epoch: carry on with the next one
            self._it = iter(self.loader)
            batch = next(self._it, None)
            if batch is None:
                raise IndexError("the loader holds no records")
        features, label = batch
        out = (self._inputs(features), label)
        if not self._in_epoch and self._peeked is not None:
            # Keras (TensorFlow backend) looks at a couple of batches to learn their shapes
            # before the first epoch begins; they are served again as that epoch's first ones
            # so that its epochs and the loader's stay aligned.
            if len(self._peeked) < MAX_PEEK:
                self._peeked.append(_copy(out))
            else:  # epochs are not announced (a wrapper that drops on_epoch_begin): stop
                self._peeked = None
        return out

    def on_epoch_begin(self) -> None:
        self._in_epoch = True
        if self._peeked:
            self._replay = self._peeked
        self._peeked = []

    def on_epoch_end(self) -> None:
        self._in_epoch = False
        self._replay = []
        self._close_iterator()

    def _close_iterator(self) -> None:
        it, self._it = self._it, None
        if it is not None and hasattr(it, "close"):
            it.close()

    def state_dict(self) -> dict[str, Any]:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._close_iterator()
        self._replay = []
        self._peeked = []
        self.loader.load_state_dict(state)


__all__ = ["KerasPyDataset"]
