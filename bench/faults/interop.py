"""placeholder: filled in below."""

from __future__ import annotations

from outcome import Row


def interop(ctx) -> Row:  # noqa: ANN001
    row = Row("R?", "interop")
    row.skipped = "not built yet"
    return row
