"""recio, the application: the `recio` command and the chapter-13 demo.

The three libraries underneath never import this package: `recordio` (TFRecord files, no
TensorFlow), `pipeline` (Beam + tf.Transform jobs and the loaders) and `models` (the book's
Keras models and training). This package wires them to the command line, importing the heavy
ones only inside the commands that need them.
"""

from importlib import metadata

try:
    __version__ = metadata.version("recio")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
