"""Flags declared once and shared by several commands, each group arriving as one object.

    @app.command("csv")
    @option_group("runner", RUNNER_FLAGS, build=runner_options)
    def csv_command(ctx: typer.Context, inputs: ..., runner: Any = None) -> None: ...

The decorator adds the group's flags to the command's signature (typer reads it from there) and
calls the command with `runner=build(ctx, **flag_values)` instead of the separate values.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer

Flags = Mapping[str, tuple[Any, Any]]  # parameter name -> (Annotated type, default)


# Single flags that several command groups take, spelt and explained the same everywhere.
ReadCompression = Annotated[
    str | None,
    typer.Option(
        "--compression",
        "-c",
        help="NONE, GZIP or ZLIB (any case). Default: detect it from the first bytes.",
        show_default=False,
    ),
]
MaxRecordBytes = Annotated[
    int,
    typer.Option(
        "--max-record-bytes",
        min=0,
        help="Refuse records claiming more bytes than this (a damaged or forged length field).",
    ),
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace an existing output (never an input).")
]


def option_group(
    into: str, flags: Flags, *, build: Callable[..., Any]
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Replace the command's parameter `into` by the `flags`, built into one value."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        kept = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.name != "ctx" else p
            for p in signature.parameters.values()
            if p.name != into
        ]
        added = [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind
            )
            for name, (kind, default) in flags.items()
        ]

        @functools.wraps(command)
        def wrapper(ctx: typer.Context, **values: Any) -> None:
            group = {name: values.pop(name) for name in flags}
            command(ctx, **{into: build(ctx, **group)}, **values)

        parameters = [*kept, *added]
        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate
