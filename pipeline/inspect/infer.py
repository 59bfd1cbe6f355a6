"""What a profile says each feature is, and that schema in the three forms tools read.

* `pbtxt`: a tensorflow_metadata Schema (what TFX, tf.Transform and TFDV read);
* `json`: recio's schema JSON for the jobs (`--schema`); list-valued features get `"values"`:
  their fixed size, or "var";
* `python`: a `tf.io` feature spec to paste into a parsing function.

A feature is fixed-length when every record holds it with the same number of values (a scalar
when that number is 1), and variable-length otherwise (absent from some records, or holding
lists of varying length). A string feature gets a domain when it has at most `max_domain`
distinct values, all UTF-8, and all were counted exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeline.inspect.profile import DatasetProfile
from recordio import Kind

FORMATS = ("pbtxt", "json", "python")
_TF_DTYPE = {Kind.INT64: "tf.int64", Kind.FLOAT: "tf.float32", Kind.BYTES: "tf.string"}


@dataclass(frozen=True)
class InferredFeature:
    """One feature of the inferred schema."""

    name: str
    kind: Kind
    fixed: bool  # every record has exactly `min_values` == `max_values` values
    min_values: int
    max_values: int
    presence: float  # fraction of records holding the feature
    present: int
    domain: tuple[str, ...] | None = None

    @property
    def shape(self) -> list[int] | None:
        """The fixed shape ([] for a scalar), or None for a variable-length feature."""
        if not self.fixed:
            return None
        return [] if self.max_values == 1 else [self.max_values]

    @property
    def scalar(self) -> bool:
        return self.max_values <= 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": str(self.kind),
            "fixed": self.fixed,
            "shape": self.shape,
            "min_values": self.min_values,
            "max_values": self.max_values,
            "presence": self.presence,
        }
        if self.domain is not None:
            out["domain"] = list(self.domain)
        return out


@dataclass(frozen=True)
class InferredSchema:
    """Every feature with a known kind; `unknown` lists those only ever seen empty or mixed."""

    features: tuple[InferredFeature, ...]
    records: int
    unknown: tuple[str, ...] = ()


def infer_schema(profile: DatasetProfile, *, max_domain: int = 50) -> InferredSchema:
    """The schema the profiled records follow."""
    features = []
    unknown = []
    for name in sorted(profile.features):
        feature = profile.features[name]
        if feature.kind is None or feature.mixed_kinds:
            unknown.append(name)
            continue
        fixed = feature.present == profile.records and feature.min_length == feature.max_length
        fixed = fixed and feature.max_length > 0
        domain = None
        top = feature.top
        if feature.kind is Kind.BYTES and top.exact and 0 < len(top.counts) <= max_domain:
            try:
                domain = tuple(sorted(v.decode() for v in top.counts))
            except UnicodeDecodeError:
                domain = None
        features.append(
            InferredFeature(
                name=name,
                kind=feature.kind,
                fixed=fixed,
                min_values=feature.min_length,
                max_values=feature.max_length,
                presence=feature.present / profile.records,
                present=feature.present,
                domain=domain,
            )
        )
    return InferredSchema(tuple(features), profile.records, tuple(unknown))


# ----------------------------------------------------------------------------------- forms
def to_metadata_proto(schema: InferredSchema) -> Any:
    """A tensorflow_metadata `Schema` proto (imports tensorflow_metadata, not TensorFlow)."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    proto = schema_pb2.Schema()
    types = {Kind.INT64: schema_pb2.INT, Kind.FLOAT: schema_pb2.FLOAT, Kind.BYTES: schema_pb2.BYTES}
    for feature in schema.features:
        out = proto.feature.add()
        out.name = feature.name
        out.type = types[feature.kind]
        out.presence.min_count = 1 if feature.present else 0
        out.presence.min_fraction = 1.0 if feature.presence == 1.0 else 0.0
        shape = feature.shape
        if shape is not None:
            out.shape.SetInParent()
            for size in shape:
                out.shape.dim.add().size = size
        else:
            out.value_count.min = feature.min_values
            out.value_count.max = feature.max_values
        if feature.domain is not None:
            domain = proto.string_domain.add()
            domain.name = feature.name
            domain.value.extend(feature.domain)
            out.domain = feature.name
    return proto


def to_pbtxt(schema: InferredSchema) -> str:
    from google.protobuf import text_format

    return str(text_format.MessageToString(to_metadata_proto(schema)))


def to_job_json(schema: InferredSchema) -> str:
    """recio's schema JSON (`--schema` of the jobs)."""
    columns = []
    for feature in schema.features:
        column: dict[str, Any] = {"name": feature.name, "type": str(feature.kind)}
        if not feature.scalar:
            column["values"] = feature.max_values if feature.fixed else "var"
        elif not feature.fixed:
            column["required"] = False
        columns.append(column)
    return json.dumps({"columns": columns}, indent=2) + "\n"


def to_python(schema: InferredSchema) -> str:
    """A tf.io feature spec as Python source."""
    lines = [
        f"# Inferred by recio from {schema.records:,} records.",
        "import tensorflow as tf",
        "",
        "FEATURE_SPEC = {",
    ]
    for feature in schema.features:
        dtype = _TF_DTYPE[feature.kind]
        shape = feature.shape
        if shape is not None:
            spec = f"tf.io.FixedLenFeature({shape}, {dtype})"
        else:
            spec = f"tf.io.VarLenFeature({dtype})"
        lines.append(f"    {feature.name!r}: {spec},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(schema: InferredSchema, fmt: str) -> str:
    """The schema as text in one of FORMATS."""
    from pipeline.errors import JobOptionsError

    if fmt == "pbtxt":
        return to_pbtxt(schema)
    if fmt == "json":
        return to_job_json(schema)
    if fmt == "python":
        return to_python(schema)
    raise JobOptionsError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}", params=("fmt",))


__all__ = [
    "FORMATS",
    "InferredFeature",
    "InferredSchema",
    "infer_schema",
    "render",
    "to_job_json",
    "to_metadata_proto",
    "to_pbtxt",
    "to_python",
]
