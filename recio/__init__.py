"""recio, the application: the `recio` command and the chapter-13 demo.

The three libraries underneath never import this package: `recordio` (TFRecord files, no
TensorFlow), `pipeline` (Beam + tf.Transform jobs and the loaders) and `models` (the book's
Keras models and training). This package wires them to the command line, importing the heavy
ones only inside the commands that need them.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name == "__version__":  # looked up on demand: reading metadata costs start-up time
        from importlib import metadata

        try:
            return metadata.version("recio")
        except metadata.PackageNotFoundError:  # a checkout that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'recio' has no attribute {name!r}")
