"""Whole-model `.keras` files written atomically: a kill mid-save never leaves half a checkpoint.

Keras' ModelCheckpoint writes straight to the final name, so a run killed while saving loses the
previous best epoch too; `BestCheckpoint` saves through a temp name and a rename instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras


def save_keras(model: keras.Model, path: Path) -> None:
    """model.save through a temp name in the same folder, then a rename."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")  # Keras insists on the .keras suffix
    try:
        model.save(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model whenever `monitor` (a loss: lower is better) reaches a new best."""

    def __init__(self, path: str | Path, monitor: str) -> None:
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = math.inf

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)) or float(value) >= self.best:
            return
        self.best = float(value)
        save_keras(self.model, self.path)
