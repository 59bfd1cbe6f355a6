"""Beam + tf.Transform jobs and loaders that turn raw data into batches for training.

Importing this package is cheap: each name below loads its module on first use, and the heavy
dependencies (apache_beam, tensorflow, tensorflow_transform) load only inside the functions that
need them, so the TF-free NumpyLoader works on a bare `pip install recio`.

Jobs, each a function of one validated options object (the `recio job ...` commands call them):

    from pipeline import TransformJobOptions, run_transform_job
    result = run_transform_job(TransformJobOptions(inputs=("housing.csv",), output="out",
                                                   label="median_house_value"))
    print(result.summary())
"""

from __future__ import annotations

import importlib
from typing import Any

from pipeline.errors import (
    CloudAccessError,
    InputError,
    JobFailedError,
    JobOptionsError,
    LoaderError,
    LoaderOptionError,
    OutputExistsError,
    OutputWriteError,
    PipelineError,
    RecordSpecError,
    SchemaError,
    TooManyBadRowsError,
    WorkerError,
)

_LAZY = {
    "run_augment_job": "pipeline.augment_job",
    "CsvFormat": "pipeline.csv_format",
    "infer_csv_schema": "pipeline.csv_format",
    "run_csv_job": "pipeline.csv_job",
    "JobOutput": "pipeline.layout",
    "DecodeOptions": "pipeline.loaders",
    "FeatureSpec": "pipeline.loaders",
    "KerasPyDataset": "pipeline.loaders",
    "NumpyLoader": "pipeline.loaders",
    "OrderOptions": "pipeline.loaders",
    "SourceOptions": "pipeline.loaders",
    "WorkerOptions": "pipeline.loaders",
    "TorchIterableDataset": "pipeline.loaders",
    "load_spec": "pipeline.loaders",
    "resolve_files": "pipeline.loaders",
    "tf_dataset": "pipeline.loaders",
    "AugmentJobOptions": "pipeline.options",
    "AugmentOptions": "pipeline.options",
    "CsvJobOptions": "pipeline.options",
    "RunnerOptions": "pipeline.options",
    "TransformJobOptions": "pipeline.options",
    "make_preprocessing_fn": "pipeline.preprocessing",
    "schema_preprocessing_fn": "pipeline.preprocessing",
    "transform_rows": "pipeline.preprocessing",
    "JobResult": "pipeline.results",
    "SplitInfo": "pipeline.results",
    "Column": "pipeline.schema",
    "Schema": "pipeline.schema",
    "load_schema": "pipeline.schema",
    "parse_schema": "pipeline.schema",
    "save_schema": "pipeline.schema",
    "transformed_name": "pipeline.schema",
    "run_transform_job": "pipeline.transform_job",
}

__all__ = [
    "CloudAccessError",
    "InputError",
    "JobFailedError",
    "JobOptionsError",
    "OutputExistsError",
    "OutputWriteError",
    "LoaderError",
    "LoaderOptionError",
    "PipelineError",
    "RecordSpecError",
    "SchemaError",
    "TooManyBadRowsError",
    "WorkerError",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
