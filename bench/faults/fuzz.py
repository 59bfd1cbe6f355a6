"""placeholder: filled in below."""

from __future__ import annotations

from outcome import Row


def fuzz(ctx) -> Row:  # noqa: ANN001
    row = Row("R?", "fuzz")
    row.skipped = "not built yet"
    return row
