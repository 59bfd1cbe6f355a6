"""`recio demo`: chapter 13 end to end on real data that ships inside installed packages.

Images: scikit-learn's 1,797 handwritten digits, scaled to Fashion-MNIST's 28x28, written as
GZIP shards and verified; the augment job on the digits and on the two photographs of chapter
14 (china.jpg, flower.jpg); the CNN and the MLP trained from the NumpyLoader, with accuracy on a
held-out shard. Tables: the California housing CSV (`housing_csv`) or a stand-in with its
columns, through the csv job and the transform job to the regressor, whose exported SavedModel
scores the raw records. Then verify over every output set and a report (printed, and saved as
report.json and report.md in the work folder).

Without TensorFlow (a JAX GPU machine) the images leg still writes, verifies and trains; the
stages that need TensorFlow and Beam are skipped and the report says so.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from recio.demo.errors import DemoError
from recio.demo.images_leg import ImageSizes
from recio.demo.report import DemoReport
from recio.demo.tables_leg import TableSizes

MARKER = ".recio-demo"  # marks a work folder as the demo's own, so a rerun may clear it
OWN = ("digits", "photos", "augmented", "tables", "runs", "data", "raw", "people")
OWN_FILES = ("augmented.png", "report.json", "report.md")


@dataclass(frozen=True, slots=True)
class DemoSizes:
    """The run's size; the defaults are the full demo (under 5 minutes on 2 cores)."""

    images: ImageSizes = field(default_factory=ImageSizes)
    tables: TableSizes = field(default_factory=TableSizes)


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


def _clear(root: Path) -> None:
    for name in OWN:
        shutil.rmtree(root / name, ignore_errors=True)
    for name in OWN_FILES:
        (root / name).unlink(missing_ok=True)


def has_beam_and_tf() -> bool:
    """The csv, transform and augment jobs need Beam, tf.Transform and TensorFlow."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("tensorflow", "apache_beam", "tensorflow_transform")
    )


class _Steps:
    """Numbered progress headings ("== 3/8 ...") and the time each step took."""

    def __init__(self, total: int, emit: Callable[[str], None]) -> None:
        self.total, self.emit, self.number = total, emit, 0

    def start(self, title: str) -> None:
        self.number += 1
        self.emit(f"== {self.number}/{self.total} {title}")


def run_chapter13(
    workdir: str,
    sizes: DemoSizes | None = None,
    *,
    emit: Callable[[str], None] = print,
) -> DemoReport:
    """Run every stage under `workdir` (replacing an earlier demo's files there)."""
    from models.device import detect
    from recio.demo import images_leg, tables_leg
    from recio.demo.verify_sets import verify_set

    sizes = sizes or DemoSizes()
    root = Path(workdir)
    check_workdir(root)
    _clear(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).touch()
    report = DemoReport(workdir=str(root))
    started = time.perf_counter()
    jobs = has_beam_and_tf()
    steps = _Steps(8, emit)

    def show(name: str) -> None:
        stage = report.stage(name)
        out = "" if stage.records_out is None else f" -> {_count(stage.records_out)} out"
        emit(f"   {name}: {_count(stage.rows_in)} in{out}, {stage.seconds:.1f} s; {stage.detail}")

    steps.start("digits: scikit-learn's 1,797 digits as 28x28 Examples in GZIP shards, verified")
    digit_files = images_leg.write_and_verify(root, report, sizes.images)
    show("digits")

    steps.start("recio job augment: the digits and the two photographs (china.jpg, flower.jpg)")
    augmented: dict[str, list[str]] = {}
    if jobs:
        augmented["digits"], augmented["photos"] = images_leg.augment(
            root, report, sizes.images, digit_files
        )
        show("augment digits")
        show("augment photos")
        images_leg.image_grid(root, report, augmented["digits"], augmented["photos"])
        emit(f"   image grid: {report.files['image grid']}")
    else:
        _skip(report, emit, "the augment job and the image grid need TensorFlow and Beam")

    tables = sizes.tables
    if jobs:
        steps.start("recio job csv: the housing table -> raw Examples")
        csv_path, source = tables_leg.prepare_csv(root, tables)
        examples = tables_leg.csv_job(root, report, csv_path, source)
        show("csv job")

        # The Beam jobs run before any Keras training: once, a transform job run after the CNN
        # and MLP had trained in this process failed to find its analyzers' SavedModel
        # variables (not reproduced after an MLP alone); this order keeps that out of the way
        steps.start(
            "recio job transform (z-score, min-max, log, bucketize, vocabulary), "
            "then recio stats --compare on its train and eval splits"
        )
        job_options, job = tables_leg.transform_job(root, report, examples, tables)
        eval_split = job.splits.get("eval")
        show("transform job")
        tables_leg.compare_splits(root, report)
        show("stats compare")
    else:
        steps.start("recio job csv")
        steps.start("recio job transform")
        _skip(report, emit, "the tables leg (csv job, transform job, regressor, serving) needs "
              "TensorFlow, Beam and tf.Transform")  # fmt: skip

    steps.start("train the CNN and the MLP from the NumpyLoader (shard 4 held out)")
    device = detect()
    report.backend, report.device = device.backend, device.name
    images_leg.train_classifiers(root, report, sizes.images, digit_files, emit)
    show("cnn")
    show("mlp")

    steps.start("train the regressor on the transformed rows (label in dollars)")
    if jobs:
        held_out = eval_split.rows if eval_split is not None else None
        run_dir = tables_leg.train_regressor(root, report, tables, emit, held_out)
        show("regressor")

    steps.start("serve: the exported SavedModel scores the raw Examples")
    if jobs:
        tables_leg.serve(report, run_dir, examples, job_options)
        show("serve")

    steps.start("recio verify: every output set")
    sets: dict[str, list[str]] = {f"augmented {k}": v for k, v in augmented.items()}
    if jobs:
        out = root / "tables"
        sets["csv job examples"] = sorted(map(str, (out / "examples").glob("data-*")))
        for split in ("train", "eval"):
            found = sorted(map(str, (out / "transformed" / "data").glob(f"{split}-*")))
            sets[f"transformed {split}"] = found
    for name, files in sets.items():
        report.verified.append(verify_set(name, files))
    for entry in report.verified:
        emit(f"   {entry.name}: {entry.files} files, {entry.records:,} records, "
             + ("clean" if entry.ok else "DAMAGE"))  # fmt: skip

    report.seconds = time.perf_counter() - started
    as_json, as_md = report.save(root)
    report.files["report"] = str(as_md)
    report.save(root)
    return report


def _skip(report: DemoReport, emit: Callable[[str], None], note: str) -> None:
    report.skipped.append(note)
    emit(f"   skipped: {note}")


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


__all__ = ["DemoSizes", "check_workdir", "has_beam_and_tf", "run_chapter13"]
