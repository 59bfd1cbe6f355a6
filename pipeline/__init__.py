"""Beam + tf.Transform jobs and loaders that turn raw data into batches for training.

Heavy dependencies (apache_beam, tensorflow, tensorflow_transform) are imported inside the
functions that need them, so importing this package is cheap.
"""

from pipeline.errors import PipelineError

__all__ = ["PipelineError"]
