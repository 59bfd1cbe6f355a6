"""tf.train.Example records -> numpy arrays, specialised to the feature spec.

Records written by one program share one byte layout: the same feature names in the same order,
the same tags and length prefixes; only the values differ. So the first record of each length is
parsed once into a *template*: which bytes are structure (must match exactly), which are varint
values (their continuation bits must match too) and where each requested feature's values lie.
A batch of records of that length is then checked and decoded with a handful of numpy operations
over a (records x length) byte matrix, instead of a Python parse per record. Any record that does
not match its template byte for byte goes through recordio's generic decoder, so a template can
make decoding faster but never different. Each template is cross-checked against the generic
decoder on the record it was built from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.errors import LoaderError, LoaderOptionError, RecordSpecError
from pipeline.loaders.spec import FeatureSpec
from recordio import ExampleDecodeError, Kind, decode_example, wire

Where = Callable[[int], tuple[str | None, int | None]]
MAX_TEMPLATES = 64
LENGTHS = "\x00lengths"  # decode() also returns name + LENGTHS: values per row of a ragged field
MIN_GROUP = 4  # fewer records of one length than this are decoded one by one

_EXAMPLE = "tf.train.Example"


@dataclass(frozen=True)
class Field:
    """One output array: how a feature is decoded and what it looks like per row.

    `row_shape` None means variable length: rows are padded to the longest in the batch (or cut
    and padded to `pad`). `raw` is the numpy dtype a single bytes value is reinterpreted as.
    """

    name: str
    kind: Kind
    shape: tuple[int, ...] | None
    dtype: np.dtype
    row_shape: tuple[int, ...] | None
    raw: np.dtype | None = None
    raw_shape: tuple[int, ...] | None = None
    pad: int | None = None

    @property
    def size(self) -> int | None:
        return None if self.shape is None else int(np.prod(self.shape, dtype=np.int64))

    @property
    def numeric(self) -> bool:
        return self.dtype != np.dtype(object)

    @property
    def fixed_width(self) -> bool:
        """True when every row has the same shape: it can live in a preallocated array."""
        return self.row_shape is not None

    def batch_shape(self, rows: int) -> tuple[int, ...]:
        """The shape of `rows` rows of a fixed-width field."""
        assert self.row_shape is not None, f"{self.name} has no fixed width"
        return (rows, *self.row_shape)

    @property
    def raw_type(self) -> tuple[np.dtype, tuple[int, ...], int]:
        """(dtype, shape, byte length) of a decode_bytes field's values."""
        assert self.raw is not None and self.raw_shape is not None, f"{self.name} is no raw field"
        return self.raw, self.raw_shape, self.raw.itemsize * int(np.prod(self.raw_shape))


def make_fields(
    spec: Mapping[str, FeatureSpec],
    names: Sequence[str],
    decode_bytes: Mapping[str, Any] | None = None,
    pad: Mapping[str, int] | None = None,
    raw_lengths: Mapping[str, int] | None = None,
) -> list[Field]:
    """Plan the output arrays; `raw_lengths` gives the byte length of each `decode_bytes` value."""
    decode_bytes = dict(decode_bytes or {})
    pad = dict(pad or {})
    for option, given in (("decode_bytes", decode_bytes), ("pad", pad)):
        unknown = [n for n in given if n not in names]
        if unknown:
            raise LoaderError(
                f"{option} names {', '.join(map(repr, unknown))}, not a loaded feature"
            )
    fields = []
    for name in names:
        fs = spec[name]
        if name in decode_bytes:
            if fs.kind is not Kind.BYTES or fs.shape != ():
                raise LoaderOptionError(
                    f"decode_bytes[{name!r}]: only a feature holding one bytes value per record "
                    f"can be decoded as raw numbers (it is {fs.kind} with shape {fs.shape})",
                    params=("decode_bytes",),
                )
            how = decode_bytes[name]
            raw_dtype, raw_shape = (how, None) if isinstance(how, str) else (how[0], how[1])
            try:
                raw = np.dtype(raw_dtype).newbyteorder("<")
            except TypeError:
                raise LoaderError(f"decode_bytes[{name!r}]: unknown dtype {raw_dtype!r}") from None
            nbytes = (raw_lengths or {}).get(name)
            if raw_shape is None:
                if nbytes is None:
                    raise LoaderError(
                        f"decode_bytes[{name!r}]: give the shape, e.g. ('uint8', (28, 28))"
                    )
                if nbytes % raw.itemsize:
                    raise LoaderError(
                        f"decode_bytes[{name!r}]: values of {nbytes} bytes are not a whole number "
                        f"of {raw.name}"
                    )
                raw_shape = (nbytes // raw.itemsize,)
            raw_shape = tuple(int(d) for d in raw_shape)
            fields.append(
                Field(
                    name,
                    Kind.BYTES,
                    (),
                    raw.newbyteorder("="),
                    raw_shape,
                    raw=raw,
                    raw_shape=raw_shape,
                )
            )
            continue
        dtype = np.dtype(fs.dtype)
        if fs.shape is None:
            width = pad.get(name)
            if width is not None and width < 0:
                raise LoaderError(f"pad[{name!r}] must be >= 0, got {width}")
            row = None if width is None else (int(width),)
            fields.append(Field(name, fs.kind, None, dtype, row, pad=width))
        else:
            if name in pad:
                raise LoaderError(
                    f"pad[{name!r}]: the feature already has a fixed shape {fs.shape}"
                )
            fields.append(Field(name, fs.kind, fs.shape, dtype, fs.shape))
    return fields


# --------------------------------------------------------------------------- layout walk
class _Unfit(Exception):
    """The record cannot serve as a template (any reason: the generic decoder will say why)."""


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    try:
        return wire.read_varint(data, pos, end, _EXAMPLE)
    except ExampleDecodeError:
        raise _Unfit from None


def _skip(data: bytes, pos: int, end: int, key: int) -> int:
    try:
        return wire.skip_field(data, pos, end, key >> 3, key & 7, pos, _EXAMPLE)
    except ExampleDecodeError:
        raise _Unfit from None


@dataclass
class _Layout:
    """Where one record's values lie: per feature (kind, atoms) with atoms in value order."""

    features: dict[str, tuple[str, list[tuple[str, int, int]]]]
    loose: list[tuple[int, int]]  # value-content byte ranges (not structure)
    varints: list[tuple[int, int]]  # (start, length) of every varint value


def _walk(data: bytes) -> _Layout:
    end = len(data)
    feats: dict[str, tuple[str, list[tuple[str, int, int]]]] = {}
    pos = 0
    while pos < end:
        key, pos = _varint(data, pos, end)
        if key == (1 << 3) | 2:
            n, pos = _varint(data, pos, end)
            stop = pos + n
            if stop > end:
                raise _Unfit
            _walk_features(data, pos, stop, feats)
            pos = stop
        else:
            pos = _skip(data, pos, end, key)
    loose: list[tuple[int, int]] = []
    varints: list[tuple[int, int]] = []
    for _, atoms in feats.values():
        for kind, s, e in atoms:
            if kind == "varint":
                varints.append((s, e - s))
            else:
                loose.append((s, e))
    return _Layout(feats, loose, varints)


def _walk_features(data: bytes, pos: int, end: int, feats: dict[str, Any]) -> None:
    while pos < end:
        key, pos = _varint(data, pos, end)
        if key != (1 << 3) | 2:
            pos = _skip(data, pos, end, key)
            continue
        n, pos = _varint(data, pos, end)
        stop = pos + n
        if stop > end:
            raise _Unfit
        name: str | None = None
        value: tuple[str, list[tuple[str, int, int]]] | None = None
        p = pos
        while p < stop:
            k, p = _varint(data, p, stop)
            if k == (1 << 3) | 2 and name is None:
                m, p = _varint(data, p, stop)
                if p + m > stop:
                    raise _Unfit
                try:
                    name = data[p : p + m].decode("utf-8")
                except UnicodeDecodeError:
                    raise _Unfit from None
                p += m
            elif k == (2 << 3) | 2 and value is None:
                m, p = _varint(data, p, stop)
                if p + m > stop:
                    raise _Unfit
                value = _walk_feature(data, p, p + m)
                p += m
            else:
                raise _Unfit  # duplicates and unknown fields: leave them to the generic decoder
        if name is None or value is None:
            raise _Unfit
        feats[name] = value  # a repeated key keeps the last value, as protobuf does
        pos = stop


def _walk_feature(data: bytes, pos: int, end: int) -> tuple[Kind, list[tuple[str, int, int]]]:
    kind: Kind | None = None
    atoms: list[tuple[str, int, int]] = []
    while pos < end:
        key, pos = _varint(data, pos, end)
        field, wt = key >> 3, key & 7
        if field not in (1, 2, 3) or wt != 2 or kind is not None:
            raise _Unfit
        n, pos = _varint(data, pos, end)
        stop = pos + n
        if stop > end:
            raise _Unfit
        kind = (Kind.BYTES, Kind.FLOAT, Kind.INT64)[field - 1]
        p = pos
        while p < stop:
            k, p = _varint(data, p, stop)
            f, w = k >> 3, k & 7
            if f != 1:
                raise _Unfit
            if kind is Kind.BYTES and w == 2:
                m, p = _varint(data, p, stop)
                if p + m > stop:
                    raise _Unfit
                atoms.append(("bytes", p, p + m))
                p += m
            elif kind is Kind.FLOAT and w == 2:
                m, p = _varint(data, p, stop)
                if m % 4 or p + m > stop:
                    raise _Unfit
                atoms.extend(("f32", q, q + 4) for q in range(p, p + m, 4))
                p += m
            elif kind is Kind.FLOAT and w == 5:
                if p + 4 > stop:
                    raise _Unfit
                atoms.append(("f32", p, p + 4))
                p += 4
            elif kind is Kind.INT64 and w == 2:
                m, p = _varint(data, p, stop)
                q, last = p, p + m
                if last > stop:
                    raise _Unfit
                while q < last:
                    _, r = _varint(data, q, last)
                    atoms.append(("varint", q, r))
                    q = r
                p = last
            elif kind is Kind.INT64 and w == 0:
                _, r = _varint(data, p, stop)
                atoms.append(("varint", p, r))
                p = r
            else:
                raise _Unfit
        pos = stop
    if kind is None:
        raise _Unfit  # an unset Feature: the generic decoder knows what TF makes of it
    return kind, atoms


# --------------------------------------------------------------------------- templates
def _ranges(cols: Sequence[int]) -> slice | np.ndarray:
    """A slice when the columns are one contiguous run (a view, no gather), else an index array."""
    if len(cols) and cols[-1] - cols[0] == len(cols) - 1:
        return slice(cols[0], cols[-1] + 1)
    return np.asarray(cols, dtype=np.intp)


@dataclass
class _Plan:
    field: Field
    count: int
    how: str  # "raw" | "f32" | "varint" | "bytes"
    cols: Any = None  # f32/raw: byte columns; bytes: list of (start, end)
    varint_groups: list[tuple[np.ndarray, np.ndarray, int]] | None = None  # (value idx, pos, len)


class _Template:
    def __init__(self, record: bytes, fields: Sequence[Field]) -> None:
        layout = _walk(record)
        self.length = len(record)
        loose = np.ones(self.length, dtype=bool)
        for s, e in layout.loose:
            loose[s:e] = False
        term: list[int] = []
        cont: list[int] = []
        for s, n in layout.varints:
            loose[s : s + n] = False
            cont.extend(range(s, s + n - 1))
            term.append(s + n - 1)
        tmpl = np.frombuffer(record, dtype=np.uint8)
        self.skel = np.flatnonzero(loose)
        self.skel_val = tmpl[self.skel].copy()
        self.term = np.asarray(term, dtype=np.intp)
        self.cont = np.asarray(cont, dtype=np.intp)
        self.plans: list[_Plan] = []
        for f in fields:
            if f.name not in layout.features:
                raise _Unfit
            kind, atoms = layout.features[f.name]
            if kind != f.kind:
                raise _Unfit
            if f.size is not None and len(atoms) != f.size:
                raise _Unfit
            if f.pad is not None and len(atoms) > f.pad:
                raise _Unfit  # cut by the generic path, which keeps the code simple
            if f.raw is not None:
                s, e = atoms[0][1], atoms[0][2]
                if e - s != f.raw_type[2]:
                    raise _Unfit
                self.plans.append(_Plan(f, 1, "raw", slice(s, e)))
            elif kind is Kind.BYTES:
                self.plans.append(_Plan(f, len(atoms), "bytes", [(s, e) for _, s, e in atoms]))
            elif kind is Kind.FLOAT:
                cols = [c for _, s, e in atoms for c in range(s, e)]
                self.plans.append(_Plan(f, len(atoms), "f32", _ranges(cols)))
            else:
                pos = np.asarray([s for _, s, _ in atoms], dtype=np.intp)
                lens = np.asarray([e - s for _, s, e in atoms], dtype=np.intp)
                groups = []
                for n in np.unique(lens):
                    idx = np.flatnonzero(lens == n)
                    groups.append((idx, pos[idx], int(n)))
                self.plans.append(_Plan(f, len(atoms), "varint", varint_groups=groups))

    def match(self, mat: np.ndarray) -> np.ndarray:
        """Which rows of a (records x length) byte matrix share this template's structure."""
        ok = (mat[:, self.skel] == self.skel_val).all(axis=1)
        if self.term.size:
            ok &= (mat[:, self.term] < 0x80).all(axis=1)
        if self.cont.size:
            ok &= (mat[:, self.cont] >= 0x80).all(axis=1)
        return ok

    def extract(
        self, mat: np.ndarray, records: Sequence[bytes], rows: np.ndarray
    ) -> dict[str, Any]:
        """Values of matching rows: name -> (rows, count) array (or object array for bytes)."""
        out: dict[str, Any] = {}
        k = mat.shape[0]
        for plan in self.plans:
            f = plan.field
            if plan.how == "raw":
                raw, raw_shape, _ = f.raw_type
                out[f.name] = mat[:, plan.cols].view(raw).reshape((k, *raw_shape))
            elif plan.how == "f32":
                out[f.name] = mat[:, plan.cols].view("<f4").reshape(k, plan.count)
            elif plan.how == "varint":
                vals = np.empty((k, plan.count), dtype=np.uint64)
                for idx, pos, n in plan.varint_groups or []:
                    acc = (mat[:, pos] & 0x7F).astype(np.uint64)
                    for j in range(1, n):
                        acc |= (mat[:, pos + j] & 0x7F).astype(np.uint64) << np.uint64(7 * j)
                    vals[:, idx] = acc
                out[f.name] = vals.view(np.int64)
            else:
                vals = np.empty((k, plan.count), dtype=object)
                for i, r in enumerate(rows.tolist()):
                    rec = records[r]
                    for j, (s, e) in enumerate(plan.cols):
                        vals[i, j] = rec[s:e]
                out[f.name] = vals
        return out


# --------------------------------------------------------------------------- the decoder
class ExampleDecoder:
    """Decode lists of serialized Examples into arrays for `fields` (see `make_fields`)."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = list(fields)
        self._templates: dict[int, _Template | None] = {}
        self.generic_rows = 0  # how many records needed the generic decoder (for benchmarks)

    # -- templates -----------------------------------------------------------------------
    def _template(self, record: bytes) -> _Template | None:
        n = len(record)
        if n in self._templates:
            return self._templates[n]
        tmpl: _Template | None = None
        if len(self._templates) < MAX_TEMPLATES:
            try:
                tmpl = _Template(record, self.fields)
                if not self._cross_check(tmpl, record):
                    tmpl = None
            except _Unfit:
                tmpl = None
        self._templates[n] = tmpl
        return tmpl

    def _cross_check(self, tmpl: _Template, record: bytes) -> bool:
        """The template must read its own record exactly as the generic decoder does."""
        mat = np.frombuffer(record, dtype=np.uint8).reshape(1, -1)
        if not tmpl.match(mat)[0]:
            return False
        fast = tmpl.extract(mat, [record], np.zeros(1, dtype=np.intp))
        try:
            slow = self._generic_values(record)
        except RecordSpecError:
            return False
        for f in self.fields:
            a, b = fast[f.name][0], slow[f.name]
            if f.raw is not None:
                b = np.frombuffer(b[0], dtype=f.raw).reshape(f.raw_shape)
            b = np.asarray(b)
            if a.size != b.size:
                return False
            if f.numeric:
                if a.tobytes() != b.astype(a.dtype).tobytes():
                    return False
            elif a.reshape(-1).tolist() != b.reshape(-1).tolist():
                return False
        return True

    # -- generic path --------------------------------------------------------------------
    def _generic_values(
        self, record: bytes, where: tuple[str | None, int | None] = (None, None)
    ) -> dict[str, np.ndarray]:
        path, index = where
        try:
            values = decode_example(record, numpy=True)
        except Exception as error:  # ExampleDecodeError and anything a hostile record triggers
            raise RecordSpecError(
                f"not a valid tf.train.Example: {error}", path=path, index=index
            ) from None
        out = {}
        for f in self.fields:
            arr = values.get(f.name)
            if arr is None:
                if f.shape is None:
                    arr = np.empty(0, dtype=f.dtype if f.raw is None else object)
                else:
                    raise RecordSpecError(f"feature {f.name!r} is missing", path=path, index=index)
            elif arr.size:
                kind = Kind.of_array(arr)
                if kind != f.kind:
                    raise RecordSpecError(
                        f"feature {f.name!r} holds {kind} values, the spec says {f.kind}",
                        path=path,
                        index=index,
                    )
            if f.size is not None and arr.size != f.size:
                raise RecordSpecError(
                    f"feature {f.name!r} holds {arr.size} values, the spec says shape {f.shape} "
                    f"({f.size} values); if the length varies, load it as variable-length",
                    path=path,
                    index=index,
                )
            if f.raw is not None:
                want = f.raw_type[2]
                if len(arr[0]) != want:
                    raise RecordSpecError(
                        f"feature {f.name!r} holds {len(arr[0])} bytes, expected {want} "
                        f"({f.raw.name} of shape {f.raw_shape})",
                        path=path,
                        index=index,
                    )
            out[f.name] = arr
        return out

    # -- batch decode --------------------------------------------------------------------
    def decode(
        self,
        records: Sequence[bytes],
        where: Where | None = None,
        out: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Arrays for all fields, one row per record (fixed fields into `out[:n]` when given).

        Variable-length fields come back padded with 0 / b"" to the longest row (or to `pad`).
        Raises RecordSpecError naming the file and record when a record does not fit the spec.
        """
        n = len(records)
        result: dict[str, np.ndarray] = {}
        ragged: dict[str, list[tuple[np.ndarray, Any]]] = {}
        for f in self.fields:
            if f.fixed_width:
                if out is not None and f.name in out and out[f.name].shape[0] >= n:
                    result[f.name] = out[f.name][:n]
                else:
                    result[f.name] = np.empty(f.batch_shape(n), dtype=f.dtype)
                if not f.numeric:
                    result[f.name].fill(b"")
            if f.shape is None:
                ragged[f.name] = []
        if n == 0:
            for name in ragged:
                f = self._field(name)
                result[name] = np.empty((0, f.pad or 0), dtype=f.dtype)
                result[name + LENGTHS] = np.zeros(0, dtype=np.int64)
            return result
        lengths = np.fromiter(map(len, records), dtype=np.int64, count=n)
        first = int(lengths[0])
        if (lengths == first).all():
            groups: list[tuple[int, np.ndarray | None]] = [(first, None)]
        else:
            uniq, inverse = np.unique(lengths, return_inverse=True)
            groups = [(int(u), np.flatnonzero(inverse == i)) for i, u in enumerate(uniq)]
        generic: list[np.ndarray] = []
        for length, rows in groups:
            count = n if rows is None else rows.size
            sample = records[0] if rows is None else records[int(rows[0])]
            tmpl = self._template(sample) if count >= MIN_GROUP or rows is None else None
            if tmpl is None:
                generic.append(np.arange(n) if rows is None else rows)
                continue
            if rows is None:
                mat = np.frombuffer(b"".join(records), dtype=np.uint8).reshape(n, length)
                all_rows = np.arange(n)
            else:
                mat = np.frombuffer(b"".join([records[i] for i in rows.tolist()]), dtype=np.uint8)
                mat = mat.reshape(count, length)
                all_rows = rows
            ok = tmpl.match(mat)
            if not ok.all():
                generic.append(all_rows[~ok])
                mat = mat[ok]
                all_rows = all_rows[ok]
            if not all_rows.size:
                continue
            values = tmpl.extract(mat, records, all_rows)
            contiguous = rows is None and all_rows.size == n
            for f in self.fields:
                vals = values[f.name]
                if f.shape is None:
                    ragged[f.name].append((all_rows, vals))
                elif contiguous:
                    result[f.name][...] = vals.reshape(result[f.name].shape)
                else:
                    result[f.name][all_rows] = vals.reshape(f.batch_shape(all_rows.size))
        for rows in generic:
            self.generic_rows += rows.size
            for r in rows.tolist():
                values = self._generic_values(records[r], where(r) if where else (None, None))
                for f in self.fields:
                    v = values[f.name]
                    if f.shape is None:
                        ragged[f.name].append((np.asarray([r]), v.reshape(1, -1)))
                    elif f.raw is not None:
                        result[f.name][r] = np.frombuffer(v[0], dtype=f.raw).reshape(f.raw_shape)
                    else:
                        result[f.name][r, ...] = v.reshape(f.row_shape)  # [r, ...]: bytes too
        for name, parts in ragged.items():
            result[name] = self._pad(self._field(name), parts, n, result.get(name))
            lengths = np.zeros(n, dtype=np.int64)
            for rows, vals in parts:
                lengths[rows] = vals.shape[1]
            result[name + LENGTHS] = lengths
        return result

    def _field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @staticmethod
    def _pad(
        f: Field, parts: list[tuple[np.ndarray, Any]], n: int, into: np.ndarray | None
    ) -> np.ndarray:
        width = f.pad if f.pad is not None else max((v.shape[1] for _, v in parts), default=0)
        if into is None:
            into = (
                np.zeros((n, width), dtype=f.dtype)
                if f.numeric
                else np.full((n, width), b"", dtype=object)
            )
        else:
            into[...] = 0 if f.numeric else b""
        for rows, vals in parts:
            w = min(width, vals.shape[1])
            if w:
                into[rows, :w] = vals[:, :w].astype(f.dtype, copy=False)
        return into


__all__ = ["ExampleDecoder", "Field", "make_fields"]
