"""A batch of serialized Examples as columns: per feature, its kind, per-record lengths, values.

Profiling (pipeline.inspect) and conversion to Arrow/Parquet (recordio.tabular) work on columns,
so that values are handled with numpy per batch, not one by one in Python. Two decoders fill
them: the general one decodes each record with recordio, and a fast one handles the common
case of a batch whose records all share one byte layout (same features, same lengths, e.g.
Fashion-MNIST's 784-byte image and a one-byte label), slicing the values out of a 2-D array.
A batch with any record that does not fit the layout goes to the general decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recordio.example import decode_example
from recordio.kinds import Kind
from recordio.wire import uvarint_unchecked

_KIND_OF_TYPE = {bytes: Kind.BYTES, float: Kind.FLOAT, int: Kind.INT64}


@dataclass
class Column:
    """One feature over a batch of `n` records.

    lengths[i] is the number of values in record i, -1 where the feature is absent. values are
    all the values in record order: int64 / float32 arrays, or a list of bytes.
    """

    kind: Kind | None
    lengths: np.ndarray
    values: Any


def decode_columns(records: list[bytes]) -> tuple[dict[str, Column], set[str]]:
    """Columns of a batch, and the names of features seen with more than one kind."""
    template = _Template.of(records[0]) if records else None
    if template is not None and len(records) > 8:
        fast = template.columns(records)
        if fast is not None:
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
    template (the general decoder runs).
    """

    def __init__(self, size: int, slots: list[_Slot], mask: np.ndarray, frame: np.ndarray):
        self.size, self.slots, self.mask, self.frame = size, slots, mask, frame

    @classmethod
    def of(cls, record: bytes) -> _Template | None:
        try:
            slots = _layout(record)
        except (IndexError, ValueError):
            return None
        if slots is None:
            return None
        mask = np.ones(len(record), dtype=bool)  # True = a structural byte that must match
        for slot in slots:
            mask[slot.start : slot.stop] = False
        frame = np.frombuffer(record, dtype=np.uint8)
        # int64 one-byte varints: the high bit is structure (must stay 0), checked separately.
        return cls(len(record), slots, mask, frame[mask].copy())

    def columns(self, records: list[bytes]) -> dict[str, Column] | None:
        size = self.size
        if set(map(len, records)) != {size}:
            return None
        grid = np.frombuffer(b"".join(records), dtype=np.uint8).reshape(len(records), size)
        if not np.array_equal(
            grid[:, self.mask], np.broadcast_to(self.frame, (len(records), self.frame.size))
        ):
            return None
        n = len(records)
        out: dict[str, Column] = {}
        for slot in self.slots:
            block = grid[:, slot.start : slot.stop]
            lengths = np.full(n, slot.count, dtype=np.int64)
            if slot.kind is Kind.INT64:
                if (block >= 128).any():
                    return None
                values: Any = block.astype(np.int64).ravel()
            elif slot.kind is Kind.FLOAT:
                values = np.ascontiguousarray(block).view("<f4").astype(np.float32).ravel()
            else:
                values = [r[slot.start : slot.stop] for r in records]
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


__all__ = ["Column", "decode_columns"]
