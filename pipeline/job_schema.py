"""The schema a job runs with: given, inferred from CSV, or inferred from Example records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.csv_format import CsvFormat, infer_csv_schema
from pipeline.errors import InputError, SchemaError
from pipeline.schema import Schema, load_schema, parse_schema
from recordio import Kind


def csv_schema(
    schema: str | Schema | None,
    files: Sequence[str],
    fmt: CsvFormat,
    *,
    label: str | None,
    key: str | None,
    infer_rows: int,
) -> tuple[Schema, bool]:
    """The schema to use for CSV input, and whether it was inferred."""
    if isinstance(schema, Schema):
        chosen, inferred = schema, False
    elif schema:
        chosen, inferred = load_schema(schema), False
    else:
        chosen = infer_csv_schema(files, fmt, max_rows=infer_rows)
        inferred = True
    return with_roles(chosen, label, key), inferred


def with_roles(schema: Schema, label: str | None, key: str | None) -> Schema:
    try:
        return schema.with_roles(label=label, key=key)
    except SchemaError as error:
        raise SchemaError(
            str(error).replace("<schema>", "label/key"), params=("label", "key")
        ) from error


def infer_example_schema(files: Sequence[str], *, max_records: int = 10_000) -> Schema:
    """Infer columns from the first Example records (types from the values present; a feature
    with more than one value in some record is a list column: fixed-size or "var")."""
    from pipeline.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()  # tfx_bsl's decoder imports TensorFlow
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems
    from tfx_bsl.coders import example_coder

    from recordio import TFRecordReader
    from recordio.tabular import parquet_record_batches

    records: list[bytes] = []
    for path in files:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            if path.lower().endswith((".parquet", ".pq")):
                batches = parquet_record_batches(raw, batch_records=max_records, name=path)
            else:
                batches = TFRecordReader(raw).iter_batches(max_records=max_records)
            for batch in batches:
                records.extend(batch[: max_records - len(records)])
                if len(records) >= max_records:
                    break
        if len(records) >= max_records:
            break
    if not records:
        raise InputError(f"{files[0]}: no records to infer a schema from")
    try:
        decoded = example_coder.ExamplesToRecordBatchDecoder().DecodeBatch(records)
    except Exception as error:
        raise InputError(
            f"{files[0]}: the records are not tf.train.Examples ({error})".split("\n")[0]
        ) from error
    columns = []
    for field in decoded.schema:
        value_type = field.type.value_type if hasattr(field.type, "value_type") else None
        if value_type is None:
            continue  # a feature that never had values: its type is unknown
        kind = (
            Kind.INT64
            if value_type == pa.int64()
            else Kind.FLOAT
            if pa.types.is_floating(value_type)
            else Kind.BYTES
        )
        lengths = np.asarray(pc.fill_null(pc.list_value_length(decoded.column(field.name)), 0))
        if lengths.max(initial=0) > 1:  # a list feature: a fixed-size vector or var-length
            size = int(lengths.max())
            values: int | str = size if bool((lengths == size).all()) else "var"
            columns.append({"name": field.name, "type": kind, "values": values})
            continue
        columns.append({"name": field.name, "type": kind, "required": bool((lengths == 1).all())})
    return parse_schema({"columns": columns}, source="inferred schema")


def options_csv_schema(options: Any, files: Sequence[str]) -> Schema:
    """The CSV schema a job's options ask for: given, or inferred from the files."""
    schema, _ = csv_schema(
        options.schema,
        list(files),
        options.csv,
        label=options.label,
        key=options.key,
        infer_rows=options.infer_rows,
    )
    return schema
