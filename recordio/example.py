"""tf.train.Example / tf.train.SequenceExample codec without TensorFlow or protobuf.

The schema (tensorflow/core/example/{example,feature}.proto) is tiny and frozen, so the wire format
is written and read by hand: no generated code to break across protobuf major versions, and the
decoder runs on the loaders' hot path faster than protobuf plus field access.

Value mapping (encode): bytes/str (UTF-8) -> BytesList; int/bool/numpy integer -> Int64List;
float/numpy floating -> FloatList (float32, packed; out-of-range floats become +-inf, like
protobuf). Lists, tuples and numpy arrays (any shape, flattened in C order; nested lists
depth-first) of those; a numpy array's dtype decides the kind (integer/bool -> int64, floating ->
float, bytes/str/object -> bytes). `BytesList`/`Int64List`/`FloatList` force a kind (FloatList
also takes ints) and are the way to write a *typed* empty list.

An untyped empty list (`[]`, `()`) is written as a Feature whose oneof is unset. TensorFlow's
`parse_example`/`parse_single_sequence_example` read that as an empty VarLenFeature of *any*
dtype, whereas an empty typed list only parses for its own dtype (and both fail a
FixedLenFeature without a default in different ways: unset reads as "missing").

Decoding returns `{name: list}` (bytes / int / float — the float32 value as a Python float), or
numpy arrays (int64 / float32 / object) with `numpy=True`; an unset Feature decodes to `[]` (an
empty float32 array with numpy=True, as `np.asarray([])` would be floating). Packed and unpacked
repeated encodings are both read and several chunks concatenate (as in protobuf; TF's
`parse_example` keeps only the first packed chunk), unknown fields are skipped, and a repeated
name keeps the last value (protobuf and TF agree). Input that is ambiguous, or that one of TF's
two parsers rejects, raises `ExampleDecodeError` rather than guess: a Feature holding more than one
value list, a map entry without its name or value or with either twice, a name that is not UTF-8.
Stricter than both, a known field with the wrong wire type is an error too (protobuf skips it as
unknown; in an Example it means damage).

Determinism: names are written in the order protobuf's upb runtime (the one behind TF's Python
API) uses for `deterministic=True`: UTF-8 bytes ascending, except that a name comes after the
longer names it is a prefix of ("farr" before "f"). The bytes therefore equal
`tf.train.Example(features=tf.train.Features(feature=...)).SerializeToString(deterministic=True)`
for the same kinds and values (tested against TF 2.21 / protobuf 6.33; the `features` field is
always written, so `{}` gives b"\\n\\x00"). C++ protobuf's deterministic order differs only for
such prefix pairs. SequenceExample always writes both `context` and `feature_lists`, matching
`tf.train.SequenceExample(context=..., feature_lists=...)`.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recordio.errors import ExampleDecodeError
from recordio.kinds import Kind
from recordio.wire import (
    INT64_MAX,
    INT64_MIN,
    LITTLE,
    WT_I32,
    WT_LEN,
    WT_VARINT,
    expect_wire_type,
    fail,
    len_field,
    pack_varints,
    pack_varints_array,
    read_len,
    read_tag,
    read_varint,
    skip_field,
    to_int64,
    unpack_varints,
    uvarint_unchecked,
)

__all__ = [
    "BytesList",
    "ExampleDecodeError",
    "FloatList",
    "Int64List",
    "decode_example",
    "canonical_example",
    "decode_sequence_example",
    "encode_example",
    "encode_sequence_example",
]

BYTES, INT64, FLOAT = Kind.BYTES, Kind.INT64, Kind.FLOAT
_EXAMPLE = "tf.train.Example"
_SEQUENCE = "tf.train.SequenceExample"


@dataclass(frozen=True)
class BytesList:
    """Force a BytesList (str items are UTF-8 encoded); `BytesList([])` is a typed empty list."""

    values: Any = ()


@dataclass(frozen=True)
class Int64List:
    """Force an Int64List; `Int64List([])` is a typed empty list."""

    values: Any = ()


@dataclass(frozen=True)
class FloatList:
    """Force a FloatList (ints are converted to float32); `FloatList([])` is a typed empty list."""

    values: Any = ()


_TYPED: dict[type, str] = {BytesList: BYTES, Int64List: INT64, FloatList: FLOAT}
_SCALAR_KIND: dict[type, str] = {bytes: BYTES, str: BYTES, int: INT64, bool: INT64, float: FLOAT}


def _numpy() -> Any:
    import numpy

    return numpy


# =========================================================================== encoding


def encode_example(features: Mapping[str, Any]) -> bytes:
    """Serialize `{name: value}` as a tf.train.Example (keys sorted; see the module docstring)."""
    return len_field(b"\n", _features_payload(features, "feature"))


def encode_sequence_example(
    context: Mapping[str, Any], feature_lists: Mapping[str, Sequence[Any]]
) -> bytes:
    """Serialize a tf.train.SequenceExample: `context` like an Example's features, and each
    feature list as a sequence of per-step values (each encoded like one feature value)."""
    if not isinstance(feature_lists, Mapping):
        raise TypeError(f"feature_lists must be a mapping, got {type(feature_lists).__name__}")
    entries = []
    for key, name in _sorted_names(feature_lists, "feature list"):
        steps = feature_lists[name]
        where = f"feature list {name!r}"
        if isinstance(steps, (str, bytes, bytearray, memoryview, BytesList, Int64List, FloatList)):
            raise TypeError(
                f"{where}: expected a sequence of per-step values, got {type(steps).__name__}"
            )
        try:
            steps_iter = iter(steps)
        except TypeError:
            raise TypeError(
                f"{where}: expected a sequence of per-step values, got {type(steps).__name__}"
            ) from None
        body = b"".join(
            len_field(b"\n", _feature(step, f"{where} step {i}"))
            for i, step in enumerate(steps_iter)
        )
        entries.append(len_field(b"\n", len_field(b"\n", key) + len_field(b"\x12", body)))
    return len_field(b"\n", _features_payload(context, "context feature")) + len_field(
        b"\x12", b"".join(entries)
    )


def _sorted_names(mapping: Mapping[str, Any], what: str) -> list[tuple[bytes, str]]:
    """(UTF-8 name, name) pairs in the order upb's deterministic serializer writes map keys.

    That order is bytewise ascending, except that a name comes after every longer name it is a
    prefix of ("farr" before "f"). Appending 0xFF, a byte UTF-8 never contains, gives exactly that.
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{what}s must be given as a mapping, got {type(mapping).__name__}")
    pairs = []
    for name in mapping:
        if not isinstance(name, str):
            raise TypeError(f"{what} names must be str, got {name!r}")
        try:
            pairs.append((name.encode(), name))
        except UnicodeEncodeError as exc:
            raise ValueError(f"{what} name {name!r} cannot be encoded as UTF-8: {exc}") from None
    pairs.sort(key=_upb_order)
    return pairs


def _upb_order(pair: tuple[bytes, str]) -> bytes:
    return pair[0] + b"\xff"


def _features_payload(features: Mapping[str, Any], what: str) -> bytes:
    entries = []
    for key, name in _sorted_names(features, what):
        value = _feature(features[name], f"{what} {name!r}")
        entries.append(len_field(b"\n", len_field(b"\n", key) + len_field(b"\x12", value)))
    return b"".join(entries)


def _feature(value: Any, where: str) -> bytes:
    """The serialized Feature message for one value."""
    t = type(value)
    if t is bytes:
        return len_field(b"\n", len_field(b"\n", value))
    if t is int:
        if INT64_MIN <= value <= INT64_MAX:
            return len_field(b"\x1a", len_field(b"\n", pack_varints([value])))
        raise _out_of_range(where, value)
    if t is float:
        return len_field(b"\x12", len_field(b"\n", _pack_floats([value], where)))
    if t is str:
        return _encode(BYTES, [value], where)
    if t is list or t is tuple:
        if not value:
            return b""  # untyped empty: unset oneof, parses as empty VarLen of any dtype in TF
        kind = _SCALAR_KIND.get(type(value[0]))
        if kind is not None:
            t0 = type(value[0])
            if all(type(v) is t0 for v in value):
                return _encode(kind, value, where)
        kind, flat = _flatten(value, where, None)
        return b"" if kind is None else _encode(kind, flat, where)
    want = _TYPED.get(t)
    if want is not None:
        return _encode_typed(value.values, want, where)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        kind, flat = _from_array(value, where, None)
        return _encode(kind, flat, where)
    kind = _scalar_kind(value)
    if kind is not None:
        return _encode(kind, [value], where)
    if isinstance(value, (list, tuple)):
        return _feature(list(value), where)
    raise TypeError(
        f"{where}: cannot encode a {type(value).__name__}; use bytes, str, int, float, a list or "
        "numpy array of them, or BytesList/Int64List/FloatList"
    )


def _encode_typed(values: Any, want: str, where: str) -> bytes:
    np = sys.modules.get("numpy")
    kind: str | None
    if np is not None and isinstance(values, np.ndarray):
        kind, flat = _from_array(values, where, want)
    elif isinstance(values, (list, tuple, range)):
        kind, flat = _flatten(values, where, want)
    else:
        kind, flat = _flatten([values], where, want)
    if kind is None:
        flat = []
    return _encode(want, flat, where)


def _scalar_kind(v: Any) -> str | None:
    kind = _SCALAR_KIND.get(type(v))
    if kind is not None:
        return kind
    if isinstance(v, (bytes, bytearray, memoryview, str)):
        return BYTES
    if isinstance(v, int):
        return INT64
    if isinstance(v, float):
        return FLOAT
    np = sys.modules.get("numpy")
    if np is not None and isinstance(v, np.generic):
        if isinstance(v, (np.integer, np.bool_)):
            return INT64
        if isinstance(v, np.floating):
            return FLOAT
    return None


def _compatible(want: str, kind: str) -> bool:
    return kind == want or (want == FLOAT and kind == INT64)


def _flatten(seq: Sequence[Any], where: str, want: str | None) -> tuple[str | None, list[Any]]:
    """Flatten nested lists/arrays depth-first; check that all items share one kind."""
    flat: list[Any] = []
    state: list[Any] = [want, None]  # [kind fixed so far, description of the item that fixed it]

    def check(kind: str, item: Any) -> None:
        if state[0] is None:
            state[0], state[1] = kind, item
        elif kind != state[0] and not (want is not None and _compatible(want, kind)):
            # Only a forced FloatList takes ints; untyped [2.5, 1] fails like [1, 2.5].
            if want is not None:
                raise TypeError(
                    f"{where}: {_wrapper_name(want)} cannot hold {_kind_noun(kind)} value "
                    f"{item!r:.60}"
                )
            raise TypeError(
                f"{where}: mixes {_kind_noun(state[0])} ({state[1]!r:.40}) and "
                f"{_kind_noun(kind)} ({item!r:.40}) values; make them one type or wrap them in "
                "BytesList/Int64List/FloatList"
            )

    def walk(items: Any, depth: int) -> None:
        if depth > 64:
            raise ValueError(f"{where}: lists nested more than 64 deep")
        np = sys.modules.get("numpy")
        for item in items:
            kind = _scalar_kind(item)
            if kind is not None:
                check(kind, item)
                flat.append(item)
            elif isinstance(item, (list, tuple)):
                walk(item, depth + 1)
            elif type(item) in _TYPED:
                raise TypeError(
                    f"{where}: BytesList/Int64List/FloatList cannot be nested in a list"
                )
            elif np is not None and isinstance(item, np.ndarray):
                if item.dtype.kind == "O":
                    walk(item.ravel().tolist(), depth + 1)
                elif item.size:
                    kind, values = _from_array(item, where, want)
                    check(kind, item)
                    flat.extend(values.tolist() if hasattr(values, "tolist") else values)
            else:
                raise TypeError(
                    f"{where}: cannot encode a {type(item).__name__} item ({item!r:.40}); use "
                    "bytes, str, int or float"
                )

    walk(seq, 0)
    return state[0], flat


def _from_array(arr: Any, where: str, want: str | None) -> tuple[str, Any]:
    """Kind and flat (C-order) values of a numpy array; the dtype decides the kind."""
    np = _numpy()
    dk = arr.dtype.kind
    kind: str
    if dk in "iub":
        kind = INT64
    elif dk == "f":
        kind = FLOAT
    elif dk in "SU":
        kind = BYTES
    elif dk == "O":
        found, flat = _flatten(arr.ravel().tolist(), where, want)
        return (found or want or BYTES), flat
    else:
        raise TypeError(f"{where}: numpy dtype {arr.dtype} cannot be stored in an Example")
    if want is not None and not _compatible(want, kind):
        raise TypeError(f"{where}: {_wrapper_name(want)} cannot hold a numpy {arr.dtype} array")
    kind = want or kind
    if kind == INT64:
        if dk == "u" and arr.dtype.itemsize >= 8 and arr.size and int(arr.max()) > INT64_MAX:
            raise _out_of_range(where, int(arr.max()))
        return kind, np.ascontiguousarray(arr, dtype=np.int64).ravel()
    if kind == FLOAT:
        with np.errstate(over="ignore"):
            return kind, np.ascontiguousarray(arr, dtype="<f4").ravel()
    return kind, arr.ravel().tolist()


def _encode(kind: str, values: Any, where: str) -> bytes:
    """Feature message for a flat list (or 1-D ndarray) of one kind."""
    if kind == BYTES:
        parts = []
        for v in values:
            if type(v) is not bytes:
                if isinstance(v, str):
                    try:
                        v = v.encode()
                    except UnicodeEncodeError as exc:
                        raise ValueError(
                            f"{where}: {v!r:.40} is not valid Unicode: {exc}"
                        ) from None
                else:
                    v = bytes(v)
            parts.append(len_field(b"\n", v))
        return len_field(b"\n", b"".join(parts))
    if kind == INT64:
        np = sys.modules.get("numpy")
        if np is not None and isinstance(values, np.ndarray):
            packed = pack_varints_array(values)
        else:
            if not all(type(v) is int or type(v) is bool for v in values):
                values = [_as_int(v, where) for v in values]
            if values:
                lo, hi = min(values), max(values)
                if lo < INT64_MIN or hi > INT64_MAX:
                    raise _out_of_range(where, lo if lo < INT64_MIN else hi)
            packed = pack_varints(values)
        return len_field(b"\x1a", len_field(b"\n", packed) if packed else b"")
    packed = _pack_floats(values, where)
    return len_field(b"\x12", len_field(b"\n", packed) if packed else b"")


def _as_int(v: Any, where: str) -> int:
    try:
        return int(v.__index__())
    except (AttributeError, TypeError):
        np = sys.modules.get("numpy")
        if np is not None and isinstance(v, np.bool_):  # numpy 2 bools have no __index__
            return int(v)
        raise TypeError(f"{where}: Int64List needs integers, got {v!r:.40}") from None


def _pack_floats(values: Any, where: str) -> bytes:
    np = sys.modules.get("numpy")
    if np is not None and isinstance(values, np.ndarray):
        return values.astype("<f4", copy=False).tobytes()
    try:
        arr = array("f", values)
    except OverflowError:
        raise ValueError(f"{where}: a value is too large to convert to float") from None
    except TypeError as exc:
        raise TypeError(f"{where}: FloatList needs numbers ({exc})") from None
    if not LITTLE:
        arr.byteswap()
    return arr.tobytes()


def _out_of_range(where: str, value: int) -> ValueError:
    return ValueError(f"{where}: {value} is outside the int64 range [-2**63, 2**63-1]")


def _kind_noun(kind: str) -> str:
    return {"bytes": "bytes/str", "int64": "int", "float": "float"}[kind]


def _wrapper_name(kind: str) -> str:
    return {"bytes": "BytesList", "int64": "Int64List", "float": "FloatList"}[kind]


def canonical_example(record: bytes) -> bytes:
    """The same Example with its features in `encode_example`'s (upb deterministic) order.

    Works on the wire bytes: each feature's entry is kept byte for byte and only the entries
    are reordered, so values and kinds (typed or untyped empty lists included) never change.
    Writers that serialize the feature map in hash order (tfx_bsl's RecordBatchToExamples)
    give equal Examples as different bytes; this makes them one. A record in any other shape
    than one `features` field (unknown fields, several `features` chunks) is returned as it is.
    """
    end = len(record)
    if not end:
        return record
    field, wt, pos = read_tag(record, 0, end, _EXAMPLE)
    if field != 1 or wt != WT_LEN:
        return record
    start, stop = read_len(record, pos, end, _EXAMPLE)
    if stop != end:
        return record
    entries: list[tuple[bytes, bytes]] = []
    pos = start
    while pos < stop:
        tag_pos = pos
        field, wt, pos = read_tag(record, pos, stop, _EXAMPLE)
        if field != 1 or wt != WT_LEN:
            return record
        entry_start, pos = read_len(record, pos, stop, _EXAMPLE)
        key_field, key_wt, key_pos = read_tag(record, entry_start, pos, _EXAMPLE)
        if key_field != 1 or key_wt != WT_LEN:
            return record
        key_start, key_stop = read_len(record, key_pos, pos, _EXAMPLE)
        entries.append((record[key_start:key_stop] + b"\xff", record[tag_pos:pos]))
    if all(entries[i][0] <= entries[i + 1][0] for i in range(len(entries) - 1)):
        return record
    entries.sort(key=lambda entry: entry[0])  # stable: a repeated name keeps its last value last
    return len_field(b"\n", b"".join(body for _, body in entries))


# =========================================================================== decoding


class _Fallback(Exception):
    """The fast path met something unusual; the checked generic decoder takes over."""


def decode_example(data: bytes | bytearray | memoryview, *, numpy: bool = False) -> dict[str, Any]:
    """Parse a serialized tf.train.Example into `{name: list}` (or numpy arrays with numpy=True).

    Raises ExampleDecodeError (one line, with the byte position) on malformed input.
    """
    if type(data) is not bytes:
        data = bytes(data)
    kinds: dict[str, str | None] | None = {} if numpy else None
    try:
        out = _fast_example(data, kinds)
    except (_Fallback, IndexError, ValueError, ExampleDecodeError):
        # Anything unusual (unpacked lists, unknown fields, damage): redo it with the checked
        # decoder, which either accepts the input or names the problem and its byte.
        kinds = {} if numpy else None
        out = {}
        _parse_example(data, out, kinds)
    if kinds is not None:
        _to_numpy(out, kinds)
    return out


def decode_sequence_example(
    data: bytes | bytearray | memoryview, *, numpy: bool = False
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Parse a serialized tf.train.SequenceExample into (context, feature_lists).

    context is like decode_example's result; feature_lists maps each name to a list of per-step
    value lists (numpy arrays with numpy=True).
    """
    if type(data) is not bytes:
        data = bytes(data)
    context: dict[str, Any] = {}
    ckinds: dict[str, str | None] | None = {} if numpy else None
    lists: dict[str, list[Any]] = {}
    end = len(data)
    pos = 0
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, _SEQUENCE)
        if field == 1 or field == 2:
            expect_wire_type(_SEQUENCE, field, wt, WT_LEN, tag_pos)
            start, pos = read_len(data, pos, end, _SEQUENCE)
            if field == 1:
                _parse_features(data, start, pos, context, ckinds, f"{_SEQUENCE} context")
            else:
                _parse_feature_lists(data, start, pos, lists, numpy)
        else:
            pos = skip_field(data, pos, end, field, wt, tag_pos, _SEQUENCE)
    if ckinds is not None:
        _to_numpy(context, ckinds)
    return context, lists


def _fast_example(data: bytes, kinds: dict[str, str | None] | None) -> dict[str, Any]:
    """Decode the shape every writer produces (one `features` field, packed lists) quickly.

    Bounds are checked only where a wrong length could make a slice silently short; any other
    overrun ends in IndexError or a failed end check, and the caller falls back. Length prefixes
    are decoded inline rather than by a helper: a call per field would cost about a third of the
    decoding time of a Fashion-MNIST-shaped record."""
    n = len(data)
    out: dict[str, Any] = {}
    if n == 0:
        return out
    if data[0] != 10:
        raise _Fallback
    pos = 2
    ln = data[1]
    if ln > 127:
        ln, pos = uvarint_unchecked(data, 1)
    if pos + ln != n:
        raise _Fallback
    while pos < n:
        if data[pos] != 10:  # Features.feature (map entry)
            raise _Fallback
        ln = data[pos + 1]
        pos += 2
        if ln > 127:
            if data[pos] > 127:
                ln, pos = uvarint_unchecked(data, pos - 1)
            else:
                ln = (ln & 127) | (data[pos] << 7)
                pos += 1
        end = pos + ln
        if end > n or data[pos] != 10:  # entry.key first
            raise _Fallback
        ln = data[pos + 1]
        pos += 2
        if ln > 127:
            if data[pos] > 127:
                ln, pos = uvarint_unchecked(data, pos - 1)
            else:
                ln = (ln & 127) | (data[pos] << 7)
                pos += 1
        stop = pos + ln
        if stop >= end:
            raise _Fallback
        key = data[pos:stop].decode()
        pos = stop
        if data[pos] != 18:  # entry.value
            raise _Fallback
        ln = data[pos + 1]
        pos += 2
        if ln > 127:
            if data[pos] > 127:
                ln, pos = uvarint_unchecked(data, pos - 1)
            else:
                ln = (ln & 127) | (data[pos] << 7)
                pos += 1
        if pos + ln != end:
            raise _Fallback
        if ln == 0:
            vals: Any = []
            kind = None
        else:
            tag = data[pos]
            ln = data[pos + 1]
            pos += 2
            if ln > 127:
                if data[pos] > 127:
                    ln, pos = uvarint_unchecked(data, pos - 1)
                else:
                    ln = (ln & 127) | (data[pos] << 7)
                    pos += 1
            if pos + ln != end:
                raise _Fallback
            if tag == 10:
                kind = BYTES
                vals = []
                while pos < end:
                    if data[pos] != 10:
                        raise _Fallback
                    ln = data[pos + 1]
                    pos += 2
                    if ln > 127:
                        if data[pos] > 127:
                            ln, pos = uvarint_unchecked(data, pos - 1)
                        else:
                            ln = (ln & 127) | (data[pos] << 7)
                            pos += 1
                    stop = pos + ln
                    if stop > end:
                        raise _Fallback
                    vals.append(data[pos:stop])
                    pos = stop
            elif tag == 26:
                kind = INT64
                if pos == end:
                    vals = []
                else:
                    if data[pos] != 10:
                        raise _Fallback
                    ln = data[pos + 1]
                    pos += 2
                    if ln > 127:
                        if data[pos] > 127:
                            ln, pos = uvarint_unchecked(data, pos - 1)
                        else:
                            ln = (ln & 127) | (data[pos] << 7)
                            pos += 1
                    if pos + ln != end:
                        raise _Fallback
                    if ln == 1 and data[pos] < 128:
                        vals = [data[pos]]
                    else:
                        vals = unpack_varints(data, pos, end, _EXAMPLE)
                        if kinds is None and type(vals) is not list:
                            vals = vals.tolist()
            elif tag == 18:
                kind = FLOAT
                vals = array("f")
                if pos != end:
                    if data[pos] != 10:
                        raise _Fallback
                    ln = data[pos + 1]
                    pos += 2
                    if ln > 127:
                        if data[pos] > 127:
                            ln, pos = uvarint_unchecked(data, pos - 1)
                        else:
                            ln = (ln & 127) | (data[pos] << 7)
                            pos += 1
                    if pos + ln != end or ln & 3:
                        raise _Fallback
                    vals.frombytes(data[pos:end])
                    if not LITTLE:
                        vals.byteswap()
                if kinds is None:
                    vals = vals.tolist()
            else:
                raise _Fallback
        out[key] = vals
        if kinds is not None:
            kinds[key] = kind
        pos = end
    return out


# ---------------------------------------------------------------- checked generic decoder


def _parse_example(data: bytes, out: dict[str, Any], kinds: dict[str, str | None] | None) -> None:
    end = len(data)
    pos = 0
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, _EXAMPLE)
        if field == 1:
            expect_wire_type(_EXAMPLE, field, wt, WT_LEN, tag_pos)
            start, pos = read_len(data, pos, end, _EXAMPLE)
            _parse_features(data, start, pos, out, kinds, _EXAMPLE)
        else:
            pos = skip_field(data, pos, end, field, wt, tag_pos, _EXAMPLE)


def _map_entry(data: bytes, pos: int, end: int, what: str) -> tuple[str, int, int]:
    """Read a map<string, Message> entry in data[pos:end]; return (key, value start, value stop)."""
    entry_pos = pos
    key: str | None = None
    value: tuple[int, int] | None = None
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)
        if field == 1 or field == 2:
            expect_wire_type(what, field, wt, WT_LEN, tag_pos)
            start, pos = read_len(data, pos, end, what)
            if field == 1:
                if key is not None:
                    raise fail(what, f"map entry {key!r} repeats its key", tag_pos)
                try:
                    key = data[start:pos].decode()
                except UnicodeDecodeError as exc:
                    raise fail(
                        what,
                        f"feature name {data[start:pos]!r:.60} is not UTF-8",
                        start + exc.start,
                    ) from None
            else:
                if value is not None:
                    raise fail(what, "map entry repeats its value", tag_pos)
                value = (start, pos)
        else:
            # protobuf drops a map entry holding unknown fields; TF keeps it: ambiguous, so damage.
            raise fail(what, f"map entry has an unknown field {field}", tag_pos)
    if key is None:
        raise fail(what, "map entry without a name", entry_pos)
    if value is None:
        raise fail(what, f"feature {key!r} has no value", entry_pos)
    return key, value[0], value[1]


def _parse_features(
    data: bytes,
    pos: int,
    end: int,
    out: dict[str, Any],
    kinds: dict[str, str | None] | None,
    what: str,
) -> None:
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)
        if field == 1:
            expect_wire_type(what, field, wt, WT_LEN, tag_pos)
            start, pos = read_len(data, pos, end, what)
            key, vstart, vstop = _map_entry(data, start, pos, what)
            kind, vals = _parse_feature(data, vstart, vstop, f"{what} feature {key!r}")
            if kinds is None:
                if type(vals) is not list:
                    vals = vals.tolist()
            else:
                kinds[key] = kind
            out[key] = vals  # a repeated name: the last value wins (protobuf and TF agree)
        else:
            pos = skip_field(data, pos, end, field, wt, tag_pos, what)


def _parse_feature(data: bytes, pos: int, end: int, what: str) -> tuple[str | None, Any]:
    """Feature message -> (kind or None when unset, values: list, ndarray, or array('f'))."""
    kind: str | None = None
    vals: Any = []
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)
        if 1 <= field <= 3:
            expect_wire_type(what, field, wt, WT_LEN, tag_pos)
            start, pos = read_len(data, pos, end, what)
            if kind is not None:
                raise fail(
                    what,
                    "Feature holds more than one value list (TensorFlow keeps the first, "
                    "protobuf merges or keeps the last)",
                    tag_pos,
                )
            if field == 1:
                kind, vals = BYTES, _parse_bytes_list(data, start, pos, what)
            elif field == 2:
                kind, vals = FLOAT, _parse_float_list(data, start, pos, what)
            else:
                kind, vals = INT64, _parse_int64_list(data, start, pos, what)
        else:
            pos = skip_field(data, pos, end, field, wt, tag_pos, what)
    return kind, vals


def _parse_bytes_list(data: bytes, pos: int, end: int, what: str) -> list[bytes]:
    what = f"{what} (BytesList)"
    vals = []
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)
        if field == 1:
            expect_wire_type(what, field, wt, WT_LEN, tag_pos)
            start, pos = read_len(data, pos, end, what)
            vals.append(data[start:pos])
        else:
            pos = skip_field(data, pos, end, field, wt, tag_pos, what)
    return vals


def _parse_float_list(data: bytes, pos: int, end: int, what: str) -> array:
    what = f"{what} (FloatList)"
    raw = bytearray()
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)
        if field == 1:
            if wt == WT_LEN:
                start, pos = read_len(data, pos, end, what)
                if (pos - start) & 3:
                    raise fail(
                        what, f"packed float length {pos - start} is not a multiple of 4", tag_pos
                    )
                raw += data[start:pos]
            elif wt == WT_I32:
                if pos + 4 > end:
                    raise fail(what, "float runs past the end of its message", pos, f"byte {end}")
                raw += data[pos : pos + 4]
                pos += 4
            else:
                raise fail(what, f"field 1 has wire type {wt}, expected 2 or 5", tag_pos)
        else:
            pos = skip_field(data, pos, end, field, wt, tag_pos, what)
    vals = array("f")
    vals.frombytes(bytes(raw))
    if not LITTLE:
        vals.byteswap()
    return vals


def _parse_int64_list(data: bytes, pos: int, end: int, what: str) -> Any:
    what = f"{what} (Int64List)"
    vals: Any = None
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)
        if field == 1:
            if wt == WT_LEN:
                start, pos = read_len(data, pos, end, what)
                got = unpack_varints(data, start, pos, what)
            elif wt == WT_VARINT:
                u, pos = read_varint(data, pos, end, what)
                got = [to_int64(u)]
            else:
                raise fail(what, f"field 1 has wire type {wt}, expected 0 or 2", tag_pos)
            if vals is None:
                vals = got
            else:
                if type(vals) is not list:
                    vals = vals.tolist()
                vals.extend(got if isinstance(got, list) else got.tolist())
        else:
            pos = skip_field(data, pos, end, field, wt, tag_pos, what)
    return [] if vals is None else vals


def _parse_feature_lists(data: bytes, pos: int, end: int, out: dict[str, Any], numpy: bool) -> None:
    what = f"{_SEQUENCE} feature_lists"
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(data, pos, end, what)
        if field == 1:
            expect_wire_type(what, field, wt, WT_LEN, tag_pos)
            start, pos = read_len(data, pos, end, what)
            key, vpos, vend = _map_entry(data, start, pos, what)
            list_what = f"{_SEQUENCE} feature list {key!r}"
            steps: list[Any] = []
            while vpos < vend:
                ftag = vpos
                ffield, fwt, vpos = read_tag(data, vpos, vend, list_what)
                if ffield == 1:
                    expect_wire_type(list_what, ffield, fwt, WT_LEN, ftag)
                    fstart, vpos = read_len(data, vpos, vend, list_what)
                    kind, vals = _parse_feature(
                        data, fstart, vpos, f"{list_what} step {len(steps)}"
                    )
                    steps.append(_as_numpy(kind, vals) if numpy else _as_list(vals))
                else:
                    vpos = skip_field(data, vpos, vend, ffield, fwt, ftag, list_what)
            out[key] = steps
        else:
            pos = skip_field(data, pos, end, field, wt, tag_pos, what)


def _as_list(vals: Any) -> list[Any]:
    return vals if type(vals) is list else vals.tolist()


def _as_numpy(kind: str | None, vals: Any) -> Any:
    np = _numpy()
    if kind == FLOAT:
        return np.frombuffer(vals, dtype=np.float32) if len(vals) else np.empty(0, np.float32)
    if kind == INT64:
        return np.asarray(vals, dtype=np.int64)
    if kind == BYTES:
        arr = np.empty(len(vals), dtype=object)
        arr[:] = vals
        return arr
    return np.empty(0, dtype=np.float32)


def _to_numpy(out: dict[str, Any], kinds: dict[str, str | None]) -> None:
    for key, vals in out.items():
        out[key] = _as_numpy(kinds[key], vals)
