"""`builtin:people[:ROWS]` and `builtin:shapes[:PER_CLASS]`: demo inputs, made at the CLI's edge.

The jobs only ever see paths: a built-in input is written to a scratch folder (removed when the
command ends) and replaced by that file or folder; `builtin:people` also brings its schema when
the command was given none.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from recio.cli import _console

PREFIX = "builtin:"
DEFAULT_SIZES = {"people": 1000, "shapes": 20}


def _scratch() -> Path:
    folder = tempfile.mkdtemp(prefix="recio-builtin-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)


def parse(item: str) -> tuple[str, int]:
    """(dataset name, size) of one `builtin:NAME[:SIZE]` input; exits 2 on a bad one."""
    name, _, size_text = item[len(PREFIX) :].partition(":")
    if name not in DEFAULT_SIZES:
        _console.abort(
            f"{item}: unknown built-in dataset; use builtin:people[:ROWS] (CSV) "
            "or builtin:shapes[:IMAGES_PER_CLASS] (PNG folder)",
            _console.EXIT_USAGE,
        )
    if not size_text:
        return name, DEFAULT_SIZES[name]
    if not size_text.isdigit():
        _console.abort(
            f"{item}: the size after the second ':' must be a whole number >= 0",
            _console.EXIT_USAGE,
        )
    return name, int(size_text)


def resolve(inputs: Sequence[str], schema: str | None) -> tuple[tuple[str, ...], str | None]:
    """The inputs with every built-in one replaced by generated files, and the schema to use."""
    if not any(item.startswith(PREFIX) for item in inputs):
        return tuple(inputs), schema
    from recio.demo.data import people_schema_dict, write_people_csv, write_shape_images

    scratch = _scratch()
    resolved = []
    for item in inputs:
        if not item.startswith(PREFIX):
            resolved.append(item)
            continue
        name, size = parse(item)
        if name == "people":
            resolved.append(str(write_people_csv(scratch / "people.csv", size)))
            if schema is None:
                schema = str(scratch / "people-schema.json")
                Path(schema).write_text(json.dumps(people_schema_dict(), indent=2))
        else:
            resolved.append(str(write_shape_images(scratch / "shapes", size)))
    return tuple(resolved), schema
