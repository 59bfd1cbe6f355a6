"""Rules every writer of user files follows: no replacing without consent, never an input.

`recio write h.csv rows.jsonl` (the two arguments swapped) must not turn a CSV into one record,
and `recio write h.csv h.csv` must not read a file while it replaces it. The checks run before
any record is written, so a refused command leaves every file as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from recordio.errors import OutputExistsError, UnsafePathError

# Names a person passes as inputs; an existing output with one of these endings was most
# likely meant to be read, not written.
_INPUT_ENDINGS = (".csv", ".jsonl", ".json", ".txt", ".b64", ".tsv")


def check_path(path: str) -> str:
    """Refuse a path no file can have, naming it as the user gave it."""
    if "\0" in path:
        raise UnsafePathError(
            "the path contains a NUL byte, which no file name can hold",
            path=path.replace("\0", "\\0"),
            hint="check how the name was built",
        )
    return path


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_unsafe_outputs(
    outputs: Iterable[str], inputs: Iterable[str] = (), *, overwrite: bool = False
) -> None:
    """Raise unless every output may be written: not an input (ever), not existing (unless
    `overwrite`). `-` (stdin/stdout) is never a file here."""
    sources = [p for p in inputs if p != "-"]
    for out in outputs:
        if out == "-":
            continue
        check_path(out)
        for source in sources:
            if _same_file(out, source):
                raise OutputExistsError(
                    "is also an input; a command never writes over its own input",
                    path=out,
                    hint="write to a new name, then rename it",
                )
        if os.path.lexists(out) and not overwrite:
            hint = "pass overwrite=True to replace it"
            if out.lower().endswith(_INPUT_ENDINGS):
                hint = "the output comes first (OUT, then the inputs); " + hint
            raise OutputExistsError("already exists", path=out, hint=hint, params=("overwrite",))


__all__ = ["check_path", "refuse_unsafe_outputs"]
