"""The `recio` command: thin wrappers over the recordio, pipeline and models packages.

Each command module exposes `register(app)`. Modules that need Beam, TensorFlow or Keras import
them inside the command bodies so that `recio --help` and `recio verify` start fast.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

from recordio.cli import _console, demo, jobs, records, training
from recordio.errors import RecordIOError

app = typer.Typer(
    name="recio",
    help="TFRecord files from raw data to a busy GPU.\n\n"
    "Example: recio verify 'data/train-*.tfrecord.gz'",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
for _module in (records, jobs, training, demo):
    _module.register(app)

__all__ = ["app", "main"]


def _exit_code(error: BaseException) -> int:
    """3 when the data itself is damaged; 1 for every other user-facing error."""
    from recordio.errors import (
        CompressedStreamError,
        CorruptRecordError,
        RecordTooLargeError,
        TrailingDataError,
        TruncatedRecordError,
    )

    damaged = (
        CorruptRecordError,
        TruncatedRecordError,
        RecordTooLargeError,
        CompressedStreamError,
        TrailingDataError,
    )
    return _console.EXIT_DAMAGED if isinstance(error, damaged) else _console.EXIT_USER_ERROR


def _click_exceptions() -> tuple[type[Exception], type[Exception], type[Exception]]:
    try:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
    except ImportError:  # typer releases that use click itself
        from click.exceptions import ClickException, NoArgsIsHelpError
    return ClickException, NoArgsIsHelpError, typer.Abort


def _fail(message: str, code: int) -> NoReturn:
    try:
        _console.abort(message, code)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)


def main() -> None:
    """Console-script entry: user-facing errors become one line on stderr, never a traceback."""
    click_error, no_args_help, click_abort = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _console.info("Interrupted.")
        sys.exit(130)
    except BrokenPipeError:
        # `recio read ... | head`: the reader went away, which is not our failure.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except no_args_help as error:
        error.show()  # type: ignore[attr-defined]  # bare `recio` or group: print the help
        sys.exit(error.exit_code)  # type: ignore[attr-defined]
    except click_error as error:
        # Bad option or argument: one line naming the command to ask for help.
        ctx = getattr(error, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(f"{error.format_message()}{where}", error.exit_code)  # type: ignore[attr-defined]
    except click_abort:  # click turns Ctrl-C inside a command into Abort
        _console.info("Interrupted.")
        sys.exit(130)
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
            _fail(message, _exit_code(error))
        _fail(
            f"internal error: {type(error).__name__}: {error} "
            "(rerun with RECIO_DEBUG=1 for a traceback and report it)",
            _console.EXIT_INTERNAL,
        )
    sys.exit(code if isinstance(code, int) else 0)
