"""The training loop on in-memory tf.data: loss falls, and the documented files appear."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from models import TrainingOptionError  # noqa: E402
from models.data import TrainingData  # noqa: E402
from models.specs import CLASSIFICATION, REGRESSION, ModelInputs  # noqa: E402
from models.training import TrainOptions, fit  # noqa: E402

pytestmark = pytest.mark.requires_tf


def image_inputs(side: int = 12, classes: int = 3) -> ModelInputs:
    return ModelInputs(
        task=CLASSIFICATION,
        label="label",
        features=("pixels",),
        shapes={"pixels": (side * side,)},
        dtypes={"pixels": "int64"},
        image_shape=(side, side, 1),
        n_classes=classes,
    )


def memory_data(features, labels, inputs, eval_labels=None, batch_size=32) -> TrainingData:
    def batches(y, shuffle):
        ds = tf.data.Dataset.from_tensor_slices((features, y))
        return (ds.shuffle(len(y), seed=1) if shuffle else ds).batch(batch_size)

    n = len(labels)
    evaluation = batches(labels if eval_labels is None else eval_labels, False)
    return TrainingData(
        batches(labels, True),
        evaluation,
        inputs,
        math.ceil(n / batch_size),
        n,
        "tf.data",
        data="synthetic",
    )


QUIET = dict(tensorboard=False, export=False)


def test_regressor_learns_a_dollar_scale_target(housing, tmp_path):
    features, target = housing
    inputs = ModelInputs(
        task=REGRESSION,
        label="value",
        features=("a", "b", "c"),
        shapes={"a": (), "b": (), "c": ()},
        dtypes=dict.fromkeys("abc", "float32"),
        label_mean=float(target.mean()),
        label_std=float(target.std()),
    )
    data = memory_data(features, target, inputs)
    options = TrainOptions(
        epochs=4, learning_rate=0.01, loss="huber", huber_threshold=50_000.0, **QUIET
    )
    result = fit("housing", data, tmp_path / "h", options, emit=lambda _: None)
    assert result.history["rmse"][-1] < result.history["rmse"][0]
    assert result.evaluation["rmse"] < 0.5 * float(target.std())


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, images):
    """One run with everything on: TensorBoard, a schedule, export; eval labels rotated so that
    validation loss rises as the model learns, which makes early stopping fire."""
    pixels, labels = images
    data = memory_data({"pixels": pixels}, labels, image_inputs(), eval_labels=(labels + 1) % 3)
    lines: list[str] = []
    out = tmp_path_factory.mktemp("run")
    options = TrainOptions(epochs=8, patience=1, schedule="1cycle", learning_rate=0.05)
    result = fit("mlp", data, out, options, emit=lines.append)
    return result, lines, data


def test_documented_files_appear(full_run):
    result, lines, _ = full_run
    out = result.output
    for name in (
        "best.keras",
        "model.keras",
        "metrics.json",
        "learning_curves.png",
        "recio_model.json",
        "serving/saved_model.pb",
    ):
        assert (out / name).is_file(), name
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    runs = list((out / "logs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("run_")
    assert list((runs[0] / "train").glob("events.out.tfevents.*"))
    assert list((runs[0] / "validation").glob("events.out.tfevents.*"))
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == result.epochs_run
    assert epoch_lines[0].startswith("epoch 1/8  loss ") and " lr " in epoch_lines[0]


def test_early_stopping_keeps_the_best_epoch(full_run):
    result, _, data = full_run
    metrics = json.loads((result.output / "metrics.json").read_text())
    val = metrics["history"]["val_loss"]
    assert metrics["epochs_run"] == result.epochs_run < 8  # stopped early
    assert metrics["best_epoch"] == int(np.argmin(val)) + 1
    assert metrics["evaluation"]["loss"] == pytest.approx(min(val), rel=1e-4)
    from models.export import load_keras_model

    final = load_keras_model(result.output / "model.keras")
    best = load_keras_model(result.output / "best.keras")
    for a, b in zip(final.get_weights(), best.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    lr = metrics["history"]["learning_rate"]
    assert lr[0] != lr[-1]  # the 1cycle schedule moved the rate


def test_run_folder_guards(tmp_path, images):
    (tmp_path / "mine.txt").write_text("keep me")
    pixels, labels = images
    data = memory_data({"pixels": pixels[:64]}, labels[:64], image_inputs())
    with pytest.raises(TrainingOptionError, match="not a recio training run"):
        fit("mlp", data, tmp_path, TrainOptions(epochs=1, **QUIET))
    from models.device import detect

    if not detect().gpu:
        with pytest.raises(TrainingOptionError, match="needs a GPU"):
            fit("mlp", data, tmp_path / "gpu", TrainOptions(mixed_precision="on", **QUIET))
    with pytest.raises(TrainingOptionError, match="for the regressor"):
        fit("mlp", data, tmp_path / "loss", TrainOptions(loss="huber", **QUIET))


def write_examples(path, rows) -> None:
    from recordio import write_records
    from recordio.example import encode_example

    write_records(str(path), [encode_example(row) for row in rows])


def test_exported_model_scores_raw_examples_like_the_in_memory_model(full_run, tmp_path, images):
    from models.export import load_keras_model
    from models.predict import predict_records

    result, _, _ = full_run
    pixels, _ = images
    raw = tmp_path / "raw.tfrecord"
    write_examples(raw, [{"pixels": row} for row in pixels[:40]])
    served = list(predict_records(result.output, [str(raw)], batch_size=16))
    assert [row["record"] for row in served] == list(range(40))
    memory = load_keras_model(result.output / "model.keras").predict(
        {"pixels": pixels[:40].astype(np.float32)}, verbose=0
    )
    np.testing.assert_allclose([row["probabilities"] for row in served], memory, atol=1e-5)
    assert [row["class_id"] for row in served] == memory.argmax(axis=1).tolist()


def test_records_that_do_not_fit_the_signature_are_refused(full_run, tmp_path):
    from models import PredictError
    from models.predict import predict_records

    result, _, _ = full_run
    wrong = tmp_path / "wrong.tfrecord"
    write_examples(wrong, [{"image": [1.0] * 144}] * 3)
    with pytest.raises(
        PredictError, match=r"wrong.tfrecord: record 0: feature 'pixels' .*is missing; .*pixels"
    ):
        list(predict_records(result.output, [str(wrong)]))
    garbage = tmp_path / "garbage.tfrecord"
    from recordio import write_records

    write_records(str(garbage), [b"\xff\xff not a proto"])
    with pytest.raises(PredictError, match="garbage.tfrecord: record 0: ") as caught:
        list(predict_records(result.output, [str(garbage)]))
    assert "Graph execution error" not in str(caught.value), caught.value
    with pytest.raises(PredictError, match="no such directory"):
        list(predict_records(tmp_path / "nothing", [str(wrong)]))
    with pytest.raises(PredictError, match="no such file"):
        list(predict_records(result.output, [str(tmp_path / "missing.tfrecord")]))


def test_best_checkpoint_saves_atomically_on_improvement_only(tmp_path):
    from models.checkpoint import BestCheckpoint
    from models.export import load_keras_model

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = tmp_path / "best.keras"
    callback = BestCheckpoint(path, "val_loss")
    callback.set_model(model)
    saved = []
    for epoch, loss in enumerate([1.0, 2.0, 0.5, float("nan"), 0.5]):
        model.layers[0].kernel.assign(np.full((2, 1), float(epoch), np.float32))
        callback.on_epoch_end(epoch, {"loss": 9.0, "val_loss": loss})
        saved.append(float(np.asarray(load_keras_model(path).layers[0].kernel)[0, 0]))
    assert saved == [0.0, 0.0, 2.0, 2.0, 2.0]  # only epochs 1 and 3 improved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]  # no temp file left
    callback.on_epoch_end(5, {"loss": 0.1})  # the monitored value is missing: nothing saved
    assert float(np.asarray(load_keras_model(path).layers[0].kernel)[0, 0]) == 2.0
