"""Small backend-agnostic layers the builders need (no TensorFlow ops, so JAX and torch work)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recio")
class OneHot(keras.layers.Layer):
    """Integer category ids -> one-hot rows; ids outside [0, depth) (e.g. -1 = unknown) -> zeros."""

    def __init__(self, depth: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.depth = int(depth)

    def call(self, inputs: Any) -> Any:
        ids = ops.cast(ops.reshape(inputs, (-1,)), "int32")
        valid = ops.logical_and(ids >= 0, ids < self.depth)
        safe = ops.where(valid, ids, ops.zeros_like(ids))
        hot = ops.one_hot(safe, self.depth, dtype=self.compute_dtype)
        return hot * ops.cast(ops.expand_dims(valid, -1), self.compute_dtype)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, int]:
        return (input_shape[0], self.depth)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "depth": self.depth}
