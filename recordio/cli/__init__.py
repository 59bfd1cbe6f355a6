"""The `recio` command: thin wrappers over the recordio, pipeline and models packages.

Each command module exposes `register(app)`. Modules that need Beam, TensorFlow or Keras import
them inside the command bodies so that `recio --help` and `recio verify` start fast.
"""

from __future__ import annotations

import os
import sys

import typer

from recordio.cli import _console, demo, jobs, records, training
from recordio.errors import RecordIOError

app = typer.Typer(
    name="recio",
    help="TFRecord files from raw data to a busy GPU.\n\nExample: recio verify 'data/train-*.tfrecord.gz'",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
for _module in (records, jobs, training, demo):
    _module.register(app)

__all__ = ["app", "main"]


def _exit_code(error: BaseException) -> int:
    from recordio.errors import CompressionError

    if isinstance(error, RecordIOError) and not isinstance(error, CompressionError):
        return _console.EXIT_DAMAGED
    return _console.EXIT_USER_ERROR


def main() -> None:
    """Console-script entry: user-facing errors become one line on stderr, never a traceback."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _console.info("Interrupted.")
        sys.exit(130)
    except BrokenPipeError:
        # `recio read ... | head`: the reader went away, which is not our failure.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("RECIO_DEBUG"):
            raise
        user_facing = isinstance(error, (RecordIOError, OSError)) or getattr(
            error, "user_facing", False
        )
        if user_facing:
            message = str(error)
            if isinstance(error, OSError) and error.filename:
                message = f"{error.filename}: {error.strerror or error}"
            try:
                _console.abort(message, _exit_code(error))
            except typer.Exit as exit_:
                sys.exit(exit_.exit_code)
        try:
            _console.abort(
                f"internal error: {type(error).__name__}: {error} "
                "(rerun with RECIO_DEBUG=1 for a traceback and report it)",
                _console.EXIT_INTERNAL,
            )
        except typer.Exit as exit_:
            sys.exit(exit_.exit_code)
