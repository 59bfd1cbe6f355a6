"""Say early how long an epoch will take, and warn when that is long on a CPU.

`recio train cnn` on a laptop CPU takes minutes per epoch: the person should learn so after a
few steps, not after the first epoch. The first step (compilation) is left out of the estimate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras

LONG_EPOCH_S = 60.0
MIN_STEPS = 3
MAX_STEPS = 50
MEASURE_S = 2.0


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class EpochPace(keras.callbacks.Callback):
    """After the first steps of training: one line with the estimated time per epoch when it is
    longer than `long_s` (a warning on a CPU, with what to do about it)."""

    def __init__(self, steps_per_epoch: int | None, epochs: int, *, gpu: bool,
                 emit: Callable[[str], None], long_s: float = LONG_EPOCH_S) -> None:  # fmt: skip
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.gpu = gpu
        self.emit = emit
        self.long_s = long_s
        self.estimate: float | None = None
        self._t0: float | None = None
        self._steps = 0
        self._done = not steps_per_epoch or steps_per_epoch <= MIN_STEPS + 1

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self._done:
            return
        now = time.perf_counter()
        if self._t0 is None:  # the first step compiles: time from its end
            self._t0 = now
            return
        self._steps += 1
        elapsed = now - self._t0
        assert self.steps_per_epoch is not None
        enough = min(MAX_STEPS, max(MIN_STEPS, self.steps_per_epoch // 4))
        if self._steps < MIN_STEPS or (elapsed < MEASURE_S and self._steps < enough):
            return
        self._done = True
        self.estimate = elapsed / self._steps * self.steps_per_epoch
        if self.estimate <= self.long_s:
            return
        total = _duration(self.estimate * self.epochs)
        line = f"about {_duration(self.estimate)} per epoch ({total} for {self.epochs} epochs)"
        if self.gpu:
            self.emit(f"note: {line}")
        else:
            self.emit(
                f"warning: {line} on this CPU: try fewer --epochs, a smaller model or a GPU "
                "machine (KERAS_BACKEND=jax with recio[jax])"
            )

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._done = True  # the epoch itself says how long it took


__all__ = ["EpochPace"]
