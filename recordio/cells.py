"""What a text cell holds: the one rule for reading numbers out of CSV (and other text) cells.

`recio write` (this package) and `recio job csv` (the pipeline package, vectorised over Arrow
arrays with the same patterns) both decide a column's kind with it, so one column never gets two
kinds. A cell is an int64 when it is a whole number in int64's range, a float when it is any
decimal number (exponents, `nan`, `inf` and `infinity` included, any case), else bytes;
surrounding blanks are ignored and a blank cell holds nothing.
"""

from __future__ import annotations

import re

from recordio.kinds import Kind

# RE2-compatible (pyarrow's match_substring_regex runs them too); match the whole cell.
INT_PATTERN = r"^\s*[+-]?[0-9]+\s*$"
FLOAT_PATTERN = (
    r"^\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[nN][aA][nN]"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)\s*$"
)
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
_INT = re.compile(INT_PATTERN)
_FLOAT = re.compile(FLOAT_PATTERN)


def parse_int(text: str) -> int | None:
    """The int64 a cell holds, or None."""
    if not _INT.match(text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


def parse_float(text: str) -> float | None:
    """The number a cell holds (as a Python float), or None."""
    return float(text) if _FLOAT.match(text) else None


def cell_kind(text: str) -> Kind | None:
    """INT64, FLOAT or BYTES for one cell; None for a blank one."""
    if not text.strip():
        return None
    if parse_int(text) is not None:
        return Kind.INT64
    if _FLOAT.match(text):
        return Kind.FLOAT
    return Kind.BYTES


def widen(old: Kind | None, new: Kind | None) -> Kind | None:
    """The kind of a column holding cells of both kinds (int64 + float -> float, else bytes)."""
    if old is None or old == new:
        return new
    if new is None:
        return old
    if Kind.BYTES in (old, new):
        return Kind.BYTES
    return Kind.FLOAT


__all__ = [
    "FLOAT_PATTERN",
    "INT64_MAX",
    "INT64_MIN",
    "INT_PATTERN",
    "cell_kind",
    "parse_float",
    "parse_int",
    "widen",
]
