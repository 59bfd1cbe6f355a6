"""Beam + tf.Transform jobs and loaders that turn raw data into batches for training.

Heavy dependencies (apache_beam, tensorflow, tensorflow_transform) are imported inside the
functions that need them, so importing this package is cheap.

Jobs, each a function of one validated options object (the `recio job ...` commands call them):

    from pipeline import TransformJobOptions, run_transform_job
    result = run_transform_job(TransformJobOptions(inputs=("housing.csv",), output="out",
                                                   label="median_house_value"))
    print(result.summary())
"""

from pipeline.augment_job import run_augment_job
from pipeline.csv_format import CsvFormat, infer_csv_schema
from pipeline.csv_job import run_csv_job
from pipeline.errors import (
    InputError,
    JobFailedError,
    JobOptionsError,
    PipelineError,
    SchemaError,
    TooManyBadRowsError,
)
from pipeline.options import (
    AugmentJobOptions,
    AugmentOptions,
    CsvJobOptions,
    RunnerOptions,
    TransformJobOptions,
)
from pipeline.preprocessing import make_preprocessing_fn, schema_preprocessing_fn, transform_rows
from pipeline.results import JobResult, SplitInfo
from pipeline.schema import Column, Schema, load_schema, parse_schema, save_schema, transformed_name
from pipeline.transform_job import run_transform_job

__all__ = [
    "AugmentJobOptions",
    "AugmentOptions",
    "Column",
    "CsvFormat",
    "CsvJobOptions",
    "InputError",
    "JobFailedError",
    "JobOptionsError",
    "JobResult",
    "PipelineError",
    "RunnerOptions",
    "Schema",
    "SchemaError",
    "SplitInfo",
    "TooManyBadRowsError",
    "TransformJobOptions",
    "infer_csv_schema",
    "load_schema",
    "make_preprocessing_fn",
    "parse_schema",
    "run_augment_job",
    "run_csv_job",
    "run_transform_job",
    "save_schema",
    "schema_preprocessing_fn",
    "transform_rows",
    "transformed_name",
]
