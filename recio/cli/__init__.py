"""The `recio` command: thin wrappers over the recordio, pipeline and models libraries.

Each command module exposes `register(app)`. Modules that need Beam, TensorFlow or Keras import
them inside the command bodies, so `recio --help` and `recio verify` start fast and work on a
bare `pip install recio`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

import typer

from recio.cli import _console, _errors, access, data, demo, jobs, records, sets, training

app = typer.Typer(
    name="recio",
    help="TFRecord files from raw data to a busy GPU.\n\n"
    "Example: recio verify 'data/train-*.tfrecord.gz'",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
for _module in (records, access, sets, data, jobs, training, demo):
    _module.register(app)

__all__ = ["app", "main"]


def _exit(message: str, code: int) -> None:
    try:
        _console.abort(message, code)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)


def _stdout_gone() -> None:
    """`recio read ... | head`: the reader went away, which is not our failure."""
    with contextlib.suppress(OSError):  # stdout closed altogether
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)


_signalled: list[int] = []


def _on_signal(signum: int, frame: object) -> None:
    _signalled.append(signum)
    raise _console.Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _signal_again(unraisable: Any) -> None:
    """An interrupt raised inside a callback that may not raise (a gc callback, `__del__`) is
    swallowed there; deliver the signal again, so the program still stops at the next line."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _signalled:
        # Not from here: the handler would run inside this hook and be swallowed again.
        threading.Timer(0.01, os.kill, (os.getpid(), _signalled[-1])).start()
        return
    sys.__unraisablehook__(unraisable)


def _catch_signals() -> None:
    """SIGTERM unwinds like Ctrl-C, so every writer's and job's cleanup runs for both."""
    with contextlib.suppress(ValueError):  # not the main thread (tests calling main())
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        sys.unraisablehook = _signal_again


def _interrupted() -> None:
    """Click turns an interrupt inside a command into exit code 130: say which signal it was."""
    if _signalled and _signalled[-1] == signal.SIGTERM:
        _console.info("Terminated.")
        sys.exit(_console.EXIT_TERMINATED)
    _console.info("Interrupted.")
    sys.exit(130)


def _is_broken_pipe(error: BaseException | None) -> bool:
    return isinstance(error, OSError) and error.errno == errno.EPIPE


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry: user-facing errors become one line on stderr, never a traceback."""
    _console.guard_std_streams()
    _catch_signals()
    args = list(sys.argv[1:] if argv is None else argv)
    args, beam_args = jobs.split_beam_args(args)
    try:
        code = app(args=args, prog_name="recio", standalone_mode=False, obj=beam_args)
    except SystemExit as exit_:
        if _is_broken_pipe(exit_.__context__):  # click exits 1 on EPIPE; a closed reader is fine
            _stdout_gone()
        raise
    except _console.Terminated:
        _console.info("Terminated.")
        sys.exit(_console.EXIT_TERMINATED)
    except _console.ClosedStreamError as error:
        _exit(str(error), _console.EXIT_USER_ERROR)
    except KeyboardInterrupt:
        _console.info("Interrupted.")
        sys.exit(130)
    except BrokenPipeError:
        _stdout_gone()
    except typer.TyperException as error:  # click's usage errors (typer vendors click)
        if _errors.is_no_args_help(error):
            error.show()  # type: ignore[attr-defined]
            sys.exit(error.exit_code)
        # Bad option or argument: one line naming the command to ask for help.
        ctx = getattr(error, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _exit(f"{error.format_message()}{where}", error.exit_code)
    except typer.Abort:  # click turns Ctrl-C inside a command into Abort
        _interrupted()
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("RECIO_DEBUG"):
            raise
        found = _errors.describe(error)
        if found is not None:
            _exit(*found)
        _exit(
            f"internal error: {type(error).__name__}: {error} "
            "(rerun with RECIO_DEBUG=1 for a traceback and report it)",
            _console.EXIT_INTERNAL,
        )
    if code == 130:
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)
