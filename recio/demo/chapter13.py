"""`recio demo`: chapter 13 end to end on built-in data, one step after another.

1. recordio: make Fashion-MNIST-shaped images, write them as sharded GZIP TFRecords of
   tf.train.Examples, read every record back, check it and verify the files.
2. pipeline: generate a tabular CSV and run the tf.Transform job on it (z-score, min-max,
   vocabulary; deterministic train/eval split), which writes transformed shards + transform_fn.
3. models: train the book's MLP on three image shards (the fourth is held out for evaluation)
   and a small regressor on the transformed rows, with best-epoch checkpoints, early stopping
   and TensorBoard logs.
4. serving: score raw, untransformed records with the exported SavedModel, which applies the
   tf.Transform graph itself, and compare with the labels of the held-out eval rows.

Every file lands under one work folder; nothing is downloaded.
"""

from __future__ import annotations

import glob
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from recio.demo.errors import DemoError

if TYPE_CHECKING:
    from pipeline import TransformJobOptions

SHARDS = 4  # image shards; the last one is the MLP's evaluation data
MARKER = ".recio-demo"  # marks a work folder as the demo's own, so a rerun may clear it
OWN = ("data", "raw", "people", "runs")


@dataclass(slots=True)
class DemoResult:
    """Headline figures of each step, for the summary and for tests."""

    workdir: str
    image_records: int = 0
    image_files: list[str] = field(default_factory=list)
    tabular_rows: dict[str, int] = field(default_factory=dict)
    mlp_accuracy: float | None = None  # on the held-out image shard
    regressor_rmse: float | None = None  # on the job's eval split
    served_records: int = 0
    served_eval_rows: int = 0
    served_accuracy: float | None = None  # on the eval rows among the served records
    seconds: dict[str, float] = field(default_factory=dict)


def _step(result: DemoResult, name: str, emit: Callable[[str], None]) -> Callable[[], None]:
    emit(f"== {name}")
    started = time.perf_counter()

    def done() -> None:
        result.seconds[name] = time.perf_counter() - started

    return done


def check_workdir(root: Path) -> None:
    """Refuse a work folder that holds anything but an earlier demo's files (the demo clears them).

    `--workdir .` in a project must not delete the project's own data/ or runs/ folders.
    The recordio-only demo leaves no marker, so its data/ of fashion shards is accepted too.
    """
    if root.exists() and not root.is_dir():
        raise DemoError(f"--workdir {root} is a file; give a folder")
    if not root.is_dir() or (root / MARKER).is_file():
        return
    foreign = sorted(
        entry.name
        for entry in root.iterdir()
        if not (entry.name == "data" and entry.is_dir() and _only_demo_shards(entry))
    )
    if foreign:
        raise DemoError(
            f"--workdir {root} holds files the demo did not write ({', '.join(foreign[:3])}); "
            "choose an empty or new folder"
        )


def _only_demo_shards(folder: Path) -> bool:
    return all(entry.name.startswith("fashion") and entry.is_file() for entry in folder.iterdir())


def run_chapter13(
    workdir: str,
    *,
    image_records: int = 10_000,
    tabular_rows: int = 20_000,
    epochs: int = 3,
    emit: Callable[[str], None] = print,
) -> DemoResult:
    """Run the whole chain under `workdir` (replacing an earlier demo's files there)."""
    from models import TrainOptions, train
    from pipeline import TransformJobOptions, parse_schema, run_transform_job
    from recio.demo.data import people_schema_dict, write_people_csv
    from recio.demo.recordio_leg import run_recordio_demo
    from recordio import text_to_tfrecords

    root = Path(workdir)
    check_workdir(root)
    for old in OWN:
        shutil.rmtree(root / old, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).touch()
    result = DemoResult(workdir=str(root))

    done = _step(result, "1/4 recordio: write, read back and verify sharded GZIP Examples", emit)
    shards = run_recordio_demo(str(root), image_records, shards=SHARDS)
    result.image_records, result.image_files = shards.records, shards.files
    emit(
        f"   {shards.records:,} Examples in {len(shards.files)} shards, "
        f"{shards.file_bytes / 1e6:.1f} MB; read back identical; verify "
        + ("clean" if shards.verified else "FOUND DAMAGE")
    )
    done()

    done = _step(result, "2/4 tf.Transform: analyze the train split, transform both splits", emit)
    csv_path = write_people_csv(root / "raw" / "people.csv", tabular_rows, seed=7)
    # the key decides the split; it passes through, and training leaves it out of the inputs
    job_options = TransformJobOptions(
        inputs=(str(csv_path),),
        output=str(root / "people"),
        schema=parse_schema(people_schema_dict(), source="built-in people schema"),
        label="label",
        key="id",
        overwrite=True,
    )
    job = run_transform_job(job_options)
    result.tabular_rows = {name: split.rows for name, split in job.splits.items()}
    emit("   " + ", ".join(f"{name}: {rows:,} rows" for name, rows in result.tabular_rows.items()))
    done()

    options = TrainOptions(epochs=epochs, batch_size=128, patience=2)
    done = _step(result, "3/4 train the MLP on the image shards and a regressor on the rows", emit)
    # shards 0..SHARDS-2 train, the last one is held out (shard_names' -NNNNN-of-NNNNN naming)
    train_shards = (
        f"{glob.escape(str(root / 'data'))}/fashion-0000[0-{SHARDS - 2}]-of-{SHARDS:05d}"
        ".tfrecord.gz"
    )
    mlp = train(
        "mlp",
        train_shards,
        root / "runs" / "mlp",
        label="label",
        eval_data=shards.files[-1],
        options=options,
        emit=lambda line: emit(f"   mlp {line}"),
    )
    result.mlp_accuracy = mlp.evaluation.get("accuracy")
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
    served, held_out, correct = _score(root / "runs" / "regressor", raw, job_options)
    if held_out != result.tabular_rows.get("eval", 0):
        raise DemoError(
            f"{raw}: {held_out} rows fall in the eval split here, the job held out "
            f"{result.tabular_rows.get('eval', 0)}; the split is not reproducible"
        )
    result.served_records, result.served_eval_rows = served, held_out
    result.served_accuracy = correct / held_out if held_out else None
    shown = f"{result.served_accuracy:.1%}" if result.served_accuracy is not None else "n/a"
    emit(
        f"   {served:,} raw records scored; on the {held_out:,} held-out eval rows, thresholded "
        f"at 0.5, the predictions match {shown} of the labels"
    )
    done()
    return result


def _score(run_dir: Path, raw_file: str, job: TransformJobOptions) -> tuple[int, int, int]:
    """(records served, eval-split rows among them, correct eval predictions)."""
    import numpy as np

    from models import predict_records
    from pipeline.split import int_key_fractions
    from recordio import decode_example, read_records

    rows = [decode_example(record) for record in read_records(raw_file)]
    ids = np.array([row["id"][0] for row in rows], dtype=np.int64)
    held_out = int_key_fractions(ids, job.split_salt) < job.eval_fraction  # the job's own rule
    served = correct = 0
    for row, in_eval, scored in zip(
        rows, held_out, predict_records(run_dir, [raw_file]), strict=True
    ):
        served += 1
        if in_eval:
            correct += int((scored["prediction"] >= 0.5) == bool(row["label"][0]))
    return served, int(held_out.sum()), correct


__all__ = ["DemoResult", "check_workdir", "run_chapter13"]
