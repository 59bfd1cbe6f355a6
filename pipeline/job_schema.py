"""The schema a job runs with: given, inferred from CSV, or inferred from Example records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.csv_format import CsvFormat, infer_csv_columns
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
) -> tuple[Schema, list[str]]:
    """The schema to use for CSV input, and notes on the decisions inference made (for the
    job's summary: columns read as strings, numeric columns with stray cells)."""
    notes: list[str] = []
    if isinstance(schema, Schema):
        chosen = schema
    elif schema:
        chosen = load_schema(schema)
    else:
        chosen, decided = infer_csv_columns(files, fmt, max_rows=infer_rows)
        for column in decided:
            note = column.note(fmt.non_numeric_fraction)
            if note:
                notes.append(note)
    return with_roles(chosen, label, key), notes


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


def options_csv_schema(options: Any, files: Sequence[str]) -> tuple[Schema, list[str]]:
    """The CSV schema a job's options ask for (given, or inferred from the files), and notes."""
    return csv_schema(
        options.schema,
        list(files),
        options.csv,
        label=options.label,
        key=options.key,
        infer_rows=options.infer_rows,
    )


def dropped_columns(columns: dict[str, list[str]], schema: Schema) -> list[str]:
    """A note naming the CSV columns the schema leaves out (they are not written), or none."""
    left_out = sorted({n for names in columns.values() for n in names} - set(schema.names))
    if not left_out:
        return []
    return [f"columns not in the schema, left out: {', '.join(left_out)}"]


def label_notes(schema: Schema, *, module_file: str | None = None) -> list[str]:
    """Warnings for a transform job whose label is absent or transformed."""
    if module_file:
        return []
    if schema.label is None:
        return [
            "no label given: every column is transformed, the target too (numbers are "
            "z-scored, so a model would report errors in standard deviations); name the target "
            "with label=NAME to keep it as it is"
        ]
    steps = schema.column(schema.label).transform
    if steps:
        names = ", ".join(step.name for step in steps)
        return [
            f"the target {schema.label!r} is transformed ({names}): a model trained on it "
            "learns, and reports errors in, transformed units"
        ]
    return []
