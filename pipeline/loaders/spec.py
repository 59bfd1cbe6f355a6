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

from pipeline.errors import LoaderError, LoaderOptionError
from pipeline.layout import JobOutput
from pipeline.loaders.files import record_reader, resolve_files
from recordio import Kind, OptionError

SAMPLE_RECORDS = 256


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature: name, value kind and fixed shape (None = variable length).

    kind is a `recordio.Kind`: int64, float or bytes (the three lists a tf.train.Example can
    hold; other spellings such as "float32" or "string" are read too); shape () is a scalar,
    (784,) a vector; a record holds prod(shape) values of the feature.
    """

    name: str
    kind: Kind
    shape: tuple[int, ...] | None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", Kind.parse(self.kind, what=f"feature {self.name!r}"))
        except OptionError as error:
            raise LoaderOptionError(error.detail, params=("spec",)) from None
        if self.shape is not None:
            shape = tuple(int(d) for d in self.shape)
            if any(d < 0 for d in shape):
                raise LoaderError(f"feature {self.name!r}: negative dimension in shape {shape}")
            object.__setattr__(self, "shape", shape)

    @property
    def dtype(self) -> str:
        """The numpy dtype of the decoded values: int64, float32, or object for bytes."""
        return self.kind.dtype

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

        dtype = {Kind.INT64: tf.int64, Kind.FLOAT: tf.float32, Kind.BYTES: tf.string}[self.kind]
        if self.shape is None:
            return tf.io.VarLenFeature(dtype)
        return tf.io.FixedLenFeature(list(self.shape), dtype)

    @classmethod
    def from_tf(cls, name: str, feature: Any) -> FeatureSpec:
        """From a `tf.io.FixedLenFeature` / `VarLenFeature` (as tf.Transform returns them)."""
        kind = {"int64": Kind.INT64, "float32": Kind.FLOAT, "string": Kind.BYTES}.get(
            feature.dtype.name
        )
        if kind is None:
            raise LoaderError(f"feature {name!r}: unsupported dtype {feature.dtype.name}")
        shape = getattr(feature, "shape", None)
        if type(feature).__name__ != "FixedLenFeature":
            shape = None
        return cls(name, kind, None if shape is None else tuple(int(d) for d in shape))


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
        if kind not in ("INT", "FLOAT", "BYTES"):
            raise LoaderError(f"schema: feature {name!r} has unsupported type {kind}")
        shape: tuple[int, ...] | None = None
        if "shape" in feature:
            dims = feature["shape"][0].get("dim", [])
            shape = tuple(int(d.get("size", [-1])[0]) for d in dims)
            if any(d < 0 for d in shape):
                shape = None
        out[name] = FeatureSpec(name, Kind.parse(kind), shape)
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
    for name, entry in entries:
        if not isinstance(entry, dict):
            return None
        try:
            kind = Kind.parse(str(entry.get("kind", entry.get("dtype", entry.get("type", "")))))
        except OptionError:
            return None
        shape = entry.get("shape", ())
        out[name] = FeatureSpec(name, kind, None if shape is None else tuple(shape))
    return out or None


def infer_spec(
    files: Sequence[str], sample: int = SAMPLE_RECORDS, *, salvage: bool = False
) -> dict[str, FeatureSpec]:
    """Look at the first `sample` records: kind from the value lists, fixed shape where the count
    never varies (1 -> scalar), variable length otherwise (or where a record lacks the feature).
    `salvage` skips damaged records instead of raising."""

    from recordio import decode_example

    kinds: dict[str, Kind] = {}
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
                            kinds.setdefault(name, Kind.of_array(arr))
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
        out[name] = FeatureSpec(name, kinds.get(name, Kind.FLOAT), shape)
    return out


def _read_schema(kind: str, path: str) -> dict[str, FeatureSpec] | None:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if kind == "pbtxt":
        return spec_from_schema_text(text)
    try:
        return _spec_from_json(json.loads(text))
    except ValueError:
        return None


def raw_spec_of_transform(transform_dir: str) -> dict[str, FeatureSpec]:
    """The raw (pre-transform) spec a tf.Transform output recorded under `metadata/`."""
    path = JobOutput(transform_dir).raw_schema
    if path is None:
        raise LoaderError(
            f"{transform_dir}: no raw schema (metadata/schema.pbtxt); it is needed to read raw "
            "records through the transform: rerun the job with a recio version that writes it"
        )
    found = _read_schema("pbtxt", path)
    assert found is not None
    return found


def load_spec(
    data: str | os.PathLike[str] | Sequence[str],
    split: str | None = None,
    *,
    sample: int = SAMPLE_RECORDS,
    salvage: bool = False,
) -> dict[str, FeatureSpec]:
    """The feature spec of `data`: a job output folder's schema, or inferred from its records."""
    output = JobOutput.of(data)
    described = output.records_schema() if output is not None else None
    if described is not None:
        found = _read_schema(*described)
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
