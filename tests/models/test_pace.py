"""EpochPace: an estimate of the epoch time after the first steps, a warning on a CPU."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")


def _fit(callback: object, steps: int) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    x = np.zeros((steps * 8, 4), np.float32)
    model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0, callbacks=[callback])


def test_warns_once_on_a_cpu_when_the_epoch_will_be_long() -> None:
    from models.pace import EpochPace

    lines: list[str] = []
    pace = EpochPace(40, 5, gpu=False, emit=lines.append, long_s=0.0)
    _fit(pace, 40)
    assert pace.estimate is not None and pace.estimate > 0
    assert len(lines) == 1 and lines[0].startswith("warning: about ") and "CPU" in lines[0]
    assert "for 5 epochs" in lines[0]


def test_quiet_when_short_or_too_few_steps() -> None:
    from models.pace import EpochPace

    lines: list[str] = []
    _fit(EpochPace(40, 5, gpu=False, emit=lines.append), 40)  # far below a minute
    _fit(EpochPace(3, 5, gpu=False, emit=lines.append, long_s=0.0), 3)  # nothing to measure
    assert lines == []
