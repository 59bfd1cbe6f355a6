"""Loaders that keep a GPU busy: tf.data (TensorFlow) and NumpyLoader (recordio only).

Both read the same files (a `recio job transform` / `recio job csv` output folder, `recio write`
output, any folder, glob or list of Example TFRecords, GZIP detected) and yield
`(features_dict, label)` batches. Importing this package imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

from typing import Any

from pipeline.errors import LoaderError, LoaderOptionError, RecordSpecError, WorkerError
from pipeline.loaders.files import resolve_files
from pipeline.loaders.numpy_loader import NumpyLoader
from pipeline.loaders.options import DecodeOptions, OrderOptions, SourceOptions, WorkerOptions
from pipeline.loaders.spec import FeatureSpec, load_spec

__all__ = [
    "DecodeOptions",
    "FeatureSpec",
    "JaxBatches",
    "KerasPyDataset",
    "LoaderError",
    "LoaderOptionError",
    "NumpyLoader",
    "OrderOptions",
    "RecordSpecError",
    "SourceOptions",
    "TorchIterableDataset",
    "WorkerError",
    "WorkerOptions",
    "load_spec",
    "resolve_files",
    "tf_dataset",
]


def __getattr__(name: str) -> Any:  # lazy: these import TensorFlow, Keras or torch on first use
    if name == "tf_dataset":
        from pipeline.loaders.tfdata import tf_dataset

        return tf_dataset
    if name == "KerasPyDataset":
        from pipeline.loaders.adapters import KerasPyDataset

        return KerasPyDataset
    if name == "JaxBatches":
        from pipeline.loaders.jax_adapter import JaxBatches

        return JaxBatches
    if name == "TorchIterableDataset":
        from pipeline.loaders.torch_adapter import TorchIterableDataset

        return TorchIterableDataset
    raise AttributeError(f"module 'pipeline.loaders' has no attribute {name!r}")
