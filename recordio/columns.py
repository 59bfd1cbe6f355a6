"""A batch of serialized Examples as columns: per feature, its kind, per-record lengths, values.

Profiling (pipeline.inspect) and conversion to Arrow/Parquet (recordio.tabular) work on columns,
so that values are handled with numpy per batch, not one by one in Python. Two decoders fill
them: the general one decodes each record with recordio, and a fast one handles the common
case of a batch whose records all share one byte layout (same features, same lengths, e.g.
Fashion-MNIST's 784-byte image and a one-byte label), slicing the values out of a 2-D array.
A batch with any record that does not fit the layout goes to the general decoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recordio import _backend
from recordio.example import decode_example
from recordio.kinds import Kind
from recordio.wire import uvarint_unchecked

_KIND_OF_TYPE = {bytes: Kind.BYTES, float: Kind.FLOAT, int: Kind.INT64}


class Column:
    """One feature over a batch of `n` records.

    lengths[i] is the number of values in record i, -1 where the feature is absent. values are
    all the values in record order: int64 / float32 arrays, or a list of bytes. A bytes column
    that the fast decoder cut from records sharing one layout keeps only where its values lie
    (the same slice of every record): `values` slices them out on first use, while
    `value_sizes` and `value_crc32c` (what statistics need) never build them.
    """

    __slots__ = ("_slice", "_values", "kind", "lengths")

    def __init__(self, kind: Kind | None, lengths: np.ndarray, values: Any) -> None:
        self.kind = kind
        self.lengths = lengths
        self._values = values
        self._slice: tuple[list[bytes], int, int] | None = None

    @classmethod
    def sliced(cls, lengths: np.ndarray, records: list[bytes], start: int, stop: int) -> Column:
        """A bytes column holding `record[start:stop]` of each record (one value per record)."""
        column = cls(Kind.BYTES, lengths, None)
        column._slice = (records, start, stop)
        return column

    @property
    def values(self) -> Any:
        if self._values is None and self._slice is not None:
            records, start, stop = self._slice
            self._values = [record[start:stop] for record in records]
        return self._values

    def value_sizes(self) -> np.ndarray:
        """The size in bytes of each value of a bytes column (int64)."""
        if self._slice is not None:
            records, start, stop = self._slice
            return np.full(len(records), stop - start, dtype=np.int64)
        values = self._values
        return np.fromiter(map(len, values), dtype=np.int64, count=len(values))

    def value_crc32c(self) -> np.ndarray:
        """The CRC-32C of each value of a bytes column (uint32), in one batched call."""
        if self._slice is not None:
            records, start, stop = self._slice
            return crc32c_values(records, start, stop)
        return crc32c_values(self._values)

    def __repr__(self) -> str:
        return f"Column(kind={self.kind!r}, lengths={self.lengths!r}, values={self.values!r})"


def crc32c_values(
    values: Sequence[bytes | bytearray | memoryview], start: int = 0, stop: int = -1
) -> np.ndarray:
    """CRC-32C of `value[start:stop]` (stop < 0: to the end) of every value, as uint32: one
    call into the accelerator per batch (three values at a time with the hardware CRC)."""
    return np.frombuffer(_backend.crc32c_many(values, start, stop), dtype="<u4").astype(np.uint32)


def decode_columns(records: list[bytes]) -> tuple[dict[str, Column], set[str]]:
    """Columns of a batch, and the names of features seen with more than one kind."""
    return ColumnDecoder().decode(records)


class ColumnDecoder:
    """`decode_columns` for a stream of batches: the layout found in one batch is tried first
    on the next (every record is still checked against it), so it is derived once per file
    rather than once per batch.

    After each `decode`, `record_size` is the size every record of that batch had when the
    fast decoder read it (all records share one layout, so one size), else None.
    """

    def __init__(self) -> None:
        self._template: _Template | None = None
        self.record_size: int | None = None

    def decode(self, records: list[bytes]) -> tuple[dict[str, Column], set[str]]:
        self.record_size = None
        if len(records) > 8:
            template = self._template
            fast = template.columns(records) if template is not None else None
            if fast is None:
                template = _Template.of(records[0])
                fast = template.columns(records) if template is not None else None
            if fast is not None:
                assert template is not None
                self._template, self.record_size = template, template.size
                return fast, set()
        return _general_columns(records)


def _general_columns(records: list[bytes]) -> tuple[dict[str, Column], set[str]]:
    n = len(records)
    lengths: dict[str, np.ndarray] = {}
    values: dict[str, list[Any]] = {}
    kinds: dict[str, Kind | None] = {}
    mixed: set[str] = set()
    for i, record in enumerate(records):
        for name, vals in decode_example(record).items():
            got = lengths.get(name)
            if got is None:
                got = lengths[name] = np.full(n, -1, dtype=np.int64)
                values[name] = []
                kinds[name] = None
            got[i] = len(vals)
            if vals:
                first = type(vals[0])
                kind = (
                    Kind.BYTES if first is bytes else Kind.FLOAT if first is float else Kind.INT64
                )
                old = kinds[name]
                if old is None:
                    kinds[name] = kind
                elif old is not kind:
                    mixed.add(name)
                    continue
                values[name].extend(vals)
    columns = {}
    for name, lens in lengths.items():
        found = kinds[name]
        flat: Any = values[name]
        if found is Kind.INT64:
            flat = np.asarray(flat, dtype=np.int64)
        elif found is Kind.FLOAT:
            flat = np.asarray(flat, dtype=np.float32)
        columns[name] = Column(found, lens, flat)
    return columns, mixed


@dataclass
class _Slot:
    """Where one feature's values sit in the template record."""

    name: str
    kind: Kind
    start: int
    stop: int
    count: int


class _Template:
    """The byte layout of one record: everything but the values must match in the others.

    Only single-value bytes features, and int64 features whose values are all one-byte varints
    (0..127: labels, small counts), and packed float lists qualify; anything else means no
    template (the general decoder runs). A batch is checked by gathering, in one call, the
    structure of every record (the bytes between values: a few per record) and comparing it
    with the template's; the numbers are gathered in a second call, and bytes values stay in
    the records (Column.sliced).
    """

    def __init__(self, record: bytes, slots: list[_Slot]) -> None:
        self.size, self.slots = len(record), slots
        structure: list[tuple[int, int]] = []  # the byte ranges between values
        at = 0
        for slot in slots:
            if slot.start > at:
                structure.append((at, slot.start))
            at = slot.stop
        if len(record) > at:
            structure.append((at, len(record)))
        self.structure = structure
        # int64 one-byte varints: the high bit is structure (must stay 0), checked separately.
        self.frame = b"".join(record[a:b] for a, b in structure)
        self.numbers = [(s.start, s.stop) for s in slots if s.kind is not Kind.BYTES]

    @classmethod
    def of(cls, record: bytes) -> _Template | None:
        try:
            slots = _layout(record)
        except (IndexError, ValueError):
            return None
        if slots is None:
            return None
        return cls(record, slots)

    def columns(self, records: list[bytes]) -> dict[str, Column] | None:
        n = len(records)
        if _backend.gather_slices(records, self.structure, self.size) != self.frame * n:
            return None  # a record of another size (None), or other structure
        numbers = _backend.gather_slices(records, self.numbers, self.size)
        assert numbers is not None
        grid = np.frombuffer(numbers, dtype=np.uint8).reshape(n, -1)
        out: dict[str, Column] = {}
        first = 0
        for slot in self.slots:
            lengths = np.full(n, slot.count, dtype=np.int64)
            if slot.kind is Kind.BYTES:
                out[slot.name] = Column.sliced(lengths, records, slot.start, slot.stop)
                continue
            width = slot.stop - slot.start
            block = grid[:, first : first + width]
            first += width
            if slot.kind is Kind.INT64:
                if (block >= 128).any():
                    return None
                values: Any = block.astype(np.int64).ravel()
            else:
                values = np.ascontiguousarray(block).view("<f4").astype(np.float32).ravel()
            out[slot.name] = Column(slot.kind, lengths, values)
        return out


def _layout(record: bytes) -> list[_Slot] | None:
    """The value slots of a record in the plain layout every writer produces, else None."""
    decoded = decode_example(record)
    if not record or record[0] != 10:
        return None
    _, pos = uvarint_unchecked(record, 1)
    slots: list[_Slot] = []
    n = len(record)
    while pos < n:
        if record[pos] != 10:
            return None
        entry_len, pos = uvarint_unchecked(record, pos + 1)
        end = pos + entry_len
        if record[pos] != 10:
            return None
        key_len, pos = uvarint_unchecked(record, pos + 1)
        name = record[pos : pos + key_len].decode()
        pos += key_len
        if record[pos] != 18:
            return None
        _, pos = uvarint_unchecked(record, pos + 1)
        if pos == end:
            return None  # an unset feature
        tag = record[pos]
        _, pos = uvarint_unchecked(record, pos + 1)
        values = decoded.get(name)
        if values is None or not values:
            return None
        if tag == 10:  # BytesList: exactly one value
            if len(values) != 1 or record[pos] != 10:
                return None
            vlen, pos = uvarint_unchecked(record, pos + 1)
            slots.append(_Slot(name, Kind.BYTES, pos, pos + vlen, 1))
            pos += vlen
        elif tag in (18, 26):  # packed FloatList / Int64List
            if record[pos] != 10:
                return None
            plen, pos = uvarint_unchecked(record, pos + 1)
            kind = Kind.FLOAT if tag == 18 else Kind.INT64
            count = plen // 4 if kind is Kind.FLOAT else plen
            if kind is Kind.INT64 and len(values) != plen:
                return None  # some value takes more than one byte
            slots.append(_Slot(name, kind, pos, pos + plen, count))
            pos += plen
        else:
            return None
        if pos != end:
            return None
    if len(slots) != len(decoded):
        return None  # a repeated name
    return slots


__all__ = ["Column", "ColumnDecoder", "crc32c_values", "decode_columns"]
