"""Validated option objects for the Beam jobs: one per job, plus where and how to run.

Each job function takes one of these; the CLI builds them from flags, Python callers build them
directly. Every check happens in `__post_init__` so that a bad value fails before any pipeline
is constructed, with a message that quotes it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.csv_format import CsvFormat
from pipeline.errors import JobOptionsError
from recordio.compression import Compression, CompressionLike
from recordio.errors import CompressionError

if TYPE_CHECKING:
    from pipeline.schema import Schema

LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner")
_RUNNER_ALIASES = {
    "local": "FnApiRunner",
    "fnapi": "FnApiRunner",
    "fnapirunner": "FnApiRunner",
    "direct": "DirectRunner",
    "directrunner": "DirectRunner",
    "dataflow": "DataflowRunner",
    "dataflowrunner": "DataflowRunner",
    "portable": "PortableRunner",
    "portablerunner": "PortableRunner",
    "flink": "FlinkRunner",
    "flinkrunner": "FlinkRunner",
    "spark": "SparkRunner",
    "sparkrunner": "SparkRunner",
    "prism": "PrismRunner",
    "prismrunner": "PrismRunner",
}
# Beam checks the same pattern and, when it fails, goes looking for a default bucket online.
_GCS_PATH = re.compile(r"^gs://[a-z0-9][-_a-z0-9.]{1,61}[a-z0-9]/.+")


def _flag_value(args: tuple[str, ...], name: str) -> str | None:
    """The value of --name=value or --name value among pass-through Beam args."""
    for i, arg in enumerate(args):
        if arg == f"--{name}" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """Where a job runs. The same values work for every runner; Beam does the rest.

    Attributes:
        runner: a Beam runner name; "FnApiRunner" (in-process, the default), "DataflowRunner",
            "PortableRunner" (Flink/Spark job servers), ... Short forms: local, dataflow, flink.
        workers: local runner: worker processes (1 = in-process); Dataflow: --num_workers.
        project, region, temp_location: Google Cloud settings, required for Dataflow.
        setup_file: a setup.py to build and install on every Dataflow worker (ships recio).
        container_image: a worker image that already holds recio and its dependencies.
        job_name: the job's name on a remote service (Beam picks one when empty).
        beam_args: any further Beam options, passed through untouched
            (e.g. ("--job_endpoint=localhost:8099",) or ("--dry_run=True",)).
    """

    runner: str = "FnApiRunner"
    workers: int = 1
    project: str | None = None
    region: str | None = None
    temp_location: str | None = None
    setup_file: str | None = None
    container_image: str | None = None
    job_name: str | None = None
    beam_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        name = _RUNNER_ALIASES.get(self.runner.lower(), self.runner)
        object.__setattr__(self, "runner", name)
        object.__setattr__(self, "beam_args", tuple(self.beam_args))
        if self.workers < 1:
            raise JobOptionsError(
                f"workers must be at least 1, got {self.workers}", params=("workers",)
            )
        if self.runner == "DataflowRunner":
            missing = tuple(
                name
                for name, value in (
                    ("project", self.project),
                    ("region", self.region),
                    ("temp_location", self.temp_location),
                )
                if not value
            )
            if missing:
                raise JobOptionsError(f"DataflowRunner needs {', '.join(missing)}", params=missing)
            if not _GCS_PATH.match(str(self.temp_location)):
                raise JobOptionsError(
                    "temp_location must be gs://BUCKET/FOLDER with a valid bucket name "
                    f"(3-63 characters: a-z 0-9 - _ .), got {self.temp_location!r}",
                    params=("temp_location",),
                )
            if not (self.setup_file or self.container_image):
                raise JobOptionsError(
                    "DataflowRunner workers need recio: pass setup_file='./setup.py' (built and "
                    "installed on each worker) or container_image=IMAGE (recio preinstalled)",
                    params=("setup_file", "container_image"),
                )
        elif self.runner not in LOCAL_RUNNERS and self.workers > 1:
            raise JobOptionsError(
                f"workers applies to the local runner and Dataflow; for {self.runner} pass the "
                "engine's own parallelism option among the Beam options (e.g. --parallelism=4)",
                params=("workers",),
            )
        if self.setup_file and not os.path.isfile(self.setup_file):
            raise JobOptionsError(
                f"setup_file={self.setup_file!r} does not exist", params=("setup_file",)
            )

    @property
    def local(self) -> bool:
        """Runs in this machine's processes (so local paths and progress counters work)."""
        return self.runner in LOCAL_RUNNERS

    @property
    def dry_run(self) -> bool:
        """Beam's --dry_run=True: translate and stage, but submit nothing (Dataflow)."""
        value = _flag_value(self.beam_args, "dry_run")
        return value is not None and value.lower() in ("true", "1", "yes")

    def pipeline_args(self) -> list[str]:
        """The argv handed to Beam's PipelineOptions."""
        args = [f"--runner={self.runner}"]
        if self.local and self.workers > 1:
            args += [
                f"--direct_num_workers={self.workers}",
                "--direct_running_mode=multi_processing",
            ]
        if self.runner == "DataflowRunner":
            args += [
                f"--project={self.project}",
                f"--region={self.region}",
                f"--temp_location={self.temp_location}",
            ]
            if self.workers > 1:
                args.append(f"--num_workers={self.workers}")
        if self.setup_file:
            args.append(f"--setup_file={os.path.abspath(self.setup_file)}")
        if self.container_image:
            args.append(f"--sdk_container_image={self.container_image}")
            if _flag_value(self.beam_args, "sdk_location") is None:
                args.append("--sdk_location=container")
        if self.job_name:
            args.append(f"--job_name={self.job_name}")
        return args + list(self.beam_args)


def _codec(compression: CompressionLike) -> Compression:
    try:
        return Compression.coerce(compression)
    except CompressionError as error:
        raise JobOptionsError(error.detail, params=("compression",)) from None


def _check_common(inputs: tuple[str, ...], output: str, shards: int) -> None:
    if not inputs:
        raise JobOptionsError("give at least one input file, glob or folder")
    if not output:
        raise JobOptionsError("give an output folder (output)", params=("output",))
    if shards < 0:
        raise JobOptionsError(f"shards must be >= 0, got {shards}", params=("shards",))


def _check_row_limits(infer_rows: int, max_bad_rows: int | None) -> None:
    if infer_rows < 1:
        raise JobOptionsError(f"infer_rows must be >= 1, got {infer_rows}", params=("infer_rows",))
    if max_bad_rows is not None and max_bad_rows < 0:
        raise JobOptionsError(
            f"max_bad_rows must be >= 0, got {max_bad_rows}", params=("max_bad_rows",)
        )


@dataclass(frozen=True, slots=True)
class CsvJobOptions:
    """`recio job csv`: CSV files -> sharded TFRecords of tf.train.Examples.

    Attributes:
        inputs: files, globs or folders of CSV files (.gz/.bz2 are decompressed).
        output: folder for data-*.tfrecord.gz, schema.json, bad_rows.jsonl, recio_job.json.
        schema: a schema file path or a Schema; None infers one from the data.
        csv: how the files are written (header, delimiter, quotes).
        label, key: override the schema's label / key column.
        infer_rows: rows read to infer a schema.
        max_bad_rows: fail the job when more rows than this are bad (None: never fail).
        shards: output files (0: the runner decides).
        compression: GZIP (default), NONE or ZLIB.
        overwrite: replace the output folder's previous contents.
    """

    inputs: tuple[str, ...]
    output: str
    schema: str | Schema | None = None
    csv: CsvFormat = field(default_factory=CsvFormat)
    label: str | None = None
    key: str | None = None
    infer_rows: int = 100_000
    max_bad_rows: int | None = None
    shards: int = 0
    compression: Compression = Compression.GZIP
    overwrite: bool = False
    runner: RunnerOptions = field(default_factory=RunnerOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "compression", _codec(self.compression))
        _check_common(self.inputs, self.output, self.shards)
        _check_row_limits(self.infer_rows, self.max_bad_rows)


@dataclass(frozen=True, slots=True)
class TransformJobOptions:
    """`recio job transform`: CSV or Example TFRecords -> tf.Transform outputs.

    Attributes:
        inputs: CSV files or Example TFRecord files (globs and folders allowed).
        output: folder laid out as TFTransformOutput expects, plus data/ and recio_job.json.
        schema: a schema file with per-column transforms, or a Schema; None infers one with
            default transforms (z-score numbers, vocabulary for strings).
        module_file: a Python file with a top-level `preprocessing_fn(inputs)`, used instead of
            the schema's transforms (the TFX convention).
        input_format: "csv", "tfrecord", "parquet" or "auto" (by file name). Parquet rows are
            read as Examples (recordio.tabular: list columns become list features).
        eval_fraction: share of rows in the eval split, chosen by a hash of the key column.
        split_salt: changes which rows land in eval while staying deterministic.
        splits: named splits and their shares, e.g. (("train", 0.8), ("eval", 0.1),
            ("test", 0.1)), by the same key hash; given, it replaces eval_fraction. tf.Transform
            analyzes "train" and applies the result to the others.
        transform_temp_dir: tf.Transform's scratch folder (default: a temp folder locally,
            {temp_location}/recio-tft/<id> on remote runners).
    """

    inputs: tuple[str, ...]
    output: str
    schema: str | Schema | None = None
    module_file: str | None = None
    input_format: str = "auto"
    csv: CsvFormat = field(default_factory=CsvFormat)
    label: str | None = None
    key: str | None = None
    eval_fraction: float = 0.2
    split_salt: str = ""
    splits: tuple[tuple[str, float], ...] | None = None
    infer_rows: int = 100_000
    max_bad_rows: int | None = None
    shards: int = 0
    compression: Compression = Compression.GZIP
    transform_temp_dir: str | None = None
    overwrite: bool = False
    runner: RunnerOptions = field(default_factory=RunnerOptions)

    @property
    def split_fractions(self) -> tuple[tuple[str, float], ...]:
        """The splits to write: `splits`, else train and (when eval_fraction > 0) eval."""
        if self.splits is not None:
            return self.splits
        if self.eval_fraction > 0:
            return (("train", 1.0 - self.eval_fraction), ("eval", self.eval_fraction))
        return (("train", 1.0),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "compression", _codec(self.compression))
        _check_common(self.inputs, self.output, self.shards)
        if not 0.0 <= self.eval_fraction < 1.0:
            raise JobOptionsError(
                f"eval_fraction must be in [0, 1), got {self.eval_fraction}",
                params=("eval_fraction",),
            )
        if self.splits is not None:
            from pipeline.split import check_splits

            given = tuple((str(n), float(f)) for n, f in self.splits)
            object.__setattr__(self, "splits", given)
            check_splits(given)
        if self.input_format not in ("auto", "csv", "tfrecord", "parquet"):
            raise JobOptionsError(
                f"input_format must be auto, csv, tfrecord or parquet, got {self.input_format!r}",
                params=("input_format",),
            )
        if self.module_file and not os.path.isfile(self.module_file):
            raise JobOptionsError(
                f"module_file={self.module_file!r} does not exist", params=("module_file",)
            )
        _check_row_limits(self.infer_rows, self.max_bad_rows)


@dataclass(frozen=True, slots=True)
class AugmentOptions:
    """Which random changes to apply to each copy of an image, and how strong they are.

    Attributes:
        flip: mirror left-right with probability 1/2.
        crop: cut a random window of `crop_fraction` of each side and resize it back.
        rotate: rotate by a uniform angle in [-max_rotation, max_rotation] degrees.
        brightness: add a uniform delta in [-brightness_delta, brightness_delta] (0-1 scale).
        contrast: scale contrast by a factor in [contrast_lower, contrast_upper].
    """

    flip: bool = True
    crop: bool = True
    rotate: bool = True
    brightness: bool = True
    contrast: bool = True
    crop_fraction: float = 0.85
    max_rotation: float = 15.0
    brightness_delta: float = 0.15
    contrast_lower: float = 0.8
    contrast_upper: float = 1.2

    def __post_init__(self) -> None:
        if not 0.1 <= self.crop_fraction <= 1.0:
            raise JobOptionsError(
                f"crop_fraction must be in [0.1, 1], got {self.crop_fraction}",
                params=("crop_fraction",),
            )
        if not 0.0 <= self.max_rotation <= 180.0:
            raise JobOptionsError(
                f"max_rotation must be in [0, 180], got {self.max_rotation}",
                params=("max_rotation",),
            )
        if not 0.0 <= self.brightness_delta <= 1.0:
            raise JobOptionsError(
                f"brightness_delta must be in [0, 1], got {self.brightness_delta}",
                params=("brightness_delta",),
            )
        if not 0.0 < self.contrast_lower <= self.contrast_upper:
            raise JobOptionsError(
                "contrast range must satisfy 0 < lower <= upper, got "
                f"[{self.contrast_lower}, {self.contrast_upper}]"
            )


@dataclass(frozen=True, slots=True)
class AugmentJobOptions:
    """`recio job augment`: images -> N augmented copies each, as tf.train.Examples.

    Attributes:
        inputs: a folder of images with one subfolder per label, or Example TFRecord files.
        output: folder for data-*.tfrecord.gz and recio_job.json.
        copies: augmented copies per image.
        include_original: also write the unchanged image (as copy 0).
        seed: base seed; each image's randomness comes from sha256(seed:key).
        augment: which changes to apply.
        image_feature, label_feature, key_feature: feature names in Example inputs (the
            key falls back to a hash of the image bytes when the feature is absent).
        channels: decode images with this many channels (1 grey, 3 RGB).
        shards: output files; output is byte-identical for a given shard count.
    """

    inputs: tuple[str, ...]
    output: str
    copies: int = 2
    include_original: bool = True
    seed: int = 0
    augment: AugmentOptions = field(default_factory=AugmentOptions)
    image_feature: str = "image"
    label_feature: str = "label"
    key_feature: str = "key"
    channels: int = 3
    shards: int = 1
    compression: Compression = Compression.GZIP
    overwrite: bool = False
    runner: RunnerOptions = field(default_factory=RunnerOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "compression", _codec(self.compression))
        _check_common(self.inputs, self.output, self.shards)
        if self.copies < 0:
            raise JobOptionsError(f"copies must be >= 0, got {self.copies}", params=("copies",))
        if self.copies == 0 and not self.include_original:
            raise JobOptionsError(
                "nothing to write: copies=0 with include_original=False",
                params=("copies", "include_original"),
            )
        if self.channels not in (1, 3):
            raise JobOptionsError(
                f"channels must be 1 or 3, got {self.channels}", params=("channels",)
            )
        if self.shards < 1:
            raise JobOptionsError(
                f"shards must be >= 1 for augment, got {self.shards}", params=("shards",)
            )
