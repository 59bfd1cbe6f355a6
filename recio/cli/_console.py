"""Where the CLI's words go: data to stdout, everything a person reads to stderr."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import typer

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_DAMAGED = 3
EXIT_INTERNAL = 70


def info(message: str) -> None:
    typer.echo(message, err=True)


def warn(message: str) -> None:
    typer.secho(f"Warning: {message}", err=True, fg=typer.colors.YELLOW)


def abort(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    """One line on stderr and a non-zero exit: the CLI's only way to fail."""
    first = " ".join(str(message).split("\n")[0].split())
    typer.secho(f"Error: {first}", err=True, fg=typer.colors.RED)
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
