"""Where the CLI's words go: data to stdout, everything a person reads to stderr."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from typing import Any, NoReturn

import typer

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_DAMAGED = 3
EXIT_INTERNAL = 70
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so cleanup paths written for Ctrl-C also run."""


class ClosedStreamError(OSError):
    """The command needs standard input or output, and the shell started it closed."""


class _Closed(io.TextIOBase):
    """Stands in for a stream the shell closed (`<&-`, `>&-`): using it is one clear error."""

    def __init__(self, name: str, advice: str) -> None:
        self._message = f"standard {name} is closed; {advice}"
        self.buffer = self

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise ClosedStreamError(self._message)

    read = readline = readlines = readinto = write = writelines = _fail

    def flush(self) -> None:  # interpreter shutdown flushes stdout: nothing to say then
        return None

    def fileno(self) -> int:
        raise ClosedStreamError(self._message)

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True


def guard_std_streams() -> None:
    """Replace closed standard streams, so a command that never uses them still works."""
    for fd, name, words, advice in (
        (0, "stdin", "input", "name an input file or pipe data in"),
        (1, "stdout", "output", "redirect the output to a file or a pipe"),
        (2, "stderr", "error", ""),
    ):
        try:
            os.fstat(fd)
        except OSError:
            if fd == 2:  # nobody can read our messages; keep going quietly
                os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - lives as long as we do
                continue
            setattr(sys, name, _Closed(words, advice))
            # Keep the descriptor taken, so no file we open later becomes "stdout" by accident.
            os.dup2(os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY), fd)


def info(message: str) -> None:
    typer.echo(message, err=True)


def warn(message: str) -> None:
    typer.secho(f"Warning: {message}", err=True, fg=typer.colors.YELLOW)


def abort(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    """One line on stderr and a non-zero exit: the CLI's only way to fail."""
    first = " ".join(str(message).split("\n")[0].split())
    typer.secho(f"Error: {first}", err=True, fg=typer.colors.RED)
    with contextlib.suppress(OSError, ValueError):  # stdout may be a closed pipe or closed
        sys.stdout.flush()
    raise typer.Exit(code)


class _StepLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        info(f"... {record.getMessage()}")


def show_library_steps(logger: logging.Logger) -> None:
    """Print a library's INFO messages (what it is doing) as `... message` lines on stderr."""
    if not any(isinstance(h, _StepLines) for h in logger.handlers):
        logger.addHandler(_StepLines(logging.INFO))
    logger.setLevel(logging.INFO)
    logger.propagate = False
