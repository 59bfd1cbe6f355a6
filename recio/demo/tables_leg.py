"""The tables leg: housing CSV -> csv job -> transform job -> regressor -> SavedModel on raw rows.

The csv job turns the CSV into raw Examples (blanks stay absent); the transform job analyzes the
train split (means, ranges, quantiles, the vocabulary) and transforms both splits; the regressor
trains on the transformed train split with the label left in dollars; the exported SavedModel,
which carries the tf.Transform graph, then scores the csv job's raw Examples and the held-out
rows among them give the RMSE in dollars, next to what predicting the mean would score.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recio.demo import housing
from recio.demo.report import DemoReport, Stage


@dataclass(frozen=True, slots=True)
class TableSizes:
    """How much the leg does: the user's CSV or `rows` generated ones, epochs, batch size."""

    housing_csv: str | None = None
    rows: int = housing.REAL_ROWS  # generated rows; with housing_csv, keep at most this many
    epochs: int = 20
    batch_size: int = 128
    eval_fraction: float = 0.2


def prepare_csv(root: Path, sizes: TableSizes) -> tuple[Path, str]:
    """The CSV the jobs read (with an id column) and a few words on where it came from."""
    target = root / "tables" / "housing.csv"
    if sizes.housing_csv:
        limit = sizes.rows if sizes.rows < housing.REAL_ROWS else None
        rows = housing.copy_with_ids(sizes.housing_csv, target, limit)
        return target, f"{sizes.housing_csv} ({rows:,} rows)"
    rows = housing.write_housing_like(target, sizes.rows)
    return target, f"generated stand-in with the housing columns ({rows:,} rows)"


def _schema() -> Any:
    from pipeline import parse_schema

    return parse_schema(housing.housing_schema_dict(), source="the demo's housing schema")


def csv_job(root: Path, report: DemoReport, csv_path: Path, source: str) -> list[str]:
    """Stage "csv job": raw Examples, one per row."""
    from pipeline import CsvJobOptions, run_csv_job

    started = time.perf_counter()
    output = root / "tables" / "examples"
    result = run_csv_job(
        CsvJobOptions(
            inputs=(str(csv_path),),
            output=str(output),
            schema=_schema(),
            label=housing.LABEL,
            key=housing.KEY,
            overwrite=True,
        )
    )
    split = result.splits["data"]
    report.stages.append(
        Stage(
            "csv job",
            result.rows_in,
            split.rows,
            str(output),
            time.perf_counter() - started,
            f"{result.bad_rows or 0} bad rows; from {source}",
        )
    )
    return [str(output / name) for name in split.files]


def transform_job(root: Path, report: DemoReport, examples: list[str], sizes: TableSizes) -> Any:
    """Stage "transform job": analyze train, transform train and eval (split by the id)."""
    from pipeline import TransformJobOptions, run_transform_job

    started = time.perf_counter()
    output = root / "tables" / "transformed"
    options = TransformJobOptions(
        inputs=tuple(examples),
        output=str(output),
        schema=_schema(),
        input_format="tfrecord",
        label=housing.LABEL,
        key=housing.KEY,
        eval_fraction=sizes.eval_fraction,
        overwrite=True,
    )
    result = run_transform_job(options)
    rows = {name: split.rows for name, split in result.splits.items()}
    written = sum(r for r in rows.values() if r is not None)
    vocab = (result.stats.get("vocabularies") or {}).get("ocean_proximity", {})
    report.stages.append(
        Stage(
            "transform job",
            result.rows_in,
            written,
            str(output),
            time.perf_counter() - started,
            ", ".join(f"{name} {count:,}" for name, count in rows.items())
            + f"; vocabulary of {vocab.get('size', '?')}",
        )
    )
    return options, result


def compare_splits(root: Path, report: DemoReport) -> list[str]:
    """Stage "stats compare": `recio stats --compare` on the transformed train and eval splits.

    A skew anomaly is information, not a failure: the report lists what differs.
    """
    from pipeline.inspect import compare_profiles, profile_files

    started = time.perf_counter()
    data = root / "tables" / "transformed" / "data"
    train = profile_files([str(data / "train-*")])
    held_out = profile_files([str(data / "eval-*")])
    anomalies = compare_profiles(train, held_out)
    found = [f"{a.feature}: {a.message}" for a in anomalies]
    report.metrics["train/eval skew anomalies"] = float(len(anomalies))
    report.stages.append(
        Stage(
            "stats compare",
            train.records + held_out.records,
            None,
            str(data),
            time.perf_counter() - started,
            f"train {train.records:,} vs eval {held_out.records:,}: "
            + (f"{_anomalies(len(found))} ({'; '.join(found[:2])})" if found else "no skew found"),
        )
    )
    return found


def _anomalies(count: int) -> str:
    return f"{count} anomal{'y' if count == 1 else 'ies'}"


def train_regressor(
    root: Path,
    report: DemoReport,
    sizes: TableSizes,
    emit: Callable[[str], None],
    eval_rows: int | None,
) -> Path:
    """Stage "regressor": trained on the transformed train split, evaluated on eval."""
    import json

    from models import TrainOptions, train

    started = time.perf_counter()
    xf = root / "tables" / "transformed"
    result = train(
        "housing",
        str(xf),
        root / "runs" / "regressor",
        options=TrainOptions(
            epochs=sizes.epochs,
            batch_size=sizes.batch_size,
            patience=5,
            learning_rate=3e-3,
        ),
        emit=lambda line: emit(f"   regressor {line}"),
    )
    rmse = result.evaluation.get("rmse")
    report.metrics["regressor eval RMSE (dollars)"] = rmse
    metrics = json.loads((result.output / "metrics.json").read_text())
    report.stages.append(
        Stage(
            "regressor",
            metrics.get("train_records"),
            eval_rows,
            str(result.output),
            time.perf_counter() - started,
            f"{result.epochs_run} epochs, best {result.best_epoch}, eval RMSE "
            + ("n/a" if rmse is None else f"${rmse:,.0f}"),
        )
    )
    report.files["learning curves"] = str(result.output / "learning_curves.png")
    if result.log_dir is not None:
        report.files["TensorBoard run"] = str(result.log_dir)
    if result.serving_dir is not None:
        report.files["exported model"] = str(result.serving_dir)
    return result.output


def serve(report: DemoReport, run_dir: Path, raw_files: list[str], options: Any) -> tuple[int, int]:
    """Stage "serve": the SavedModel scores the csv job's raw Examples; RMSE on held-out rows.

    The held-out rows are found with the transform job's own rule (a hash of the id), and the
    baseline predicts the mean label of the train rows.
    """
    from models import predict_records
    from pipeline.split import int_key_fractions
    from recordio import decode_example, read_records

    started = time.perf_counter()
    ids, labels = [], []
    for path in raw_files:
        for record in read_records(path):
            row = decode_example(record)
            ids.append(row[housing.KEY][0])
            labels.append(row[housing.LABEL][0])
    truth = np.asarray(labels, dtype=np.float64)
    held_out = int_key_fractions(np.asarray(ids, np.int64), options.split_salt)
    held_out = held_out < options.eval_fraction
    predicted = np.array(
        [float(np.ravel(p["prediction"])[0]) for p in predict_records(run_dir, raw_files)]
    )
    if len(predicted) != len(truth):
        raise RuntimeError(f"served {len(predicted)} predictions for {len(truth)} records")
    errors = predicted[held_out] - truth[held_out]
    rmse = math.sqrt(float(np.mean(errors**2))) if held_out.any() else None
    baseline = truth[~held_out].mean() if (~held_out).any() else 0.0
    mean_rmse = (
        math.sqrt(float(np.mean((truth[held_out] - baseline) ** 2))) if held_out.any() else None
    )
    report.metrics["served RMSE on held-out rows (dollars)"] = rmse
    report.metrics["predicting the mean, RMSE (dollars)"] = mean_rmse
    report.stages.append(
        Stage(
            "serve",
            len(truth),
            len(predicted),
            str(run_dir / "serving"),
            time.perf_counter() - started,
            f"{int(held_out.sum()):,} held-out rows scored from raw Examples",
        )
    )
    return len(predicted), int(held_out.sum())


__all__ = [
    "TableSizes",
    "compare_splits",
    "csv_job",
    "prepare_csv",
    "serve",
    "train_regressor",
    "transform_job",
]
