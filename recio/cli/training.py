"""`recio train` and `recio predict`: thin wrappers over models.training and models.predict.

Keras and TensorFlow are imported inside the command bodies, after the cheap checks, so a wrong
path fails in a fraction of a second and `recio --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from recio.cli import _extras


def _quiet_tensorflow() -> None:
    """TF's C++ start-up chatter (CUDA probing, oneDNN notes) is not for the terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def train(
    model: Annotated[str, typer.Argument(help="mlp, bn-mlp, cnn or housing.")],
    data: Annotated[
        str,
        typer.Option(
            "--data", help="`recio job transform` output, or Example TFRecords (dir/glob)."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Run folder [default: runs/MODEL].")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Label column [default: the job's].")] = None,
    features: Annotated[
        str | None, typer.Option(help="Comma-separated input features [default: all but label].")
    ] = None,
    eval_data: Annotated[
        str | None, typer.Option("--eval-data", help="Validation data when DIR has no eval split.")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Most epochs to run.")] = 10,
    batch_size: Annotated[int, typer.Option(help="Records per step.")] = 32,
    optimizer: Annotated[
        str | None,
        typer.Option(help="sgd, momentum, adam, nadam, rmsprop, adamw [default: the book's]."),
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option("--learning-rate", "--lr", help="Initial or peak rate.")
    ] = None,
    schedule: Annotated[
        str, typer.Option(help="constant, exponential, piecewise, 1cycle or plateau.")
    ] = "constant",
    clipnorm: Annotated[float | None, typer.Option(help="Clip each gradient's norm.")] = None,
    clipvalue: Annotated[float | None, typer.Option(help="Clip gradient values.")] = None,
    patience: Annotated[int, typer.Option(help="Early-stopping patience in epochs.")] = 10,
    loss: Annotated[str, typer.Option(help="auto, mse or huber (regressor).")] = "auto",
    huber_threshold: Annotated[float, typer.Option(help="Huber loss threshold.")] = 1.0,
    classes: Annotated[
        int | None, typer.Option(help="Class count [default: from the labels].")
    ] = None,
    loader: Annotated[
        str, typer.Option(help="auto (tf.data on TensorFlow, else numpy), tf or numpy.")
    ] = "auto",
    mixed_precision: Annotated[
        str, typer.Option("--mixed-precision", help="auto (on a GPU), on or off.")
    ] = "auto",
    tensorboard: Annotated[bool, typer.Option(help="Write TensorBoard logs.")] = True,
    export: Annotated[bool, typer.Option(help="Write the serving SavedModel.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed for weights and shuffling.")] = 42,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace an existing run in the output folder (kept until the new one is done).",
        ),
    ] = False,
) -> None:
    """Train one of the book's models on recio data, with checkpoints, early stopping and logs.

    Writes best.keras, model.keras, serving/ (raw tf.Examples in), metrics.json,
    learning_curves.png and logs/run_<time>/ into the output folder. The run is built in a
    hidden sibling folder and renamed into place when complete; an existing run is replaced
    only with --overwrite, and an interrupted run leaves the old one untouched.

    Example: recio train housing --data out/housing --epochs 20 --schedule 1cycle --lr 0.01
    """
    backend = os.environ.get("KERAS_BACKEND", "").strip().lower()
    backend_extra = [backend] if backend in ("jax", "torch") else []
    _extras.require(
        "train", *backend_extra, what=f"recio train (KERAS_BACKEND={backend or 'tensorflow'})"
    )
    _quiet_tensorflow()
    from models.training import TrainOptions
    from models.training import train as run_training

    options = TrainOptions(
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        schedule=schedule,
        clipnorm=clipnorm,
        clipvalue=clipvalue,
        patience=patience,
        loss=loss,
        huber_threshold=huber_threshold,
        mixed_precision=mixed_precision,
        tensorboard=tensorboard,
        export=export,
        seed=seed,
    )
    result = run_training(
        model,
        data,
        output if output is not None else Path("runs") / model.lower(),
        label=label,
        features=[f.strip() for f in features.split(",") if f.strip()] if features else None,
        eval_data=eval_data,
        classes=classes,
        loader=loader,
        options=options,
        overwrite=overwrite,
    )
    typer.echo(
        f"best epoch {result.best_epoch} of {result.epochs_run}; "
        f"model, checkpoint, metrics.json and learning_curves.png in {result.output}",
        err=True,
    )


def predict(
    model_dir: Annotated[Path, typer.Argument(help="A `recio train` output folder.")],
    files: Annotated[list[str], typer.Argument(help="TFRecord files of raw tf.Examples.")],
    batch_size: Annotated[int, typer.Option(help="Records per call.")] = 256,
    output_format: Annotated[
        str, typer.Option("--format", help="jsonl (one JSON object per record) or table.")
    ] = "jsonl",
) -> None:
    """Score raw serialized tf.Examples with a trained model's serving signature.

    The records hold the raw features (as before `recio job transform`); the SavedModel applies
    the transform itself. Prints one line per record to stdout.

    Example: recio predict runs/housing data/new-houses.tfrecord --format table
    """
    _extras.require("tf", "train", what="recio predict")
    _quiet_tensorflow()
    from models.predict import format_rows, predict_records

    rows = predict_records(model_dir, files, batch_size=batch_size)
    for line in format_rows(rows, output_format):
        sys.stdout.write(line + "\n")


def export(
    run_dir: Annotated[Path, typer.Argument(help="A `recio train` output folder.")],
) -> None:
    """Write RUN_DIR/serving, the raw-Example SavedModel, from RUN_DIR/model.keras.

    For runs trained where TensorFlow is absent (JAX or torch on a GPU machine): copy the run
    folder (and the transform output it names) to a machine with TensorFlow and export there.

    Example: recio export runs/cnn
    """
    _extras.require("tf", "train", what="recio export")
    _quiet_tensorflow()
    os.environ["KERAS_BACKEND"] = "tensorflow"  # a SavedModel is a TensorFlow artefact
    from models.device import detect, quiet_native_startup
    from models.export import export_run, load_manifest

    load_manifest(run_dir)  # a clear error before TensorFlow loads
    with quiet_native_startup():
        detect()  # imports Keras and probes devices, where TF's chatter comes from
    typer.echo(str(export_run(run_dir)))


def register(app: typer.Typer) -> None:
    """Add `train`, `predict` and `export` to the root app."""
    app.command("train")(train)
    app.command("predict")(predict)
    app.command("export")(export)
