"""Learning-rate schedules, optimizers with clipping, and the Huber loss's save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from models import TrainingOptionError  # noqa: E402
from models.losses import HuberLoss  # noqa: E402
from models.schedules import OneCycle, learning_rate, make_optimizer  # noqa: E402


def rate_at(schedule, step: int) -> float:
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_one_cycle_rises_peaks_and_anneals():
    schedule = OneCycle(0.1, total_steps=1000)
    assert rate_at(schedule, 0) == pytest.approx(0.01)
    assert rate_at(schedule, 450) == pytest.approx(0.1)
    assert rate_at(schedule, 225) == pytest.approx(0.055)
    assert rate_at(schedule, 900) == pytest.approx(0.01)
    assert rate_at(schedule, 1000) == pytest.approx(1e-5, rel=1e-3)
    assert rate_at(schedule, 5000) == pytest.approx(1e-5, rel=1e-3)  # stays at the floor
    clone = OneCycle.from_config(schedule.get_config())
    assert rate_at(clone, 300) == pytest.approx(rate_at(schedule, 300))


def test_exponential_and_piecewise_follow_the_book():
    exponential = learning_rate("exponential", 0.01, steps_per_epoch=10, epochs=40)
    assert rate_at(exponential, 200) == pytest.approx(0.001)  # 0.1x after 20 epochs
    piecewise = learning_rate("piecewise", 0.01, steps_per_epoch=10, epochs=4)
    assert [rate_at(piecewise, s) for s in (0, 25, 35)] == pytest.approx([0.01, 0.005, 0.001])
    assert learning_rate("plateau", 0.02, steps_per_epoch=5, epochs=2) == 0.02
    with pytest.raises(TrainingOptionError, match="unknown schedule"):
        learning_rate("cosine", 0.01, steps_per_epoch=1, epochs=1)
    with pytest.raises(TrainingOptionError, match="positive"):
        learning_rate("constant", 0.0, steps_per_epoch=1, epochs=1)


def test_optimizers_and_clipping():
    optimizer = make_optimizer("momentum", 0.1, clipnorm=1.0)
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.momentum == 0.9 and optimizer.nesterov and optimizer.clipnorm == 1.0
    assert make_optimizer("nadam", 1e-3, clipvalue=0.5).clipvalue == 0.5
    with pytest.raises(TrainingOptionError, match="not both"):
        make_optimizer("sgd", 0.1, clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(TrainingOptionError, match="unknown optimizer"):
        make_optimizer("lion2", 0.1)


def test_huber_loss_values():
    loss = HuberLoss(2.0, reduction=None)
    # |error| 8 > 2: 2*8 - 2 = 14 (the book's HuberMetric(2.) check); |error| 1 < 2: 0.5
    values = keras.ops.convert_to_numpy(loss(np.array([2.0, 0.0]), np.array([10.0, 1.0])))
    np.testing.assert_allclose(values, [14.0, 0.5])


def test_huber_loss_survives_save_and_load(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=HuberLoss(2.0))
    model.fit(np.ones((8, 3)), np.ones(8), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    from models.export import load_keras_model

    loaded = load_keras_model(tmp_path / "m.keras")
    assert isinstance(loaded.loss, HuberLoss)
    assert loaded.loss.threshold == 2.0
