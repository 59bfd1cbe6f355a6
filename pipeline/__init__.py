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
from pipeline.loaders import (
    FeatureSpec,
    LoaderError,
    NumpyLoader,
    RecordSpecError,
    load_spec,
    resolve_files,
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
    "FeatureSpec",
    "InputError",
    "JobFailedError",
    "JobOptionsError",
    "JobResult",
    "KerasPyDataset",
    "LoaderError",
    "NumpyLoader",
    "PipelineError",
    "RecordSpecError",
    "RunnerOptions",
    "Schema",
    "SchemaError",
    "SplitInfo",
    "TooManyBadRowsError",
    "TorchIterableDataset",
    "TransformJobOptions",
    "infer_csv_schema",
    "load_schema",
    "load_spec",
    "make_preprocessing_fn",
    "parse_schema",
    "resolve_files",
    "run_augment_job",
    "run_csv_job",
    "run_transform_job",
    "save_schema",
    "schema_preprocessing_fn",
    "tf_dataset",
    "transform_rows",
    "transformed_name",
]


def __getattr__(name: str):  # lazy: these import TensorFlow, Keras or torch on first use
    if name in ("tf_dataset", "KerasPyDataset", "TorchIterableDataset"):
        from pipeline import loaders

        return getattr(loaders, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
