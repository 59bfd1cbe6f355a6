"""`recio demo`: chapter 13 end to end on built-in data, one step after another.

1. recordio: make Fashion-MNIST-shaped images, write them as sharded GZIP TFRecords of
   tf.train.Examples, read every record back, check it and verify the files.
2. pipeline: generate a tabular CSV and run the tf.Transform job on it (z-score, min-max,
   vocabulary; deterministic train/eval split), which writes transformed shards + transform_fn.
3. models: train the book's MLP on the image shards and a small regressor on the transformed
   rows, with best-epoch checkpoints, early stopping and TensorBoard logs.
4. serving: score raw, untransformed records with the exported SavedModel, which applies the
   tf.Transform graph itself, and compare with the labels.

Every file lands under one work folder; nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from models.training import TrainOptions, train


@dataclass(slots=True)
class DemoResult:
    """Headline figures of each step, for the summary and for tests."""

    workdir: str
    image_records: int = 0
    image_files: list[str] = field(default_factory=list)
    tabular_rows: dict[str, int] = field(default_factory=dict)
    mlp_accuracy: float | None = None
    regressor_rmse: float | None = None
    served_records: int = 0
    served_accuracy: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def _step(result: DemoResult, name: str, emit: Callable[[str], None]) -> Callable[[], None]:
    emit(f"== {name}")
    started = time.perf_counter()

    def done() -> None:
        result.seconds[name] = time.perf_counter() - started

    return done


def run_chapter13(
    workdir: str,
    *,
    image_records: int = 10_000,
    tabular_rows: int = 20_000,
    epochs: int = 3,
    emit: Callable[[str], None] = print,
) -> DemoResult:
    """Run the whole chain under `workdir` (replacing an earlier demo's files there)."""
    from pipeline import TransformJobOptions, parse_schema, run_transform_job
    from pipeline.demo_data import write_people_csv
    from recordio import text_to_tfrecords
    from recordio.demo import run_recordio_demo

    root = Path(workdir)
    for old in ("data", "raw", "people", "runs"):
        shutil.rmtree(root / old, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    result = DemoResult(workdir=str(root))

    done = _step(result, "1/4 recordio: write, read back and verify sharded GZIP Examples", emit)
    shards = run_recordio_demo(str(root), image_records, shards=4)
    result.image_records, result.image_files = shards.records, shards.files
    emit(
        f"   {shards.records:,} Examples in {len(shards.files)} shards, "
        f"{shards.file_bytes / 1e6:.1f} MB; read back identical; verify "
        + ("clean" if shards.verified else "FOUND DAMAGE")
    )
    done()

    done = _step(result, "2/4 tf.Transform: analyze the train split, transform both splits", emit)
    csv_path = write_people_csv(root / "raw" / "people.csv", tabular_rows, seed=7)
    job = run_transform_job(
        TransformJobOptions(
            inputs=(str(csv_path),),
            output=str(root / "people"),
            schema=parse_schema(_people_schema(), source="built-in people schema"),
            label="label",
            key="id",
            overwrite=True,
        )
    )
    result.tabular_rows = {name: split.rows for name, split in job.splits.items()}
    emit("   " + ", ".join(f"{name}: {rows:,} rows" for name, rows in result.tabular_rows.items()))
    done()

    options = TrainOptions(epochs=epochs, batch_size=128, patience=2)
    done = _step(result, "3/4 train the MLP on the image shards and a regressor on the rows", emit)
    mlp = train(
        "mlp",
        str(root / "data"),
        root / "runs" / "mlp",
        label="label",
        options=options,
        emit=lambda line: emit(f"   mlp {line}"),
    )
    result.mlp_accuracy = _last(mlp.history, "accuracy")
    regressor = train(
        "housing",
        str(root / "people"),
        root / "runs" / "regressor",
        options=options,
        emit=lambda line: emit(f"   regressor {line}"),
    )
    result.regressor_rmse = regressor.evaluation.get("rmse")
    done()

    done = _step(result, "4/4 serve: score raw records through the exported SavedModel", emit)
    raw = str(root / "raw" / "people-raw.tfrecord")
    text_to_tfrecords(raw, [str(csv_path)])
    served, correct = _score(root / "runs" / "regressor", raw)
    result.served_records = served
    result.served_accuracy = correct / served if served else None
    emit(
        f"   {served:,} raw records scored; thresholded at 0.5 the predictions match "
        f"{result.served_accuracy:.1%} of the labels"
    )
    done()
    return result


def _people_schema() -> dict[str, object]:
    """The generator's schema, minus the id as a model input (it stays the split key)."""
    from pipeline.demo_data import people_schema_dict

    schema = people_schema_dict()
    for column in schema["columns"]:
        if column["name"] == "id":
            column["transform"] = "drop"
    return schema


def _last(history: dict[str, list[float]], name: str) -> float | None:
    values = history.get(name)
    return float(values[-1]) if values else None


def _score(run_dir: Path, raw_file: str) -> tuple[int, int]:
    from models.predict import predict_records
    from recordio import decode_example, read_records

    labels = [decode_example(record)["label"][0] for record in read_records(raw_file)]
    served = correct = 0
    for label, scored in zip(labels, predict_records(run_dir, [raw_file]), strict=True):
        served += 1
        correct += int((scored["prediction"] >= 0.5) == bool(label))
    return served, correct


def demo_workdir(path: str | None) -> str:
    return os.path.abspath(path or "recio-demo")


__all__ = ["DemoResult", "demo_workdir", "run_chapter13"]
