"""The one place that knows the columns: names, types, missing values and declared transforms.

A schema is a small JSON (or YAML) file that users write by hand or that `recio job csv`
infers from the data and writes out for reuse:

    {"columns": [
        {"name": "id", "type": "int64"},
        {"name": "total_bedrooms", "type": "float", "fill": "mean", "transform": "z_score"},
        {"name": "ocean_proximity", "type": "bytes",
         "transform": {"name": "vocabulary", "output": "one_hot", "top_k": 8}},
        {"name": "median_income", "type": "float", "transform": ["log", "z_score"]},
        {"name": "median_house_value", "type": "float"}],
     "label": "median_house_value", "key": "id"}

Types are recordio's kinds: "int64", "float" (float32) and "bytes" (strings; "int", "string" and
the other usual names are read too, and written back as the kind). A column is required unless it
says `"required": false` or has a `fill`; a required cell that is missing makes its row a bad
row. Transforms run in the order listed; `vocabulary` and `bucketize` must come last.
Everything TensorFlow-shaped (feature specs, tf.metadata schemas, Arrow schemas) is derived here
so that no other module spells out a feature key.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.errors import SchemaError
from recordio import Kind, OptionError

INT, FLOAT, STRING = Kind.INT64, Kind.FLOAT, Kind.BYTES
MISSING_TOKEN = "__missing__"
FILL_MEAN = "mean"
TRANSFORMED_SUFFIX = "_xf"

# name -> {param: (type, default)}; a default of `...` means the parameter is required.
TRANSFORMS: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "none": {},
    "drop": {},
    "z_score": {},
    "min_max": {},
    "log": {},
    "bucketize": {
        "num_buckets": (int, None),
        "epsilon": (float, 0.01),
        "boundaries": ((list, tuple), None),
    },
    "pad": {"length": (int, ...), "value": ((int, float, str), None)},
    "vocabulary": {
        "num_oov_buckets": (int, 1),
        "top_k": (int, None),
        "frequency_threshold": (int, None),
        "output": (str, "ids"),
        "delimiter": (str, None),
    },
}
NUMERIC_TRANSFORMS = ("z_score", "min_max", "log", "bucketize")
TERMINAL_TRANSFORMS = ("bucketize", "vocabulary", "pad")
LIST_TRANSFORMS = ("none", "drop", "z_score", "min_max", "log", "vocabulary", "pad")
VAR_LENGTH = "var"
VOCAB_OUTPUTS = ("ids", "one_hot", "multi_hot")


def transformed_name(name: str) -> str:
    """The TFX convention for naming a transformed feature (`age` -> `age_xf`)."""
    return name + TRANSFORMED_SUFFIX


@dataclass(frozen=True, slots=True)
class Step:
    """One transform step: a name from TRANSFORMS and its parameters (defaults filled in)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str) -> Any:
        """A parameter's value (its default when the file did not give it)."""
        return dict(self.params).get(key, TRANSFORMS[self.name][key][1])

    def to_json(self) -> str | dict[str, Any]:
        given = {k: v for k, v in self.params if v != TRANSFORMS[self.name][k][1]}
        return {"name": self.name, **given} if given else self.name


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column / Example feature.

    Attributes:
        name: column name in the CSV header and feature key in the raw Examples.
        type: the column's `recordio.Kind`: int64, float or bytes.
        required: a missing cell makes the row bad; False lets the value be absent.
        fill: value used by `recio job transform` when the cell is missing: a constant,
            or "mean" (numeric columns: the training split's mean).
        transform: steps applied by `recio job transform`, in order; () passes it through.
        output: name of the transformed feature (default: the column name).
        values: None for one value per row; "var" for a list of any length (tokens,
            multi-labels; tf.Transform sees a SparseTensor); an int N for a fixed-size vector
            (an embedding; a dense [batch, N] tensor). Example and Parquet inputs only.
    """

    name: str
    type: Kind
    required: bool = True
    fill: float | int | str | None = None
    transform: tuple[Step, ...] = ()
    output: str | None = None
    values: int | str | None = None

    @property
    def is_list(self) -> bool:
        return self.values is not None

    @property
    def output_name(self) -> str:
        return self.output or self.name

    @property
    def dropped(self) -> bool:
        return any(step.name == "drop" for step in self.transform)

    @property
    def numeric(self) -> bool:
        return self.type in (INT, FLOAT)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": str(self.type)}
        if not self.required and self.fill is None:
            out["required"] = False
        if self.fill is not None:
            out["fill"] = self.fill
        if self.transform:
            steps = [step.to_json() for step in self.transform]
            out["transform"] = steps[0] if len(steps) == 1 else steps
        if self.output:
            out["output"] = self.output
        if self.values is not None:
            out["values"] = self.values
        return out


@dataclass(frozen=True, slots=True)
class Schema:
    """The columns of a dataset, plus which one is the label and which is the row key.

    Attributes:
        columns: in CSV order (the order of a header-less file).
        label: the target column, recorded in the job's output for the loaders.
        key: a column whose value identifies a row; the train/eval split hashes it.
    """

    columns: tuple[Column, ...]
    label: str | None = None
    key: str | None = None
    source: str = field(default="<schema>", compare=False)

    def __post_init__(self) -> None:
        where = self.source
        if not self.columns:
            raise SchemaError(f"{where}: the schema has no columns")
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"{where}: column names repeat: {', '.join(dupes)}")
        for role in ("label", "key"):
            value = getattr(self, role)
            if value is not None and value not in names:
                raise SchemaError(
                    f"{where}: {role} column {value!r} is not a column "
                    f"(columns: {', '.join(names)})"
                )
        outputs = [c.output_name for c in self.columns if not c.dropped]
        clash = sorted({n for n in outputs if outputs.count(n) > 1})
        if clash:
            raise SchemaError(f"{where}: two columns produce the output feature {clash[0]!r}")

    # -- lookups ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise SchemaError(f"{self.source}: no column named {name!r}")

    @property
    def has_transforms(self) -> bool:
        return any(c.transform for c in self.columns)

    def with_roles(self, *, label: str | None = None, key: str | None = None) -> Schema:
        """This schema with the label/key replaced where given (CLI flags beat the file)."""
        return replace(self, label=label or self.label, key=key or self.key)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"columns": [c.to_json() for c in self.columns]}
        if self.label:
            out["label"] = self.label
        if self.key:
            out["key"] = self.key
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    # -- TensorFlow / Arrow views ------------------------------------------------------------
    def raw_feature_spec(self) -> dict[str, Any]:
        """tf.io feature spec of the raw data: FixedLen scalars, VarLen for optional columns."""
        import tensorflow as tf

        dtypes = {INT: tf.int64, FLOAT: tf.float32, STRING: tf.string}
        spec: dict[str, Any] = {}
        for col in self.columns:
            if col.values == VAR_LENGTH:
                spec[col.name] = tf.io.VarLenFeature(dtypes[col.type])
            elif isinstance(col.values, int):
                spec[col.name] = tf.io.FixedLenFeature([col.values], dtypes[col.type])
            elif col.required:
                spec[col.name] = tf.io.FixedLenFeature([], dtypes[col.type])
            else:
                spec[col.name] = tf.io.VarLenFeature(dtypes[col.type])
        return spec

    def tf_metadata_schema(self) -> Any:
        """The raw data's tensorflow_metadata Schema proto (what TFT and TFXIO consume)."""
        from tensorflow_transform.tf_metadata import schema_utils

        return schema_utils.schema_from_feature_spec(self.raw_feature_spec())

    def arrow_value_types(self) -> dict[str, Any]:
        """Arrow value type of each column in the TFXIO layout (large_list of these)."""
        import pyarrow as pa

        types = {INT: pa.int64(), FLOAT: pa.float32(), STRING: pa.large_binary()}
        return {c.name: types[c.type] for c in self.columns}

    def arrow_schema(self) -> Any:
        """Arrow schema of the decoded batches: one large_list column per column, in order."""
        import pyarrow as pa

        return pa.schema(
            [pa.field(name, pa.large_list(t)) for name, t in self.arrow_value_types().items()]
        )

    def tensor_adapter_config(self) -> Any:
        """What tf.Transform needs to turn our Arrow batches into tensors."""
        from tfx_bsl.public import tfxio
        from tfx_bsl.tfxio import tensor_representation_util

        reps = tensor_representation_util.InferTensorRepresentationsFromSchema(
            self.tf_metadata_schema()
        )
        return tfxio.TensorAdapterConfig(self.arrow_schema(), reps)


# -- parsing ---------------------------------------------------------------------------------
def _parse_type(value: Any, where: str) -> Kind:
    try:
        return Kind.parse(value, what=where)
    except OptionError:
        raise SchemaError(f"{where}: unknown type {value!r}; use int64, float or bytes") from None


def _parse_step(raw: Any, where: str) -> Step:
    if isinstance(raw, str):
        name, given = raw, {}
    elif isinstance(raw, Mapping):
        given = dict(raw)
        name = given.pop("name", None) or given.pop("type", None)
        if not isinstance(name, str):
            raise SchemaError(f"{where}: a transform given as an object needs a 'name'")
    else:
        raise SchemaError(f"{where}: a transform is a name or an object, got {raw!r}")
    name = name.lower().replace("-", "_")
    name = {"zscore": "z_score", "minmax": "min_max", "scale_to_0_1": "min_max",
            "vocab": "vocabulary", "identity": "none"}.get(name, name)  # fmt: skip
    if name not in TRANSFORMS:
        raise SchemaError(f"{where}: unknown transform {name!r} (known: {', '.join(TRANSFORMS)})")
    allowed = TRANSFORMS[name]
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        known = ", ".join(allowed) or "none"
        raise SchemaError(
            f"{where}: transform {name!r} has no parameter {unknown[0]!r} (parameters: {known})"
        )
    params = []
    for key, (kind, default) in allowed.items():
        if key not in given:
            if default is ...:
                raise SchemaError(f"{where}: transform {name!r} needs {key!r}")
            continue
        value = given[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if key == "boundaries" and isinstance(value, (list, tuple)):
            value = _boundaries(value, where)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            wanted = (
                "a list"
                if kind == (list, tuple)
                else " or ".join(k.__name__ for k in kind)
                if isinstance(kind, tuple)
                else kind.__name__
            )
            raise SchemaError(f"{where}: {name}.{key} must be {wanted}, got {value!r}")
        params.append((key, value))
    step = Step(name, tuple(params))
    _check_step_params(step, where)
    return step


def _boundaries(value: list[Any] | tuple[Any, ...], where: str) -> tuple[float, ...]:
    """Given bucket boundaries: finite numbers in increasing order, at least one."""
    if not value or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value
    ):
        raise SchemaError(f"{where}: bucketize.boundaries must be a non-empty list of numbers")
    bounds = tuple(float(v) for v in value)
    if any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
        raise SchemaError(f"{where}: bucketize.boundaries must increase, got {list(value)}")
    return bounds


def _check_step_params(step: Step, where: str) -> None:
    if step.name == "bucketize":
        buckets, bounds = step.get("num_buckets"), step.get("boundaries")
        if buckets is None and bounds is None:
            raise SchemaError(
                f"{where}: transform 'bucketize' needs 'num_buckets' (quantile buckets from the "
                "training split) or 'boundaries' (given edges)"
            )
        if buckets is not None and bounds is not None:
            raise SchemaError(f"{where}: bucketize takes 'num_buckets' or 'boundaries', not both")
        if buckets is not None and buckets < 2:
            raise SchemaError(f"{where}: bucketize.num_buckets must be >= 2")
    if step.name == "pad" and step.get("length") < 1:
        raise SchemaError(f"{where}: pad.length must be >= 1")
    if step.name == "vocabulary":
        output = step.get("output")
        if output not in VOCAB_OUTPUTS:
            raise SchemaError(
                f"{where}: vocabulary.output must be one of {', '.join(VOCAB_OUTPUTS)}, "
                f"got {output!r}"
            )
        if step.get("num_oov_buckets") < 0:
            raise SchemaError(f"{where}: vocabulary.num_oov_buckets must be >= 0")
        top_k = step.get("top_k")
        if top_k is not None and top_k < 1:
            raise SchemaError(f"{where}: vocabulary.top_k must be >= 1")
        if output != "ids" and top_k is None:
            raise SchemaError(
                f"{where}: vocabulary output {output!r} needs 'top_k' so that the vector has "
                "a fixed width (top_k + num_oov_buckets)"
            )


def _parse_column(raw: Any, index: int, source: str) -> Column:
    if isinstance(raw, str):
        raw = {"name": raw, "type": STRING}
    if not isinstance(raw, Mapping):
        raise SchemaError(f"{source}: column #{index + 1} must be an object, got {raw!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SchemaError(f"{source}: column #{index + 1} needs a non-empty 'name'")
    where = f"{source}: column {name!r}"
    known = {"name", "type", "required", "fill", "transform", "output", "values"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SchemaError(
            f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(sorted(known))})"
        )
    kind = _parse_type(raw.get("type", STRING), where)
    fill = raw.get("fill")
    if fill is not None:
        if kind == STRING and not isinstance(fill, str):
            raise SchemaError(f"{where}: fill of a string column must be a string")
        if kind != STRING:
            if isinstance(fill, str) and fill != FILL_MEAN:
                raise SchemaError(
                    f'{where}: fill of a numeric column is a number or "mean", got {fill!r}'
                )
            if isinstance(fill, bool) or (
                not isinstance(fill, str) and not isinstance(fill, (int, float))
            ):
                raise SchemaError(f'{where}: fill must be a number or "mean", got {fill!r}')
            if isinstance(fill, float) and not math.isfinite(fill):
                raise SchemaError(f"{where}: fill must be finite, got {fill!r}")
            if kind == INT and isinstance(fill, float):
                if not fill.is_integer():
                    raise SchemaError(f"{where}: fill of an int column must be whole, got {fill}")
                fill = int(fill)
    required = raw.get("required", fill is None)
    if not isinstance(required, bool):
        raise SchemaError(f"{where}: 'required' must be true or false, got {required!r}")
    if required and fill is not None:
        raise SchemaError(f"{where}: a column with a fill cannot be required")
    steps_raw = raw.get("transform")
    if steps_raw is None:
        steps: tuple[Step, ...] = ()
    elif isinstance(steps_raw, list):
        steps = tuple(_parse_step(s, where) for s in steps_raw)
    else:
        steps = (_parse_step(steps_raw, where),)
    _check_chain(kind, steps, where)
    output = raw.get("output")
    if output is not None and (not isinstance(output, str) or not output):
        raise SchemaError(f"{where}: 'output' must be a non-empty string")
    values = raw.get("values")
    if values is not None:
        _check_list_column(values, fill, steps, where)
    elif any(step.name == "pad" for step in steps):
        raise SchemaError(f'{where}: pad takes a list column (give "values": "var")')
    return Column(name, kind, required, fill, steps, output, values)


def _check_list_column(values: Any, fill: Any, steps: tuple[Step, ...], where: str) -> None:
    """A list-valued column: "var" or a size >= 1, no fill, transforms that take lists."""
    fixed = isinstance(values, int) and not isinstance(values, bool) and values >= 1
    if values != VAR_LENGTH and not fixed:
        raise SchemaError(f'{where}: values must be "var" or a size >= 1, got {values!r}')
    if fill is not None:
        raise SchemaError(f"{where}: a list column has no fill (an absent list is empty)")
    for step in steps:
        if step.name not in LIST_TRANSFORMS:
            raise SchemaError(
                f"{where}: {step.name!r} takes one value per row; list columns take "
                f"{', '.join(LIST_TRANSFORMS[1:])}"
            )
        if step.name == "vocabulary" and (
            step.get("output") == "one_hot" or step.get("delimiter") is not None
        ):
            raise SchemaError(
                f"{where}: a vocabulary over a list gives ids or multi_hot (no one_hot, no "
                "delimiter: the values are the tokens)"
            )


def _check_chain(kind: str, steps: tuple[Step, ...], where: str) -> None:
    names = [s.name for s in steps]
    if ("drop" in names or "none" in names) and len(steps) > 1:
        raise SchemaError(f"{where}: 'drop' and 'none' cannot be combined with other transforms")
    for i, step in enumerate(steps):
        if step.name in TERMINAL_TRANSFORMS and i != len(steps) - 1:
            raise SchemaError(f"{where}: {step.name!r} must be the last transform")
        if step.name in NUMERIC_TRANSFORMS and kind == STRING:
            raise SchemaError(
                f"{where}: {step.name!r} needs a numeric column; this one is a string "
                "(use vocabulary, or change its type)"
            )


def parse_schema(data: Any, *, source: str = "<schema>") -> Schema:
    """Build a Schema from the decoded JSON/YAML document; every error names the column."""
    if isinstance(data, list):
        data = {"columns": data}
    if not isinstance(data, Mapping):
        raise SchemaError(f"{source}: a schema is an object with a 'columns' list")
    unknown = sorted(set(data) - {"columns", "label", "key", "version"})
    if unknown:
        raise SchemaError(f"{source}: unknown top-level field {unknown[0]!r}")
    columns = data.get("columns")
    if not isinstance(columns, list):
        raise SchemaError(f"{source}: 'columns' must be a list of columns")
    parsed = tuple(_parse_column(raw, i, source) for i, raw in enumerate(columns))
    return Schema(parsed, data.get("label"), data.get("key"), source=source)


def load_schema(path: str | os.PathLike[str]) -> Schema:
    """Read a schema file: JSON always, YAML (.yaml/.yml) when PyYAML is installed."""
    from pipeline._files import read_text

    text_path = os.fspath(path)
    text = read_text(text_path, what="schema file")
    if text_path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError as error:
            raise SchemaError(
                f"{text_path}: reading YAML needs PyYAML (pip install pyyaml); or use JSON"
            ) from error
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise SchemaError(f"{text_path}: not valid YAML: {error}".split("\n")[0]) from error
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SchemaError(
                f"{text_path}: not valid JSON at line {error.lineno} column {error.colno}: "
                f"{error.msg}"
            ) from error
    return parse_schema(data, source=text_path)


def save_schema(schema: Schema, path: str) -> None:
    """Write the schema as JSON (atomically), ready to pass back with --schema."""
    from pipeline._files import write_text

    write_text(path, schema.to_json())


def with_default_transforms(schema: Schema) -> Schema:
    """Give every column without a transform the usual one (for an inferred schema).

    Numbers get a z-score, strings a vocabulary with one out-of-vocabulary bucket; columns
    that may be missing get fill "mean" (numbers) or the token "__missing__" (strings). The
    label and key columns pass through untouched.
    """
    columns = []
    for col in schema.columns:
        if col.transform or col.name in (schema.label, schema.key):
            columns.append(col)
            continue
        if col.numeric:
            step = Step("z_score")
            fill = col.fill if col.fill is not None else (None if col.required else FILL_MEAN)
        else:
            step = Step("vocabulary")
            fill = col.fill if col.fill is not None else (None if col.required else MISSING_TOKEN)
        columns.append(replace(col, transform=(step,), fill=fill))
    return replace(schema, columns=tuple(columns))


def schema_from_columns(
    names: Iterable[str], types: Iterable[Kind], required: Iterable[bool], *, source: str
) -> Schema:
    """Assemble a Schema from parallel lists (used by inference)."""
    cols = tuple(Column(n, t, r) for n, t, r in zip(names, types, required, strict=True))
    return Schema(cols, source=source)
