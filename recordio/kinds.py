"""The three kinds of values a tf.train.Example feature holds, spelt one way in every package.

An Example feature is an Int64List, a FloatList (float32) or a BytesList; recio calls the kinds
`int64`, `float` and `bytes` everywhere: in schemas, feature specs, JSON and reports. `Kind.parse`
still reads the other names people write ("int", "float32", "string", TF metadata's "INT" ...),
so hand-written schemas keep working.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from recordio.errors import OptionError

_ALIASES = {
    "int64": "int64", "int": "int64", "integer": "int64", "long": "int64", "int32": "int64",
    "float": "float", "float32": "float", "float64": "float", "double": "float",
    "number": "float",
    "bytes": "bytes", "string": "bytes", "str": "bytes", "text": "bytes", "category": "bytes",
}  # fmt: skip


class Kind(StrEnum):
    """The value list of a feature: INT64 (int64), FLOAT (float32) or BYTES."""

    INT64 = "int64"
    FLOAT = "float"
    BYTES = "bytes"

    @classmethod
    def parse(cls, value: Any, *, what: str = "kind") -> Kind:
        """A Kind from any usual spelling; `what` names the value in the error."""
        if isinstance(value, Kind):
            return value
        name = _ALIASES.get(str(value).strip().lower()) if isinstance(value, str) else None
        if name is None:
            raise OptionError(f"{what}: unknown kind {value!r}; use int64, float or bytes")
        return cls(name)

    @classmethod
    def of_array(cls, array: Any) -> Kind:
        """The kind of a numpy array as `decode_example(..., numpy=True)` returns it."""
        char = array.dtype.kind
        if char == "O" or char == "S":
            return cls.BYTES
        if char == "f":
            return cls.FLOAT
        return cls.INT64

    @property
    def dtype(self) -> str:
        """The numpy dtype of decoded values: int64, float32, or object for bytes."""
        return _DTYPE[self]

    @property
    def numeric(self) -> bool:
        return self is not Kind.BYTES


_DTYPE = {Kind.INT64: "int64", Kind.FLOAT: "float32", Kind.BYTES: "object"}

__all__ = ["Kind"]
