"""What a record holds, without TensorFlow: `FeatureSpec` and `load_spec`.

The spec comes, in order of trust, from a tf.Transform output's `transformed_metadata` schema, a
`schema.json` sidecar, or the first records themselves (a feature whose value count is the same in
every sampled record gets that fixed shape; anything else is variable-length). An inferred spec
can be wrong about records further on; the decoders check every record and say so when one does
not fit, naming the file and record.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.loaders.errors import LoaderError
from pipeline.loaders.files import is_remote, record_reader, resolve_files

DTYPES = ("int64", "float32", "bytes")
SAMPLE_RECORDS = 256
_SCHEMA_TYPES = {"INT": "int64", "FLOAT": "float32", "BYTES": "bytes"}


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature: name, value kind and fixed shape (None = variable length).

    dtype is "int64", "float32" or "bytes" (the three lists a tf.train.Example can hold); shape
    () is a scalar, (784,) a vector; a record holds prod(shape) values of the feature.
    """

    name: str
    dtype: str
    shape: tuple[int, ...] | None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise LoaderError(
                f"feature {self.name!r}: dtype must be one of {', '.join(DTYPES)}, "
                f"got {self.dtype!r}"
            )
        if self.shape is not None:
            shape = tuple(int(d) for d in self.shape)
            if any(d < 0 for d in shape):
                raise LoaderError(f"feature {self.name!r}: negative dimension in shape {shape}")
            object.__setattr__(self, "shape", shape)

    @property
    def fixed(self) -> bool:
        return self.shape is not None

    @property
    def size(self) -> int | None:
        """Values per record for a fixed shape."""
        if self.shape is None:
            return None
        n = 1
        for d in self.shape:
            n *= d
        return n

    def to_tf(self) -> Any:
        """The matching `tf.io.FixedLenFeature` / `tf.io.VarLenFeature` (imports TensorFlow)."""
        import tensorflow as tf

        dtype = {"int64": tf.int64, "float32": tf.float32, "bytes": tf.string}[self.dtype]
        if self.shape is None:
            return tf.io.VarLenFeature(dtype)
        return tf.io.FixedLenFeature(list(self.shape), dtype)

    @classmethod
    def from_tf(cls, name: str, feature: Any) -> FeatureSpec:
        """From a `tf.io.FixedLenFeature` / `VarLenFeature` (as tf.Transform returns them)."""
        dtype = {"int64": "int64", "float32": "float32", "string": "bytes"}.get(feature.dtype.name)
        if dtype is None:
            raise LoaderError(f"feature {name!r}: unsupported dtype {feature.dtype.name}")
        shape = getattr(feature, "shape", None)
        if type(feature).__name__ != "FixedLenFeature":
            shape = None
        return cls(name, dtype, None if shape is None else tuple(int(d) for d in shape))


# ------------------------------------------------------------------ schema.pbtxt (text proto)
_TOKEN = re.compile(
    r'\s*(?:(#[^\n]*)|([{}:\[\],;])|("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|([^\s{}:\[\],;"\']+))'
)


def parse_text_proto(text: str) -> dict[str, list[Any]]:
    """A small reader for protobuf text format: message -> {field: [values or sub-messages]}."""
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip():
                raise LoaderError(f"schema text: cannot read {text[pos : pos + 20]!r}")
            break
        pos = m.end()
        if m.group(1):
            continue
        tokens.append(next(g for g in m.groups()[1:] if g is not None))

    def message(i: int, closing: str | None) -> tuple[dict[str, list[Any]], int]:
        out: dict[str, list[Any]] = {}
        while i < len(tokens):
            tok = tokens[i]
            if tok == closing:
                return out, i + 1
            if tok in ",;":
                i += 1
                continue
            name = tok
            i += 1
            if i < len(tokens) and tokens[i] == ":":
                i += 1
            if i >= len(tokens):
                raise LoaderError(f"schema text: field {name} has no value")
            if tokens[i] in "{<":
                sub, i = message(i + 1, "}" if tokens[i] == "{" else ">")
                out.setdefault(name, []).append(sub)
            elif tokens[i] == "[":
                i += 1
                while tokens[i] != "]":
                    if tokens[i] != ",":
                        out.setdefault(name, []).append(_scalar(tokens[i]))
                    i += 1
                i += 1
            else:
                out.setdefault(name, []).append(_scalar(tokens[i]))
                i += 1
        if closing is not None:
            raise LoaderError("schema text: unbalanced braces")
        return out, i

    return message(0, None)[0]


def _scalar(token: str) -> Any:
    if token[:1] in "\"'":
        return bytes(token[1:-1], "utf-8").decode("unicode_escape")
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return token


def spec_from_schema_text(text: str) -> dict[str, FeatureSpec]:
    """tensorflow_metadata Schema (text) -> specs, as tf.Transform's schema_as_feature_spec does:
    a feature with a `shape` is fixed-length, one without is variable-length."""
    schema = parse_text_proto(text)
    out: dict[str, FeatureSpec] = {}
    for feature in schema.get("feature", []):
        name = str(feature.get("name", [""])[0])
        kind = str(feature.get("type", ["BYTES"])[0])
        dtype = _SCHEMA_TYPES.get(kind)
        if dtype is None:
            raise LoaderError(f"schema: feature {name!r} has unsupported type {kind}")
        shape: tuple[int, ...] | None = None
        if "shape" in feature:
            dims = feature["shape"][0].get("dim", [])
            shape = tuple(int(d.get("size", [-1])[0]) for d in dims)
            if any(d < 0 for d in shape):
                shape = None
        out[name] = FeatureSpec(name, dtype, shape)
    return out


def _spec_from_json(payload: Any) -> dict[str, FeatureSpec] | None:
    """schema.json sidecars: recio job's {"columns": [{name, type, required}]} (a required column
    is a scalar, an optional one variable-length), or {"features": {name: {dtype, shape}}}."""
    if isinstance(payload, dict) and isinstance(payload.get("columns"), list):
        payload = [
            {**c, "shape": () if c.get("required", True) else None}
            for c in payload["columns"]
            if isinstance(c, dict)
        ]
    if isinstance(payload, dict) and "features" in payload:
        payload = payload["features"]
    entries: list[tuple[str, Any]] = []
    if isinstance(payload, dict):
        entries = list(payload.items())
    elif isinstance(payload, list):
        entries = [(str(e.get("name")), e) for e in payload if isinstance(e, dict)]
    out: dict[str, FeatureSpec] = {}
    aliases = {"int": "int64", "int64": "int64", "integer": "int64", "float": "float32",
               "float32": "float32", "float64": "float32", "string": "bytes", "bytes": "bytes",
               "str": "bytes"}  # fmt: skip
    for name, entry in entries:
        if not isinstance(entry, dict):
            return None
        raw = str(entry.get("dtype", entry.get("type", ""))).lower()
        dtype = aliases.get(raw)
        if dtype is None:
            return None
        shape = entry.get("shape", ())
        out[name] = FeatureSpec(name, dtype, None if shape is None else tuple(shape))
    return out or None


def infer_spec(
    files: Sequence[str], sample: int = SAMPLE_RECORDS, *, salvage: bool = False
) -> dict[str, FeatureSpec]:
    """Look at the first `sample` records: kind from the value lists, fixed shape where the count
    never varies (1 -> scalar), variable length otherwise (or where a record lacks the feature).
    `salvage` skips damaged records instead of raising."""
    import numpy as np

    from pipeline.loaders.decode import decode_example

    kinds: dict[str, str] = {}
    counts: dict[str, set[int]] = {}
    seen = 0
    order: list[str] = []
    skip = (lambda damage: None) if salvage else None
    for path in files:
        with record_reader(path, on_damage=skip) as reader:
            for batch in reader.iter_batches(max_records=min(sample, 1024)):
                for record in batch[: sample - seen]:
                    try:
                        values = decode_example(record, numpy=True)
                    except Exception as error:
                        raise LoaderError(
                            f"{path}: record {seen}: not a tf.train.Example ({error})"
                        ) from None
                    for name in order:
                        if name not in values:
                            counts[name].add(-1)
                    for name, arr in values.items():
                        if name not in counts:
                            counts[name] = {-1} if seen else set()
                            order.append(name)
                        counts[name].add(int(arr.size))
                        if arr.size:
                            kind = (
                                "bytes" if arr.dtype == object
                                else "int64" if arr.dtype == np.int64 else "float32"
                            )  # fmt: skip
                            kinds.setdefault(name, kind)
                    seen += 1
                if seen >= sample:
                    break
        if seen >= sample:
            break
    if not seen:
        raise LoaderError(f"{files[0]}: holds no records, so there is nothing to infer a spec from")
    out = {}
    for name in order:
        c = counts[name]
        shape: tuple[int, ...] | None = None
        if len(c) == 1 and -1 not in c:
            n = next(iter(c))
            shape = () if n == 1 else (n,)
        out[name] = FeatureSpec(name, kinds.get(name, "float32"), shape)
    return out


def _folder_spec(folder: str) -> dict[str, FeatureSpec] | None:
    """A job folder's own description of its records: a transform job's transformed schema, or a
    csv job's schema (tf.metadata text, else its schema.json)."""
    transformed = os.path.join(folder, "transformed_metadata", "schema.pbtxt")
    if os.path.isfile(transformed):
        with open(transformed, encoding="utf-8") as handle:
            return spec_from_schema_text(handle.read())
    if os.path.isdir(os.path.join(folder, "transform_fn")):
        return None  # metadata/ and schema.json describe the raw input, not these records
    raw = os.path.join(folder, "metadata", "schema.pbtxt")
    if os.path.isfile(raw):
        with open(raw, encoding="utf-8") as handle:
            return spec_from_schema_text(handle.read())
    for name in ("schema.json", "spec.json"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    found = _spec_from_json(json.load(handle))
            except (OSError, ValueError):
                found = None
            if found:
                return found
    return None


def raw_spec_of_transform(transform_dir: str) -> dict[str, FeatureSpec]:
    """The raw (pre-transform) spec a tf.Transform output recorded under `metadata/`."""
    path = os.path.join(transform_dir, "metadata", "schema.pbtxt")
    if not os.path.isfile(path):
        raise LoaderError(
            f"{transform_dir}: no raw schema (metadata/schema.pbtxt); it is needed to read raw "
            "records through the transform: rerun the job with a recio version that writes it"
        )
    with open(path, encoding="utf-8") as handle:
        return spec_from_schema_text(handle.read())


def load_spec(
    data: str | os.PathLike[str] | Sequence[str],
    split: str | None = None,
    *,
    sample: int = SAMPLE_RECORDS,
    salvage: bool = False,
) -> dict[str, FeatureSpec]:
    """The feature spec of `data`: a job output folder's schema, or inferred from its records."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not is_remote(path) and os.path.isdir(path):
            found = _folder_spec(path)
            if found:
                return found
    return infer_spec(resolve_files(data, split), sample, salvage=salvage)


def select(
    spec: Mapping[str, FeatureSpec], label: str, features: Sequence[str] | None, where: str
) -> tuple[list[str], FeatureSpec]:
    """Check the label and feature names against the spec; return (feature names, label spec)."""
    known = ", ".join(spec) or "none"
    if not isinstance(label, str) or not label:
        raise LoaderError("label must name a feature")
    if label not in spec:
        raise LoaderError(
            f"{where}: label {label!r} is not a feature of the data (features: {known})"
        )
    if features is None:
        names = [n for n in spec if n != label]
    else:
        if isinstance(features, str):
            raise LoaderError("features must be a list of names, not a string")
        names = list(dict.fromkeys(features))
        unknown = [n for n in names if n not in spec]
        if unknown:
            raise LoaderError(
                f"{where}: unknown feature{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))} (features: {known})"
            )
        if label in names:
            raise LoaderError(f"label {label!r} is also listed among the features")
    return names, spec[label]


__all__ = ["FeatureSpec", "infer_spec", "load_spec", "parse_text_proto", "spec_from_schema_text"]
