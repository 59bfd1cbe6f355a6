"""`recio job csv|transform|augment`: Beam + tf.Transform jobs, locally or on Dataflow.

Each command builds one options object and calls one function of the pipeline package. The
runner flags are declared once (`with_runner_options`) and reach the job as one `RunnerOptions`.
Any other Beam option goes after `--`, untouched:

    recio job transform in.csv -o out --runner PortableRunner -- --job_endpoint=localhost:8099

so an unknown option before `--` (a typo such as `--lable`) is a usage error, not something
Beam silently ignores. Beam, TensorFlow and tf.Transform are imported by the jobs once their
inputs check out, so `recio --help` and mistyped paths stay fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from recio.cli import _builtin, _console, _extras
from recio.cli._options import option_group

job_app = typer.Typer(
    name="job",
    help="Preprocess data at scale with Apache Beam and tf.Transform (local or Dataflow).\n\n"
    "Extra Beam options go after '--', e.g. -- --job_endpoint=localhost:8099.\n\n"
    "Example: recio job transform data.csv --output out --label label",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def split_beam_args(args: list[str]) -> tuple[list[str], list[str]]:
    """`recio job ... -- BEAM_ARGS`: the command line for recio, and Beam's own options."""
    if not args or args[0] != "job" or "--" not in args:
        return args, []
    cut = args.index("--")
    return args[:cut], args[cut + 1 :]


# -- the runner flags, declared once ------------------------------------------------------------
_RUNNER_FLAGS: dict[str, tuple[Any, Any]] = {
    "runner": (
        Annotated[
            str,
            typer.Option(
                "--runner",
                help="Beam runner: FnApiRunner (local, in-process), DataflowRunner, "
                "PortableRunner (Flink/Spark job servers), ...",
            ),
        ],
        "FnApiRunner",
    ),
    "workers": (
        Annotated[
            int,
            typer.Option("--workers", min=1, help="Local: worker processes. Dataflow: workers."),
        ],
        1,
    ),
    "project": (
        Annotated[str | None, typer.Option("--project", help="Google Cloud project (Dataflow).")],
        None,
    ),
    "region": (
        Annotated[str | None, typer.Option("--region", help="Dataflow region, e.g. us-central1.")],
        None,
    ),
    "temp_location": (
        Annotated[
            str | None,
            typer.Option("--temp-location", help="gs:// folder for Dataflow's temp files."),
        ],
        None,
    ),
    "setup_file": (
        Annotated[
            str | None,
            typer.Option(
                "--setup-file", help="setup.py built and installed on every worker (ships recio)."
            ),
        ],
        None,
    ),
    "container_image": (
        Annotated[
            str | None,
            typer.Option("--container-image", help="Worker image with recio and its dependencies."),
        ],
        None,
    ),
    "job_name": (
        Annotated[str | None, typer.Option("--job-name", help="Name of the remote job.")],
        None,
    ),
}


def _runner(ctx: typer.Context, **flags: Any) -> Any:
    """The runner flags and the Beam options after `--`, as one RunnerOptions; the jobs need
    the beam extra, so it is checked here, before anything else."""
    _extras.require("beam")
    from pipeline.options import RunnerOptions

    return RunnerOptions(beam_args=tuple(ctx.obj or ()), **flags)


with_runner_options = option_group("runner", _RUNNER_FLAGS, build=_runner)

_CSV_FLAGS: dict[str, tuple[Any, Any]] = {
    "header": (
        Annotated[
            bool,
            typer.Option(
                "--header/--no-header", help="The first line of each file names the columns."
            ),
        ],
        True,
    ),
    "delimiter": (
        Annotated[str, typer.Option("--delimiter", help="Cell separator (one character).")],
        ",",
    ),
    "multiline_cells": (
        Annotated[
            bool, typer.Option("--multiline-cells", help="Allow line breaks inside quoted cells.")
        ],
        False,
    ),
    "columns": (
        Annotated[
            str | None,
            typer.Option(
                "--columns", help="Comma-separated names for header-less files without a schema."
            ),
        ],
        None,
    ),
    "non_numeric_fraction": (
        Annotated[
            float,
            typer.Option(
                "--non-numeric-fraction",
                help="Inference: a column with at most this share of cells that are not numbers "
                "stays numeric (those rows are bad rows); above it, it is read as strings.",
            ),
        ],
        0.05,
    ),
    "non_finite": (
        Annotated[
            str,
            typer.Option(
                "--non-finite",
                help="nan/inf cells in float columns: missing (an empty cell: the fill applies, "
                "or a bad row if the column is required) or bad_row.",
            ),
        ],
        "missing",
    ),
}


def _csv(
    ctx: typer.Context,
    header: bool,
    delimiter: str,
    multiline_cells: bool,
    columns: str | None,
    non_numeric_fraction: float,
    non_finite: str,
) -> Any:
    """The CSV flags as one CsvFormat."""
    from pipeline.csv_format import CsvFormat

    names = tuple(c.strip() for c in columns.split(",")) if columns else None
    return CsvFormat(
        header=header,
        delimiter=delimiter,
        multiline=multiline_cells,
        column_names=names,
        non_numeric_fraction=non_numeric_fraction,
        non_finite=non_finite,
    )


# the parameters the jobs' summary notes name, shown as flags
_NOTE_PARAMS = ("label", "non_numeric_fraction", "non_finite")


def _summary(result: Any) -> str:
    from recio.cli._errors import as_flags

    return result.summary(rewrite=lambda note: as_flags(note, _NOTE_PARAMS))


with_csv_options = option_group("csv", _CSV_FLAGS, build=_csv)


# -- shared options -------------------------------------------------------------------------------
Inputs = Annotated[
    list[str],
    typer.Argument(
        metavar="INPUT",
        help="Files, globs or folders (quote globs for remote paths); builtin:people[:ROWS] "
        "or builtin:shapes[:PER_CLASS] for generated demo data.",
        show_default=False,
    ),
]
Output = Annotated[
    str, typer.Option("--output", "-o", help="Output folder (local or gs://).", show_default=False)
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace this job's outputs from an earlier run.")
]
Shards = Annotated[int, typer.Option("--shards", min=0, help="Output files (0: runner decides).")]
Compression = Annotated[str, typer.Option("--compression", help="GZIP, NONE or ZLIB.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines, summary only.")]
Schema = Annotated[
    str | None, typer.Option("--schema", help="Schema file (JSON, or YAML with PyYAML).")
]
Label = Annotated[str | None, typer.Option("--label", help="Label column (overrides the schema).")]
Key = Annotated[
    str | None,
    typer.Option("--key", help="Column identifying a row; the train/eval split hashes it."),
]
InferRows = Annotated[int, typer.Option("--infer-rows", min=1, help="Rows read to infer a schema.")]
MaxBadRows = Annotated[
    int | None,
    typer.Option(
        "--max-bad-rows", min=0, help="Fail the job past this many bad rows (default: never)."
    ),
]


def _progress(quiet: bool) -> Any:
    if quiet:
        return None
    return lambda rows: _console.info(f"... {rows:,} rows processed")


def _start(quiet: bool) -> None:
    """Silence library logging (the jobs import TensorFlow quietly once their inputs check out)
    and, unless quiet, show what the job says it is doing (building, staging, submitting)."""
    import logging

    from pipeline.quiet import quiet_library_logs

    quiet_library_logs()
    if not quiet:
        _console.show_library_steps(logging.getLogger("pipeline"))


# -- commands -------------------------------------------------------------------------------
@job_app.command("csv")
@with_runner_options
@with_csv_options
def csv_command(
    ctx: typer.Context,
    inputs: Inputs,
    output: Output,
    schema: Schema = None,
    label: Label = None,
    key: Key = None,
    infer_rows: InferRows = 100_000,
    max_bad_rows: MaxBadRows = None,
    shards: Shards = 0,
    compression: Compression = "GZIP",
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    csv: Any = None,
    runner: Any = None,
) -> None:
    """Convert CSV files to sharded GZIP TFRecords of tf.train.Examples.

    Without --schema the column types are inferred and written to OUT/schema.json for reuse.
    Rows that cannot be decoded go to OUT/bad_rows.jsonl with the reason.

    Example: recio job csv 'data/*.csv' --output out/examples --max-bad-rows 100
    """
    _start(quiet)
    from pipeline.csv_job import run_csv_job
    from pipeline.options import CsvJobOptions

    paths, schema = _builtin.resolve(inputs, schema)
    options = CsvJobOptions(
        inputs=paths,
        output=output,
        schema=schema,
        csv=csv,
        label=label,
        key=key,
        infer_rows=infer_rows,
        max_bad_rows=max_bad_rows,
        shards=shards,
        compression=compression,
        overwrite=overwrite,
        runner=runner,
    )
    _console.info(_summary(run_csv_job(options, on_progress=_progress(quiet))))


@job_app.command("transform")
@with_runner_options
@with_csv_options
def transform_command(
    ctx: typer.Context,
    inputs: Inputs,
    output: Output,
    schema: Schema = None,
    module_file: Annotated[
        str | None,
        typer.Option("--module-file", help="Python file with a top-level preprocessing_fn."),
    ] = None,
    input_format: Annotated[
        str, typer.Option("--input-format", help="auto, csv, tfrecord or parquet.")
    ] = "auto",
    label: Label = None,
    key: Key = None,
    eval_fraction: Annotated[
        float, typer.Option("--eval-fraction", help="Share of rows in the eval split (0: none).")
    ] = 0.2,
    split_salt: Annotated[
        str, typer.Option("--split-salt", help="Changes the split, deterministically.")
    ] = "",
    splits: Annotated[
        str | None,
        typer.Option(
            "--splits",
            help="Named splits by key hash, e.g. train=0.8,eval=0.1,test=0.1 (replaces "
            "--eval-fraction; train is analyzed, the others transformed with it).",
            show_default=False,
        ),
    ] = None,
    infer_rows: InferRows = 100_000,
    max_bad_rows: MaxBadRows = None,
    shards: Shards = 0,
    compression: Compression = "GZIP",
    transform_temp_dir: Annotated[
        str | None, typer.Option("--transform-temp-dir", help="tf.Transform's scratch folder.")
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    csv: Any = None,
    runner: Any = None,
) -> None:
    """Analyze the train split with tf.Transform, transform train and eval, save transform_fn.

    Transforms come from the schema (per column: z_score, min_max, log, bucketize,
    vocabulary, fill) or from --module-file; with neither, numbers get z-scores and strings
    vocabularies. OUT works with tft.TFTransformOutput(OUT); data lands in OUT/data/.

    Example: recio job transform housing.csv --output out/housing --label median_house_value
    """
    _start(quiet)
    from pipeline.options import TransformJobOptions
    from pipeline.split import parse_splits
    from pipeline.transform_job import run_transform_job

    paths, schema = _builtin.resolve(inputs, schema)
    options = TransformJobOptions(
        inputs=paths,
        output=output,
        schema=schema,
        module_file=module_file,
        input_format=input_format,
        csv=csv,
        label=label,
        key=key,
        eval_fraction=eval_fraction,
        split_salt=split_salt,
        splits=parse_splits(splits) if splits else None,
        infer_rows=infer_rows,
        max_bad_rows=max_bad_rows,
        shards=shards,
        compression=compression,
        transform_temp_dir=transform_temp_dir,
        overwrite=overwrite,
        runner=runner,
    )
    _console.info(_summary(run_transform_job(options, on_progress=_progress(quiet))))


@job_app.command("augment")
@with_runner_options
def augment_command(
    ctx: typer.Context,
    inputs: Inputs,
    output: Output,
    copies: Annotated[int, typer.Option("--copies", min=0, help="Augmented copies per image.")] = 2,
    original: Annotated[
        bool, typer.Option("--original/--no-original", help="Also write the unchanged image.")
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Base seed of all randomness.")] = 0,
    flip: Annotated[bool, typer.Option("--flip/--no-flip", help="Random left-right flip.")] = True,
    crop: Annotated[
        bool, typer.Option("--crop/--no-crop", help="Random crop, resized back.")
    ] = True,
    rotate: Annotated[bool, typer.Option("--rotate/--no-rotate", help="Random rotation.")] = True,
    brightness: Annotated[
        bool, typer.Option("--brightness/--no-brightness", help="Random brightness.")
    ] = True,
    contrast: Annotated[
        bool, typer.Option("--contrast/--no-contrast", help="Random contrast.")
    ] = True,
    crop_fraction: Annotated[
        float, typer.Option("--crop-fraction", help="Side of the crop window, as a fraction.")
    ] = 0.85,
    max_rotation: Annotated[
        float, typer.Option("--max-rotation", help="Largest rotation, in degrees.")
    ] = 15.0,
    brightness_delta: Annotated[
        float, typer.Option("--brightness-delta", help="Largest brightness change (0-1 scale).")
    ] = 0.15,
    contrast_lower: Annotated[
        float, typer.Option("--contrast-lower", help="Smallest contrast factor.")
    ] = 0.8,
    contrast_upper: Annotated[
        float, typer.Option("--contrast-upper", help="Largest contrast factor.")
    ] = 1.2,
    channels: Annotated[int, typer.Option("--channels", help="1 (grey) or 3 (RGB).")] = 3,
    image_feature: Annotated[
        str, typer.Option("--image-feature", help="Image bytes feature (TFRecord input).")
    ] = "image",
    label_feature: Annotated[
        str, typer.Option("--label-feature", help="Label feature (TFRecord input).")
    ] = "label",
    key_feature: Annotated[
        str, typer.Option("--key-feature", help="Key feature (TFRecord input).")
    ] = "key",
    shards: Annotated[int, typer.Option("--shards", min=1, help="Output files.")] = 1,
    compression: Compression = "GZIP",
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    runner: Any = None,
) -> None:
    """Write each image plus N randomly augmented copies as tf.train.Examples (PNG).

    Input: a folder with one subfolder per label, or Example TFRecords with an image feature.
    Randomness is seeded per image from --seed and the image's key, so the output files are
    byte-identical across runs, runners and --workers.

    Example: recio job augment photos/ --output out/augmented --copies 4 --no-rotate
    """
    _start(quiet)
    from pipeline.augment_job import run_augment_job
    from pipeline.options import AugmentJobOptions, AugmentOptions

    paths, _ = _builtin.resolve(inputs, None)
    options = AugmentJobOptions(
        inputs=paths,
        output=output,
        copies=copies,
        include_original=original,
        seed=seed,
        augment=AugmentOptions(
            flip=flip,
            crop=crop,
            rotate=rotate,
            brightness=brightness,
            contrast=contrast,
            crop_fraction=crop_fraction,
            max_rotation=max_rotation,
            brightness_delta=brightness_delta,
            contrast_lower=contrast_lower,
            contrast_upper=contrast_upper,
        ),
        image_feature=image_feature,
        label_feature=label_feature,
        key_feature=key_feature,
        channels=channels,
        shards=shards,
        compression=compression,
        overwrite=overwrite,
        runner=runner,
    )
    _console.info(run_augment_job(options, on_progress=_progress(quiet)).summary())


def register(app: typer.Typer) -> None:
    """Add the `recio job ...` command group to the root app."""
    app.add_typer(job_app, name="job")
