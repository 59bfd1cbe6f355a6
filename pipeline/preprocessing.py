"""`preprocessing_fn`s: the schema-driven one, and loading a user's module file.

`schema_preprocessing_fn(inputs, schema=...)` is a pure, top-level function in the TFX sense:
dict of raw tensors in, dict of transformed tensors out, with tf.Transform analyzers for the
full-pass statistics. Each statistic an analyzer computes passes through a `tf.identity` named
`recio_stat__<output>__<step>__<stat>`, so that after the job `pipeline.stats` can read the
values back out of the saved transform graph and print them.

Random augmentation never belongs here: the transform graph is exported for serving, so every
op in it runs again at inference time (see pipeline.augment for offline augmentation).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

from pipeline.errors import SchemaError
from pipeline.schema import FILL_MEAN, INT, STRING, Column, Schema, Step

STAT_PREFIX = "recio_stat__"
_COLLECTED: dict[str, list[dict[str, Any]]] = {}
PreprocessingFn = Callable[[dict[str, Any]], dict[str, Any]]


def _stat(tensor: Any, output: str, step: int | str, name: str) -> Any:
    import tensorflow as tf

    return tf.identity(tensor, name=f"{STAT_PREFIX}{output}__{step}__{name}")


def _fill_missing(x: Any, col: Column) -> Any:
    """SparseTensor of 0/1 values per row -> dense [batch] tensor with the column's fill."""
    import tensorflow as tf
    import tensorflow_transform as tft

    if col.fill == FILL_MEAN:
        fill = _stat(tft.mean(tf.cast(x.values, tf.float32)), col.output_name, "fill", "mean")
        if col.type == INT:
            fill = tf.cast(tf.round(fill), tf.int64)
    else:
        fill = tf.constant(col.fill, dtype=x.dtype)
    dense = tft.sparse_tensor_to_dense_with_shape(x, [None, 1], default_value=fill)
    return tf.squeeze(dense, axis=1)


def _on_values(x: Any, fn: Callable[[Any], Any]) -> Any:
    """fn applied to every value: of a dense tensor, or of a SparseTensor's values."""
    import tensorflow as tf

    if isinstance(x, tf.SparseTensor):
        return tf.SparseTensor(x.indices, fn(x.values), x.dense_shape)
    return fn(x)


def _pad_step(x: Any, step: Step, col: Column) -> Any:
    """A list column -> dense [batch, length]: cut longer lists, pad shorter ones."""
    import tensorflow as tf

    length = step.get("length")
    value = step.get("value")
    if value is None:
        value = "" if x.dtype == tf.string else 0
    value = tf.constant(value, dtype=x.dtype) if x.dtype == tf.string else tf.cast(value, x.dtype)
    dense = tf.sparse.to_dense(x, default_value=value) if isinstance(x, tf.SparseTensor) else x
    dense = dense[:, :length]
    dense = tf.pad(dense, [[0, 0], [0, length - tf.shape(dense)[1]]], constant_values=value)
    return tf.reshape(dense, [-1, length])


def _numeric_step(x: Any, step: Step, output: str, index: int) -> Any:
    """One numeric step; on a list column the statistics are over all its values."""
    import tensorflow as tf
    import tensorflow_transform as tft

    if isinstance(x, tf.SparseTensor) and step.name != "bucketize":
        x = _on_values(x, lambda v: tf.cast(v, tf.float32))
        if step.name == "log":
            return _on_values(x, tf.math.log1p)
        if step.name == "z_score":
            mean = _stat(tft.mean(x), output, index, "mean")
            std = tf.sqrt(_stat(tft.var(x), output, index, "var"))
            safe = tf.where(std > 0, std, 1.0)
            return _on_values(x, lambda v: tf.where(std > 0, (v - mean) / safe, v - mean))
        low = _stat(tft.min(x), output, index, "min")
        high = _stat(tft.max(x), output, index, "max")
        spread = high - low
        safe = tf.where(spread > 0, spread, 1.0)
        return _on_values(x, lambda v: tf.where(spread > 0, (v - low) / safe, 0.0 * v))
    if step.name == "bucketize":
        x = tf.cast(x, tf.float32)
        given = step.get("boundaries")
        if given is not None:  # fixed edges: bucket i holds [edge i-1, edge i)
            return tft.apply_buckets(x, tf.constant([list(given)], dtype=tf.float32))
        bounds = tft.quantiles(x, step.get("num_buckets"), step.get("epsilon"))
        bounds = _stat(bounds, output, index, "boundaries")
        return tft.apply_buckets(x, bounds)
    x = tf.cast(x, tf.float32)
    if step.name == "log":
        return tf.math.log1p(x)
    if step.name == "z_score":
        mean = _stat(tft.mean(x), output, index, "mean")
        var = _stat(tft.var(x), output, index, "var")
        std = tf.sqrt(var)
        centred = x - mean
        return tf.where(std > 0, centred / tf.where(std > 0, std, 1.0), centred)
    if step.name == "min_max":
        low = _stat(tft.min(x), output, index, "min")
        high = _stat(tft.max(x), output, index, "max")
        spread = high - low
        return tf.where(spread > 0, (x - low) / tf.where(spread > 0, spread, 1.0), 0.0 * x)
    raise SchemaError(f"transform {step.name!r} is not numeric")  # pragma: no cover


def _vocabulary_step(x: Any, step: Step, col: Column) -> Any:
    import tensorflow as tf
    import tensorflow_transform as tft

    output = col.output_name
    if col.type != STRING:
        x = tf.strings.as_string(x)
    delimiter = step.get("delimiter")
    if delimiter:
        tokens = tf.strings.split(x, sep=delimiter)
        x = tf.ragged.map_flat_values(tf.strings.strip, tokens).to_sparse()
    oov = step.get("num_oov_buckets")
    ids = tft.compute_and_apply_vocabulary(
        x,
        top_k=step.get("top_k"),
        frequency_threshold=step.get("frequency_threshold"),
        num_oov_buckets=oov,
        vocab_filename=output,
        name=f"vocabulary_{output}",
    )
    kind = step.get("output")
    if kind == "ids":
        return ids
    depth = step.get("top_k") + oov
    if isinstance(ids, tf.SparseTensor):
        ids = tf.sparse.retain(ids, ids.values >= 0)
        return tf.cast(tf.sparse.to_indicator(ids, depth), tf.float32)
    if col.is_list:  # a fixed-size list of tokens: [batch, N] ids -> [batch, depth] multi-hot
        return tf.reduce_max(tf.one_hot(ids, depth, dtype=tf.float32), axis=1)
    return tf.one_hot(ids, depth, dtype=tf.float32)


def transform_column(x: Any, col: Column) -> Any:
    """Apply one column's fill and steps to its raw tensor."""
    if col.is_list:
        for index, step in enumerate(col.transform):
            if step.name == "vocabulary":
                x = _vocabulary_step(x, step, col)
            elif step.name == "pad":
                x = _pad_step(x, step, col)
            elif step.name != "none":
                x = _numeric_step(x, step, col.output_name, index)
        return x
    if not col.required:
        if col.fill is None:
            if col.transform and col.transform[0].name != "none":
                raise SchemaError(
                    f"column {col.name!r} may be missing and has a transform but no fill; "
                    'add "fill": "mean" (numbers) or a constant'
                )
            return x
        x = _fill_missing(x, col)
    for index, step in enumerate(col.transform):
        if step.name == "none":
            continue
        if step.name == "vocabulary":
            x = _vocabulary_step(x, step, col)
        else:
            x = _numeric_step(x, step, col.output_name, index)
    return x


def schema_preprocessing_fn(inputs: dict[str, Any], *, schema: Schema) -> dict[str, Any]:
    """The transforms a schema declares, as a tf.Transform preprocessing_fn.

    Columns without a transform pass through (so the label and key reach the output);
    dropped columns do not appear. Bind the schema with `make_preprocessing_fn(schema)`.
    """
    outputs = {}
    for col in schema.columns:
        if col.dropped:
            continue
        outputs[col.output_name] = transform_column(inputs[col.name], col)
    return outputs


def check_transformable(schema: Schema) -> None:
    """Fail before the pipeline starts on columns the transform job cannot handle."""
    for col in schema.columns:
        needs_fill = col.transform and col.transform[0].name not in ("none", "drop")
        if not col.required and col.fill is None and needs_fill and not col.is_list:
            raise SchemaError(
                f"{schema.source}: column {col.name!r} may be missing (required: false) and "
                f"has transform {col.transform[0].name!r} but no fill; add "
                '"fill": "mean" or a constant'
            )
    if all(col.dropped for col in schema.columns):
        raise SchemaError(f"{schema.source}: every column is dropped; nothing to output")


def make_preprocessing_fn(schema: Schema) -> PreprocessingFn:
    """`schema_preprocessing_fn` bound to a schema (a picklable partial of a top-level fn)."""
    check_transformable(schema)
    return functools.partial(schema_preprocessing_fn, schema=schema)


def load_preprocessing_fn(path: str) -> PreprocessingFn:
    """Import a module file and return its top-level `preprocessing_fn` (TFX's convention)."""
    if not os.path.isfile(path):
        raise SchemaError(f"{path}: module file not found")
    name = "recio_user_module_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SchemaError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise SchemaError(
            f"{path}: importing the module failed: {type(error).__name__}: {error}"
        ) from error
    fn = getattr(module, "preprocessing_fn", None)
    if not callable(fn):
        raise SchemaError(f"{path}: defines no top-level function named preprocessing_fn")
    return functools.partial(_call_module_fn, fn, path)


def _call_module_fn(fn: PreprocessingFn, path: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run a module file's preprocessing_fn; its bugs are the user's to fix, not recio's."""
    try:
        return fn(inputs)
    except Exception as error:
        line = f"{type(error).__name__}: {error}".split("\n")[0]
        raise SchemaError(f"{path}: preprocessing_fn failed: {line}") from error


def transform_rows(
    rows: list[dict[str, Any]], schema: Schema, preprocessing_fn: PreprocessingFn | None = None
) -> list[dict[str, Any]]:
    """Run a preprocessing_fn on a few in-memory rows (analyze + transform) and return them.

    For unit tests and for trying a schema out: `rows` are dicts of Python values (None for a
    missing optional value). Runs a tiny in-process Beam pipeline (a few seconds).
    """
    import tempfile

    import apache_beam as beam
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata

    fn = preprocessing_fn or make_preprocessing_fn(schema)
    instances = []
    for row in rows:
        unknown = sorted(set(row) - set(schema.names))
        if unknown:
            raise SchemaError(f"row has column {unknown[0]!r} that the schema does not declare")
        instance = {}
        for col in schema.columns:
            value = row.get(col.name)
            if col.is_list:
                instance[col.name] = [] if value is None else list(value)
                continue
            if col.required:
                if value is None:
                    raise SchemaError(f"row lacks required column {col.name!r}")
                instance[col.name] = value
            else:
                instance[col.name] = [] if value is None else [value]
        instances.append(instance)
    metadata = dataset_metadata.DatasetMetadata(schema.tf_metadata_schema())
    token = uuid.uuid4().hex
    _COLLECTED[token] = []
    with (
        tempfile.TemporaryDirectory(prefix="recio-tft-") as temp,
        beam.Pipeline(runner="FnApiRunner") as p,
        tft_beam.Context(temp_dir=temp),
    ):
        data = p | "Rows" >> beam.Create(instances)
        (transformed, _), _ = (data, metadata) | "AnalyzeAndTransform" >> (
            tft_beam.AnalyzeAndTransformDataset(fn)
        )
        _ = transformed | "Collect" >> beam.Map(_collect, token=token)
    return _COLLECTED.pop(token)


def _collect(row: dict[str, Any], token: str) -> None:
    # In-process runner only: workers share this module's globals with the caller.
    _COLLECTED[token].append(row)
