"""The training loop with the book's habits: best-epoch checkpoints, early stopping, TensorBoard,
a learning-rate schedule, optional clipping, mixed precision on a GPU, and a report on disk.

Layout of OUT (the `--output` folder):
  best.keras            best epoch only (val_loss; loss without eval data), saved atomically
  model.keras           the final model, best weights restored by EarlyStopping
  serving/              SavedModel: raw serialized tf.Examples in, predictions out (TF installed)
  metrics.json          per-epoch history, best epoch, final evaluation, timings, device
  learning_curves.png   loss and metric per epoch, train vs validation
  logs/run_YYYY_MM_DD-HH_MM_SS/   TensorBoard run (one folder per run, as in the book)
  recio_model.json      what predict/export need: model name, inputs, label, transform dir
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.errors import ModelError, TrainingOptionError
from models.run_folder import MANIFEST, check_output, staged_run


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class TrainOptions:
    """Knobs of one run; None means the model's default from the book."""

    epochs: int = 10
    batch_size: int = 32
    optimizer: str | None = None
    learning_rate: float | None = None
    schedule: str = "constant"
    clipnorm: float | None = None
    clipvalue: float | None = None
    patience: int = 10
    loss: str = "auto"
    huber_threshold: float = 1.0
    mixed_precision: str = "auto"
    tensorboard: bool = True
    export: bool = True
    seed: int = 42


@dataclass
class TrainResult:
    """Where the run left its files and how it went."""

    output: Path
    best_epoch: int | None
    epochs_run: int
    history: dict[str, list[float]]
    evaluation: dict[str, float]
    seconds: float
    serving_dir: Path | None
    log_dir: Path | None
    notes: list[str] = field(default_factory=list)

    @property
    def checkpoint(self) -> Path:
        return self.output / "best.keras"

    @property
    def model_path(self) -> Path:
        return self.output / "model.keras"

    @property
    def metrics_path(self) -> Path:
        return self.output / "metrics.json"

    @property
    def plot_path(self) -> Path:
        return self.output / "learning_curves.png"


def _validate(options: TrainOptions) -> None:
    from models.registry import SCHEDULES

    if options.epochs < 1:
        raise TrainingOptionError(
            f"epochs must be at least 1, got {options.epochs}", params=("epochs",)
        )
    if options.patience < 1:
        raise TrainingOptionError(
            f"patience must be at least 1, got {options.patience}", params=("patience",)
        )
    if options.schedule not in SCHEDULES:
        raise TrainingOptionError(
            f"unknown schedule {options.schedule!r}; choose one of: {', '.join(SCHEDULES)}"
        )
    if options.loss not in ("auto", "mse", "huber", "crossentropy"):
        raise TrainingOptionError(
            f"loss must be auto, mse, huber or crossentropy, not {options.loss!r}", params=("loss",)
        )
    if options.huber_threshold <= 0:
        raise TrainingOptionError(
            f"huber_threshold must be positive: {options.huber_threshold}",
            params=("huber_threshold",),
        )


def _loss_and_metrics(task: str, options: TrainOptions) -> tuple[Any, list[Any]]:
    import keras

    from models.losses import HuberLoss
    from models.specs import CLASSIFICATION

    if task == CLASSIFICATION:
        if options.loss in ("mse", "huber"):
            raise TrainingOptionError(
                f"loss={options.loss!r} is for the regressor; classifiers use crossentropy",
                params=("loss",),
            )
        return "sparse_categorical_crossentropy", ["accuracy"]
    if options.loss == "crossentropy":
        raise TrainingOptionError(
            "loss='crossentropy' is for classifiers; use mse or huber", params=("loss",)
        )
    loss = HuberLoss(options.huber_threshold) if options.loss == "huber" else "mse"
    return loss, [keras.metrics.RootMeanSquaredError(name="rmse")]


def _tensorboard(output: Path, options: TrainOptions, notes: list[str]) -> tuple[Any, Path | None]:
    """A TensorBoard callback writing to a fresh timestamped run folder (the book's habit).

    Keras' own callback needs TensorFlow's summary ops and the `tensorboard` package; without
    them (JAX/torch machines, slim installs) recio writes the per-epoch scalars itself.
    """
    if not options.tensorboard:
        return None, None
    import keras

    stamp = time.strftime("run_%Y_%m_%d-%H_%M_%S")
    log_dir = output / "logs" / stamp
    suffix = 1
    while log_dir.exists():
        suffix += 1
        log_dir = output / "logs" / f"{stamp}_{suffix}"
    full = keras.backend.backend() == "tensorflow" and importlib.util.find_spec("tensorboard")
    if full:
        return keras.callbacks.TensorBoard(log_dir=str(log_dir), profile_batch=0), log_dir
    from models.events import ScalarTensorBoard

    notes.append(
        "TensorBoard: per-epoch scalars only (Keras' callback needs TensorFlow and the "
        "tensorboard package on the TensorFlow backend)"
    )
    return ScalarTensorBoard(log_dir), log_dir


def fit(
    model_name: str,
    data: Any,
    output: Path,
    options: TrainOptions | None = None,
    *,
    emit: Callable[[str], None] = _stderr,
    overwrite: bool = False,
) -> TrainResult:
    """Train `model_name` on an opened `models.data.TrainingData` and write OUT's files.

    The run is written into a hidden sibling of OUT and takes OUT's name only once complete;
    an existing run in OUT is replaced only with `overwrite` (see `models.run_folder`).
    """
    from models import builders

    options = options or TrainOptions()
    _validate(options)
    builders.model_info(model_name)
    output = Path(output)
    with staged_run(output, overwrite=overwrite) as stage:
        result = _fit(model_name, data, stage, output, options, emit)
    if result.log_dir is not None:
        result.log_dir = output / result.log_dir.relative_to(stage)
    if result.serving_dir is not None:
        result.serving_dir = output / "serving"
    result.output = output
    return result


def _fit(
    model_name: str,
    data: Any,
    output: Path,
    final: Path,
    options: TrainOptions,
    emit: Callable[[str], None],
) -> TrainResult:
    """fit() into the staging folder `output`; `final` is the name the run will have."""
    import keras

    from models import builders, checkpoint, device, report, schedules
    from models.pace import EpochPace

    info = builders.model_info(model_name)
    notes: list[str] = []

    dev = device.detect()
    policy = device.precision_policy(options.mixed_precision, dev)
    keras.utils.set_random_seed(options.seed)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = builders.build_model(info.name, data.inputs)
    finally:
        keras.config.set_dtype_policy(previous_policy)

    rate = options.learning_rate if options.learning_rate is not None else info.learning_rate
    optimizer = schedules.make_optimizer(
        options.optimizer or info.optimizer,
        schedules.learning_rate(
            options.schedule, rate, steps_per_epoch=data.steps_per_epoch, epochs=options.epochs
        ),
        clipnorm=options.clipnorm,
        clipvalue=options.clipvalue,
    )
    loss, metrics = _loss_and_metrics(info.task, options)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)

    monitor = "val_loss" if data.eval is not None else "loss"
    if data.eval is None:
        notes.append("no evaluation data: checkpoints and early stopping follow the training loss")
    progress = report.EpochReport(options.epochs, data.train_records, monitor, emit)
    callbacks: list[Any] = [
        progress,
        checkpoint.BestCheckpoint(output / "best.keras", monitor),
        keras.callbacks.EarlyStopping(
            monitor=monitor, patience=options.patience, restore_best_weights=True
        ),
        *schedules.schedule_callbacks(options.schedule, monitor=monitor),
        EpochPace(data.steps_per_epoch, options.epochs, gpu=dev.gpu, emit=emit),
    ]
    tensorboard, log_dir = _tensorboard(output, options, notes)
    if tensorboard is not None:
        callbacks.append(tensorboard)

    manifest = {
        "model": info.name,
        "task": info.task,
        "inputs": data.inputs.to_json(),
        "data": os.path.abspath(data.data) if data.data else "",
        # absolute, so `recio export` and `recio predict` work from any folder
        "transform_dir": os.path.abspath(data.transform_dir) if data.transform_dir else None,
        "raw_label": data.raw_label,
        "backend": dev.backend,
        "keras": keras.__version__,
    }
    report.write_json(output / MANIFEST, manifest)
    emit(
        f"training {info.name} ({model.count_params():,} params) on {data.train_records:,} "
        f"records, {data.steps_per_epoch} steps/epoch, loader {data.loader}, "
        f"{dev.describe()}, {policy}"
    )
    for note in notes:
        emit(f"note: {note}")

    started = time.perf_counter()
    with warnings.catch_warnings():
        # tf.data from files has no known length: Keras learns it when the first epoch ends
        # and warns about "running out of data", which is expected here.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        with _data_errors_named(data):
            model.fit(
                data.train,
                validation_data=data.eval,
                epochs=options.epochs,
                callbacks=callbacks,
                shuffle=False,  # the loaders shuffle; Keras' flag only applies to in-memory arrays
                verbose=0,
            )
    seconds = time.perf_counter() - started

    evaluation: dict[str, float] = {}
    if data.eval is not None:
        with warnings.catch_warnings(), _data_errors_named(data):
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            values = model.evaluate(data.eval, verbose=0, return_dict=True)
        evaluation = {k: float(v) for k, v in values.items()}
        shown = "  ".join(f"{k} {report.number(v)}" for k, v in evaluation.items())
        emit(f"best weights (epoch {progress.best_epoch}) on the evaluation data: {shown}")

    checkpoint.save_keras(model, output / "model.keras")
    serving_dir = None
    if options.export:
        serving_dir, export_note = export_after_training(output, model, data, final=final)
        if export_note:
            notes.append(export_note)
            emit(f"note: {export_note}")

    history = progress.history
    report.write_json(
        output / "metrics.json",
        {
            "model": info.name,
            "params": model.count_params(),
            "trainable_params": sum(int(_size(w)) for w in model.trainable_weights),
            "backend": dev.backend,
            "device": dev.name,
            "gpu": dev.gpu,
            "dtype_policy": policy,
            "loader": data.loader,
            "train_records": data.train_records,
            "steps_per_epoch": data.steps_per_epoch,
            "options": asdict(options),
            "monitor": monitor,
            "best_epoch": progress.best_epoch,
            "best_value": progress.best,
            "epochs_run": len(history.get("loss", [])),
            "history": history,
            "evaluation": evaluation,
            "seconds": seconds,
            "records_per_second": (
                data.train_records * len(history.get("loss", [])) / seconds if seconds else None
            ),
            "notes": notes,
        },
    )
    report.plot_learning_curves(
        history, output / "learning_curves.png", f"{info.name} on {Path(str(data.data)).name}"
    )
    return TrainResult(
        output=output,
        best_epoch=progress.best_epoch,
        epochs_run=len(history.get("loss", [])),
        history=history,
        evaluation=evaluation,
        seconds=seconds,
        serving_dir=serving_dir,
        log_dir=log_dir,
        notes=notes,
    )


def _size(weight: Any) -> int:
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size


def export_after_training(
    output: Path, model: Any, data: Any, *, final: Path | None = None
) -> tuple[Path | None, str | None]:
    """Write OUT/serving in-process on the TF backend, in a TF subprocess on others, else skip.

    `final` is the name the run will have (OUT may be its staging folder), for the messages."""
    final = final or output
    import keras

    from models.export import export_run

    if keras.backend.backend() == "tensorflow":
        return export_run(output, model=model), None
    if importlib.util.find_spec("tensorflow") is None:
        return None, (
            "serving SavedModel skipped: TensorFlow is not installed; model.keras is saved, "
            f"export later with `recio export {final}` where TensorFlow is"
        )
    import subprocess

    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "models.export", str(output)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ModelError(f"exporting {final}/serving in a TensorFlow subprocess failed: {tail}")
    return output / "serving", None


def train(
    model_name: str,
    data: str,
    output: str | Path,
    *,
    label: str | None = None,
    features: Sequence[str] | None = None,
    eval_data: str | None = None,
    classes: int | None = None,
    loader: str = "auto",
    options: TrainOptions | None = None,
    emit: Callable[[str], None] = _stderr,
    overwrite: bool = False,
) -> TrainResult:
    """`recio train`: open the data with the backend's loader, train, report and export.

    An existing run in `output` is refused unless `overwrite`; it is then replaced atomically.
    """
    from models.data import LOADERS, open_loaders, plan_data
    from models.registry import model_info

    options = options or TrainOptions()
    _validate(options)
    if loader not in LOADERS:
        raise TrainingOptionError(
            f"loader must be one of {', '.join(LOADERS)}, not {loader!r}", params=("loader",)
        )
    info = model_info(model_name)
    check_output(Path(output), overwrite=overwrite)
    plan = plan_data(
        data,
        task=info.task,
        kind=info.kind,
        label=label,
        features=features,
        eval_data=eval_data,
        n_classes=classes,
        batch_size=options.batch_size,
    )

    from models.device import detect, has_tensorflow, quiet_native_startup

    with quiet_native_startup():
        import keras

        detect()
        if has_tensorflow():
            # Keras imports TF later on any backend when it is installed (file I/O in saving);
            # doing it here keeps TF's start-up chatter out of the training log.
            import tensorflow  # noqa: F401
    opened = open_loaders(plan, loader=loader, backend=keras.backend.backend(), seed=options.seed)
    return fit(info.name, opened, Path(output), options, emit=emit, overwrite=overwrite)


@contextlib.contextmanager
def _data_errors_named(data: Any) -> Iterator[None]:
    """TensorFlow's failures on records that do not fit become a DataSpecError naming them."""
    try:
        yield
    except Exception as error:
        from models.data_errors import training_data_error

        found = training_data_error(error, getattr(data, "plan", None))
        if found is None:
            raise
        raise found from None
