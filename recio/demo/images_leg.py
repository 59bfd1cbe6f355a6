"""The images leg: real digits as GZIP shards -> verify -> augment job -> the CNN and the MLP.

The digits are written as four shards dealt round-robin; shards 0-2 train, shard 3 is held out
and only ever evaluated on. Training reads the shards with the TF-free NumpyLoader, so this leg
runs on JAX (or torch) without TensorFlow; only the augment job needs TensorFlow and Beam.
"""

from __future__ import annotations

import glob
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recio.demo.report import DemoReport, Stage

SHARDS = 4


@dataclass(frozen=True, slots=True)
class ImageSizes:
    """How much the leg does: digits (None: all 1,797), copies per image, epochs per model."""

    digits: int | None = None
    copies: int = 2
    cnn_epochs: int = 5
    mlp_epochs: int = 20
    batch_size: int = 32


def write_and_verify(root: Path, report: DemoReport, sizes: ImageSizes) -> list[str]:
    """Stage "digits": write the shards, then verify them (the library call behind verify)."""
    from recio.demo.digits import write_digit_shards
    from recio.demo.verify_sets import verify_set

    started = time.perf_counter()
    shards = write_digit_shards(str(root / "digits" / "digits.tfrecord.gz"), SHARDS, sizes.digits)
    checked = verify_set("digits", shards.files)
    report.verified.append(checked)
    members = _check_random_access(shards.files)
    report.stages.append(
        Stage(
            "digits",
            shards.records,
            checked.records,
            str(root / "digits"),
            time.perf_counter() - started,
            f"{SHARDS} seekable GZIP shards ({members} gzip members), "
            f"{shards.file_bytes / 1e6:.1f} MB, random access checked, verify "
            + ("clean" if checked.ok else "FOUND DAMAGE"),
        )
    )
    return shards.files


def _check_random_access(files: list[str]) -> int:
    """Read a few records of each shard by position (IndexedReader) and compare them with a
    sequential read; returns the gzip members found (the seekable writer's unit of access)."""
    from recio.demo.errors import DemoError
    from recordio import IndexedReader, read_records

    members = 0
    for path in files:
        in_order = list(read_records(path))
        with IndexedReader(path, use_sidecar=False) as indexed:
            members += indexed.record_index.member_count
            wanted = sorted({0, len(in_order) // 2, len(in_order) - 1})
            if len(indexed) != len(in_order) or indexed.take(wanted) != [
                in_order[i] for i in wanted
            ]:
                raise DemoError(f"{path}: records read by index differ from those read in order")
    return members


def augment(
    root: Path, report: DemoReport, sizes: ImageSizes, digit_files: list[str]
) -> tuple[list[str], list[str]]:
    """Stages "augment digits" and "augment photos": two runs of the augment job."""
    from pipeline import AugmentJobOptions, run_augment_job
    from recio.demo.digits import write_photo_folder

    photos = root / "photos"
    write_photo_folder(photos)
    runs = (
        ("augment digits", tuple(digit_files), root / "augmented" / "digits", 1, "png"),
        ("augment photos", (str(photos),), root / "augmented" / "photos", 3, "image"),
    )
    outputs = []
    for name, inputs, output, channels, feature in runs:
        started = time.perf_counter()
        result = run_augment_job(
            AugmentJobOptions(
                inputs=inputs,
                output=str(output),
                copies=sizes.copies,
                image_feature=feature,
                channels=channels,
                overwrite=True,
            )
        )
        files = [str(output / f) for f in result.splits["data"].files]
        report.stages.append(
            Stage(
                name,
                result.rows_in,
                result.splits["data"].rows,
                str(output),
                time.perf_counter() - started,
                f"original + {sizes.copies} cop{'y' if sizes.copies == 1 else 'ies'} each, "
                f"{result.bad_rows or 0} bad",
            )
        )
        outputs.append(files)
    return outputs[0], outputs[1]


def train_classifiers(
    root: Path,
    report: DemoReport,
    sizes: ImageSizes,
    digit_files: list[str],
    emit: Callable[[str], None],
) -> None:
    """Stages "cnn" and "mlp": shards 0-2 train, shard 3 is the held-out evaluation."""
    from models import TrainOptions, train
    from recordio import read_records

    held_out = sum(1 for _ in read_records(digit_files[-1]))
    train_glob = (
        f"{glob.escape(str(root / 'digits'))}/digits-0000[0-{SHARDS - 2}]-of-{SHARDS:05d}"
        ".tfrecord.gz"
    )
    for name, epochs in (("cnn", sizes.cnn_epochs), ("mlp", sizes.mlp_epochs)):
        started = time.perf_counter()
        result = train(
            name,
            train_glob,
            root / "runs" / name,
            label="label",
            features=["image"],
            eval_data=digit_files[-1],
            loader="numpy",
            options=TrainOptions(
                epochs=epochs, batch_size=sizes.batch_size, patience=4, export=False
            ),
            emit=lambda line, name=name: emit(f"   {name} {line}"),
        )
        accuracy = result.evaluation.get("accuracy")
        report.metrics[f"{name} held-out accuracy"] = accuracy
        metrics = json.loads((result.output / "metrics.json").read_text())
        report.stages.append(
            Stage(
                name,
                metrics.get("train_records"),
                held_out,
                str(result.output),
                time.perf_counter() - started,
                f"{result.epochs_run} epochs, best {result.best_epoch}, held-out accuracy "
                + ("n/a" if accuracy is None else f"{accuracy:.3f}"),
            )
        )
        report.files[f"{name} learning curves"] = str(result.output / "learning_curves.png")
        if result.log_dir is not None:
            report.files[f"{name} TensorBoard run"] = str(result.log_dir)


def image_grid(root: Path, report: DemoReport, digits: list[str], photos: list[str]) -> None:
    """The PNG of originals beside their augmented copies."""
    from recio.demo.grid import augmented_images, save_grid

    path = save_grid(augmented_images(photos), augmented_images(digits), root / "augmented.png")
    report.files["image grid"] = str(path)


__all__ = ["ImageSizes", "augment", "image_grid", "train_classifiers", "write_and_verify"]
