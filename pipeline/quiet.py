"""Keeping TensorFlow's native start-up chatter off the user's terminal.

TF 2.21 writes its oneDNN, CPU-feature and CUDA-probing lines straight to file descriptor 2
before absl logging is configured, so TF_CPP_MIN_LOG_LEVEL does not stop them. Commands import
TensorFlow inside `quiet_native_startup()`; whatever else is written meanwhile (real warnings
and errors) is passed on when the block ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

_NATIVE_NOISE = (
    b"WARNING: All log messages before absl::InitializeLog()",
    b"I0000 ",
    b"failed call to cuInit",
    b"Unable to register cu",
    b"computation placer already registered",
    b"This TensorFlow binary is optimized",
    b"To enable the following instructions",
)


@contextlib.contextmanager
def quiet_native_startup() -> Iterator[None]:
    """Hide the C++ start-up chatter TensorFlow writes straight to fd 2 (oneDNN, CUDA probing).

    TF 2.21 logs these before absl logging is configured, so TF_CPP_MIN_LOG_LEVEL does not stop
    them. Everything else written meanwhile (real warnings and errors) is passed on afterwards.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (embedded use): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured if not any(n in line for n in _NATIVE_NOISE)]
            if kept:
                sys.stderr.buffer.write(b"".join(kept))
                sys.stderr.flush()


def _only_critical(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.CRITICAL


def quiet_library_logs() -> None:
    """Keep library logging off the terminal: our errors are re-raised and shown as one line.

    Beam, TF and absl log each worker error with a traceback before it is re-raised, and
    tf.Transform warns about analyzer cache keys on every run. absl resets its logger's level
    when its flags are parsed, so a filter (which nothing resets) does the work, not the level.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ.get("RECIO_DEBUG"):
        return
    for name in ("apache_beam", "tensorflow", "tensorflow_transform", "absl"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL)
        if _only_critical not in logger.filters:
            logger.addFilter(_only_critical)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (and probe its devices, which logs too) without the chatter."""
    with quiet_native_startup():
        import tensorflow as tf

        tf.config.list_physical_devices()


__all__ = ["import_tensorflow_quietly", "quiet_library_logs", "quiet_native_startup"]
