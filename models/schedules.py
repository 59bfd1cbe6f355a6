"""Chapter 11's learning-rate schedules, expressed in optimizer steps so they work on any backend.

`exponential`, `piecewise` and `1cycle` are LearningRateSchedule objects (saved with the model);
`plateau` is the ReduceLROnPlateau callback, which needs a plain float learning rate.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from models.errors import TrainingOptionError
from models.registry import SCHEDULES

__all__ = ["SCHEDULES", "OneCycle", "learning_rate", "make_optimizer", "schedule_callbacks"]


@keras.saving.register_keras_serializable(package="recio")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """1cycle: linear warm-up to `max_rate` over the first half, back down, then a short anneal.

    Like the book's OneCycleScheduler callback, but as a schedule so it is exact per step and
    does not depend on the callback API of a backend.
    """

    def __init__(
        self,
        max_rate: float,
        total_steps: int,
        start_rate: float | None = None,
        last_rate: float | None = None,
    ) -> None:
        self.max_rate = float(max_rate)
        self.total_steps = int(total_steps)
        self.start_rate = float(start_rate if start_rate is not None else max_rate / 10)
        self.last_rate = float(last_rate if last_rate is not None else self.start_rate / 1000)

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        half = max(1.0, float(int(self.total_steps * 0.45)))
        up_end, down_end = half, 2 * half
        tail = max(1.0, self.total_steps - down_end)
        rising = self.start_rate + (self.max_rate - self.start_rate) * step / up_end
        falling = self.max_rate - (self.max_rate - self.start_rate) * (step - up_end) / half
        fraction = ops.minimum((step - down_end) / tail, 1.0)
        annealing = self.start_rate - (self.start_rate - self.last_rate) * fraction
        return ops.where(step < up_end, rising, ops.where(step < down_end, falling, annealing))

    def get_config(self) -> dict[str, Any]:
        return {
            "max_rate": self.max_rate,
            "total_steps": self.total_steps,
            "start_rate": self.start_rate,
            "last_rate": self.last_rate,
        }


def learning_rate(name: str, rate: float, *, steps_per_epoch: int, epochs: int) -> Any:
    """The optimizer's learning_rate argument for schedule `name` (a float or a schedule).

    exponential: rate * 0.1 ** (epoch / 20), per step (the book's s = 20 epochs);
    piecewise: rate, then rate/2 after half the epochs, rate/10 after three quarters;
    1cycle: up to `rate` and back over all the training steps.
    """
    if rate <= 0:
        raise TrainingOptionError(f"the learning rate must be positive, got {rate}")
    steps_per_epoch = max(1, int(steps_per_epoch))
    total = max(2, steps_per_epoch * max(1, epochs))
    if name in ("constant", "plateau"):
        return float(rate)
    if name == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            rate, decay_steps=20 * steps_per_epoch, decay_rate=0.1
        )
    if name == "piecewise":
        boundaries = sorted({max(1, total // 2), max(2, (3 * total) // 4)})
        values = [rate, rate / 2, rate / 10][: len(boundaries) + 1]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    if name == "1cycle":
        return OneCycle(rate, total)
    raise TrainingOptionError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")


def schedule_callbacks(name: str, *, monitor: str) -> list[keras.callbacks.Callback]:
    """Callbacks a schedule needs (only reduce-on-plateau works through a callback)."""
    if name == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=5)]
    return []


def make_optimizer(
    name: str, rate: Any, *, clipnorm: float | None = None, clipvalue: float | None = None
) -> keras.optimizers.Optimizer:
    """An optimizer by the book's names, with optional gradient clipping (ch. 11)."""
    if clipnorm is not None and clipvalue is not None:
        raise TrainingOptionError(
            "give clipnorm or clipvalue, not both", params=("clipnorm", "clipvalue")
        )
    for label, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
        if value is not None and value <= 0:
            raise TrainingOptionError(f"--{label} must be positive, got {value}")
    clip: dict[str, float] = {}
    if clipnorm is not None:
        clip["clipnorm"] = float(clipnorm)
    if clipvalue is not None:
        clip["clipvalue"] = float(clipvalue)
    key = name.lower()
    if key == "sgd":
        return keras.optimizers.SGD(learning_rate=rate, **clip)
    if key == "momentum":
        return keras.optimizers.SGD(learning_rate=rate, momentum=0.9, nesterov=True, **clip)
    factories = {
        "adam": keras.optimizers.Adam,
        "nadam": keras.optimizers.Nadam,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
    }
    if key not in factories:
        raise TrainingOptionError(
            f"unknown optimizer {name!r}; choose one of: sgd, momentum, {', '.join(factories)}"
        )
    return factories[key](learning_rate=rate, **clip)
