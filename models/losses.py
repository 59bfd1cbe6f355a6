"""The chapter-12 Huber loss as a Keras 3 Loss that survives a save/load round trip."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recio")
class HuberLoss(keras.losses.Loss):
    """Quadratic within `threshold` of the target, linear beyond: robust to outlying labels.

    `get_config` carries the threshold, so `keras.models.load_model` rebuilds the same loss.
    """

    def __init__(self, threshold: float = 1.0, name: str = "huber_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.threshold = float(threshold)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        if len(y_pred.shape) == len(y_true.shape) + 1 and y_pred.shape[-1] == 1:
            y_pred = ops.squeeze(y_pred, axis=-1)
        error = y_true - y_pred
        small = ops.abs(error) < self.threshold
        squared = ops.square(error) / 2
        linear = self.threshold * ops.abs(error) - self.threshold**2 / 2
        return ops.where(small, squared, linear)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}
