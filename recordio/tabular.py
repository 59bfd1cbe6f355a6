"""Example TFRecords to and from Parquet, CSV and JSON Lines, in batches of bounded size.

The library side of `recio convert`. Kinds are kept: int64 -> int64, float -> float32, bytes ->
string when every value is UTF-8 (else binary). A feature with exactly one value wherever it is
present becomes a plain column (absent = null); any other becomes a list column (Parquet) or,
in CSV, one cell of values joined by `join` (refused without it). Parquet and CSV need their
columns before the first row is written: they are taken from the first batch, and when a later
batch does not fit (a new feature, a list where there was a scalar, bytes that are not UTF-8)
the conversion starts again with the wider layout, so it stays one pass in the common case.

Parquet -> Examples: integer and boolean columns become int64, floating ones float (float32),
string and binary ones bytes, lists of those lists; null leaves the feature out, an empty list
is a typed empty list. So Examples written by `encode_example` without empty untyped lists come
back byte for byte after TFRecord -> Parquet -> TFRecord.

pyarrow is imported inside the functions that need it.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recordio.columns import Column, decode_columns
from recordio.compression import CompressionLike
from recordio.convert import bytes_for_json, float_for_json
from recordio.errors import ConvertError, OptionError
from recordio.example import BytesList, FloatList, Int64List, encode_example
from recordio.files import expand_paths
from recordio.kinds import Kind
from recordio.reader import TFRecordReader
from recordio.writer import TFRecordWriter, temp_path_for

FORMATS = ("tfrecord", "parquet", "csv", "jsonl")
BATCH_RECORDS = 8192


def format_of(path: str, given: str | None = None) -> str:
    """The format of a path: as given, else from its name (.parquet/.pq, .csv, .jsonl/.json)."""
    if given:
        fmt = given.lower()
        fmt = {"json": "jsonl", "pq": "parquet", "tfrecords": "tfrecord"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise OptionError(
                f"format must be one of {', '.join(FORMATS)}, got {given!r}", params=("fmt",)
            )
        return fmt
    name = path.lower()
    for suffix in (".gz", ".zz", ".zlib"):
        if name.endswith(suffix) and ".tfrecord" in name:
            return "tfrecord"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    return "tfrecord"


# ------------------------------------------------------------------------- the column plan
@dataclass(frozen=True)
class Field:
    """How one feature is laid out as a column."""

    name: str
    kind: Kind
    is_list: bool
    text: bool = False  # bytes that are all UTF-8: a string column

    def widened(self, other: Field) -> Field:
        if other.kind is not self.kind:
            raise ConvertError(
                f"feature {self.name!r} is {self.kind} in some records and {other.kind} in "
                "others; one column holds one kind"
            )
        return Field(self.name, self.kind, self.is_list or other.is_list, self.text and other.text)


class _Widen(Exception):
    """A batch does not fit the layout: restart with this one."""

    def __init__(self, plan: dict[str, Field]) -> None:
        self.plan = plan


def _is_text(values: list[bytes]) -> bool:
    try:
        for v in values:
            v.decode()
    except UnicodeDecodeError:
        return False
    return True


def _fields_of(columns: dict[str, Column]) -> dict[str, Field]:
    out = {}
    for name, col in columns.items():
        present = col.lengths[col.lengths >= 0]
        kind = col.kind or Kind.BYTES
        is_list = bool(present.size) and not bool((present == 1).all())
        text = kind is Kind.BYTES and _is_text(col.values)
        out[name] = Field(name, kind, is_list, text)
    return out


def _check_fits(plan: dict[str, Field], columns: dict[str, Column]) -> None:
    found = _fields_of(columns)
    wider = dict(plan)
    changed = False
    for name, field in found.items():
        old = plan.get(name)
        new = field if old is None else old.widened(field)
        if new != old:
            wider[name] = new
            changed = True
    if changed:
        raise _Widen(dict(sorted(wider.items())))


# ------------------------------------------------------------------------- records reading
def _record_batches(
    paths: list[str], compression: CompressionLike, size: int
) -> Iterator[list[bytes]]:
    for path in paths:
        with TFRecordReader(path, compression) as reader:
            yield from reader.iter_batches(max_records=size)


# --------------------------------------------------------------------------- to Arrow
def _arrow_type(field: Field) -> Any:
    import pyarrow as pa

    base = {Kind.INT64: pa.int64(), Kind.FLOAT: pa.float32()}.get(field.kind)
    if base is None:
        base = pa.string() if field.text else pa.binary()
    return pa.list_(base) if field.is_list else base


def arrow_schema(plan: dict[str, Field]) -> Any:
    import pyarrow as pa

    return pa.schema([pa.field(f.name, _arrow_type(f)) for f in plan.values()])


def _arrow_column(field: Field, col: Column | None, n: int) -> Any:
    import pyarrow as pa

    typ = _arrow_type(field)
    if col is None:
        return pa.nulls(n, typ)
    value_type = typ.value_type if field.is_list else typ
    if field.kind is Kind.BYTES:
        values = pa.array(col.values, pa.binary())
        if field.text:
            values = values.cast(pa.string())
    else:
        values = pa.array(np.asarray(col.values), value_type)
    absent = col.lengths < 0
    if field.is_list:
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.maximum(col.lengths, 0), out=offsets[1:])
        mask = pa.array(absent) if absent.any() else None
        return pa.ListArray.from_arrays(pa.array(offsets), values, mask=mask)
    if not absent.any():
        return values
    # Scalars with gaps: spread the values over the present rows, nulls elsewhere.
    positions = np.cumsum(~absent) - 1
    positions[absent] = 0
    taken = values.take(pa.array(positions)) if len(values) else pa.nulls(n, typ)
    return pa.compute.if_else(pa.array(absent), pa.scalar(None, typ), taken)


def _table(plan: dict[str, Field], columns: dict[str, Column], n: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute  # noqa: F401 - pa.compute for _arrow_column

    arrays = [_arrow_column(f, columns.get(name), n) for name, f in plan.items()]
    return pa.Table.from_arrays(arrays, schema=arrow_schema(plan))


# ------------------------------------------------------------------------- summaries
@dataclass
class ConvertSummary:
    """What a conversion did, for the one-line report."""

    records: int
    source: str
    target: str
    fmt: str
    bytes: int
    seconds: float
    restarts: int = 0

    def line(self) -> str:
        again = f" (started again {self.restarts}x for a wider layout)" if self.restarts else ""
        return (
            f"Converted {self.records:,} record{'s' * (self.records != 1)} to {self.target} "
            f"({self.fmt}): {self.bytes:,} bytes in {self.seconds:.2f} s{again}"
        )


class _AtomicFile:
    """A temporary file next to `path`, renamed onto it only by `publish()`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.temp = temp_path_for(path)

    def publish(self) -> None:
        os.replace(self.temp, self.path)

    def discard(self) -> None:
        if os.path.exists(self.temp):
            os.unlink(self.temp)


def _check_target(out: str, inputs: list[str], overwrite: bool) -> None:
    if os.path.isdir(out):
        raise ConvertError("is a folder; give a file name to write", path=out)
    if os.path.exists(out):
        if any(os.path.realpath(p) == os.path.realpath(out) for p in inputs):
            raise ConvertError("is one of the inputs; write the output somewhere else", path=out)
        if not overwrite:
            raise ConvertError(
                "file exists", path=out, hint="pass overwrite=True to replace it",
                params=("overwrite",),
            )  # fmt: skip
    folder = os.path.dirname(out)
    if folder and not os.path.isdir(folder):
        raise ConvertError(f"folder {folder!r} does not exist", path=out, hint="create it first")


# ------------------------------------------------------------------ TFRecord -> Parquet / CSV
def _plan_from_schema(schema: dict[str, Field] | None) -> dict[str, Field]:
    return dict(sorted(schema.items())) if schema else {}


def records_to_parquet(
    paths: list[str],
    out: str,
    *,
    compression: CompressionLike = None,
    batch_records: int = BATCH_RECORDS,
    plan: dict[str, Field] | None = None,
    parquet_compression: str = "snappy",
) -> tuple[int, int]:
    """Write the Examples of `paths` to one Parquet file; (records, restarts)."""
    import pyarrow.parquet as pq

    layout = _plan_from_schema(plan)
    restarts = 0
    while True:
        target = _AtomicFile(out)
        writer = None
        records = 0
        try:
            for batch in _record_batches(paths, compression, batch_records):
                columns, mixed = decode_columns(batch)
                if mixed:
                    raise ConvertError(
                        f"feature {sorted(mixed)[0]!r} holds values of different kinds",
                        path=paths[0],
                    )
                if not layout:
                    layout = dict(sorted(_fields_of(columns).items()))
                _check_fits(layout, columns)
                table = _table(layout, columns, len(batch))
                if writer is None:
                    writer = pq.ParquetWriter(
                        target.temp, table.schema, compression=parquet_compression
                    )
                writer.write_table(table)
                records += len(batch)
            if writer is None:  # no records: an empty file with the schema given, if any
                writer = pq.ParquetWriter(target.temp, arrow_schema(layout))
            writer.close()
            writer = None
            target.publish()
            return records, restarts
        except _Widen as wider:
            layout = wider.plan
            restarts += 1
        finally:
            if writer is not None:
                writer.close()
            target.discard()


def _csv_cell(values: Any, field: Field, join: str | None, name: str) -> str:
    if field.kind is Kind.BYTES:
        try:
            items = [v.decode() for v in values]
        except UnicodeDecodeError:
            raise ConvertError(
                f"feature {name!r} holds bytes that are not UTF-8 text",
                hint="convert to JSON Lines or Parquet, which keep binary values",
            ) from None
    elif field.kind is Kind.FLOAT:
        items = [repr(float_for_json(float(v))) for v in values]
    else:
        items = [str(int(v)) for v in values]
    if len(items) == 1:
        return items[0]
    if join is None:
        raise ConvertError(
            f"feature {name!r} holds {len(items)} values in a record; a CSV cell holds one",
            hint="give a separator with join (e.g. ',') to put them in one cell, or convert "
            "to Parquet or JSON Lines",
            params=("join",),
        )
    return join.join(items)


def records_to_csv(
    paths: list[str],
    out: str,
    *,
    compression: CompressionLike = None,
    batch_records: int = BATCH_RECORDS,
    join: str | None = None,
    plan: dict[str, Field] | None = None,
) -> tuple[int, int]:
    """Write the Examples as CSV with a header; absent features are empty cells."""
    layout = _plan_from_schema(plan)
    restarts = 0
    while True:
        target = _AtomicFile(out)
        records = 0
        try:
            with open(target.temp, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                header = False
                for batch in _record_batches(paths, compression, batch_records):
                    columns, _ = decode_columns(batch)
                    if not layout:
                        layout = dict(sorted(_fields_of(columns).items()))
                    _check_fits(layout, columns)
                    if not header:
                        writer.writerow(list(layout))
                        header = True
                    cells = []
                    for name, field in layout.items():
                        col = columns.get(name)
                        cells.append(_csv_column(col, field, join, name, len(batch)))
                    writer.writerows(zip(*cells, strict=True))
                    records += len(batch)
            target.publish()
            return records, restarts
        except _Widen as wider:
            layout = wider.plan
            restarts += 1
        finally:
            target.discard()


def _csv_column(col: Column | None, field: Field, join: str | None, name: str, n: int) -> list[str]:
    if col is None:
        return [""] * n
    out = []
    values = col.values
    pos = 0
    for length in col.lengths.tolist():
        if length < 0:
            out.append("")
            continue
        out.append(_csv_cell(values[pos : pos + length], field, join, name) if length else "")
        pos += length
    return out


# ------------------------------------------------------------------------ Parquet -> records
def _feature_maker(name: str, typ: Any) -> Any:
    """A function from one Arrow value (as Python) to the Example value, for this column type."""
    import pyarrow as pa

    def base(t: Any) -> type | None:
        if pa.types.is_integer(t) or pa.types.is_boolean(t):
            return Int64List
        if pa.types.is_floating(t):
            return FloatList
        if (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_binary(t)
            or (pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t))
        ):
            return BytesList
        return None

    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        wrap = base(typ.value_type)
        if wrap is None:
            raise ConvertError(
                f"column {name!r} is a list of {typ.value_type}, which an Example cannot hold",
                hint="cast it to integers, floats or strings first",
            )
        return lambda v: None if v is None else wrap(v)
    wrap = base(typ)
    if wrap is None:
        raise ConvertError(
            f"column {name!r} has type {typ}, which an Example cannot hold",
            hint="cast it to integers, floats or strings (e.g. dates to ISO text) first",
        )
    return lambda v: None if v is None else wrap([v])


def parquet_record_batches(
    source: Any, *, batch_records: int = BATCH_RECORDS, name: str | None = None
) -> Iterator[list[bytes]]:
    """Serialized Examples from one Parquet file (a path or an open binary file), per batch."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    schema = parquet.schema_arrow
    try:
        makers = [_feature_maker(f.name, f.type) for f in schema]
    except ConvertError as error:
        error.path = name or (source if isinstance(source, str) else None)
        raise
    names = schema.names
    for batch in parquet.iter_batches(batch_size=batch_records):
        columns = [
            [make(v) for v in col.to_pylist()]
            for make, col in zip(makers, batch.columns, strict=True)
        ]
        yield [
            encode_example({n: v for n, v in zip(names, row, strict=True) if v is not None})
            for row in zip(*columns, strict=True)
        ]


def parquet_to_records(paths: list[str], out: str, *, batch_records: int = BATCH_RECORDS,
                       compression: CompressionLike = None) -> int:  # fmt: skip
    """Write the rows of Parquet files as Examples (see the module docstring for the types)."""
    count = 0
    with TFRecordWriter(out, Compression_for(out, compression)) as writer:
        for path in paths:
            for records in parquet_record_batches(path, batch_records=batch_records):
                count += writer.write_many(records)
    return count


def Compression_for(out: str, compression: CompressionLike) -> Any:  # noqa: N802
    from recordio.compression import Compression

    return Compression.for_path(out, compression)


# ------------------------------------------------------------------------------ the entry
def convert(
    inputs: list[str],
    out: str,
    *,
    in_fmt: str | None = None,
    out_fmt: str | None = None,
    compression: CompressionLike = None,
    join: str | None = None,
    overwrite: bool = False,
    batch_records: int = BATCH_RECORDS,
    columns: Sequence[Field] = (),
) -> ConvertSummary:
    """Convert between Example TFRecords and Parquet, CSV or JSON Lines (one side a TFRecord).

    `columns` (e.g. from a schema) fixes the kind and list-ness of those features for Parquet
    and CSV output, and gives a column to a feature no record holds; features the data adds
    still get one. Columns are in name order either way."""
    started = time.perf_counter()
    paths = expand_paths(list(inputs))
    if not paths:
        raise ConvertError("no input files", params=("inputs",))
    source = format_of(paths[0], in_fmt)
    target = format_of(out, out_fmt)
    _check_target(out, paths, overwrite)
    if batch_records < 1:
        raise OptionError("batch_records must be at least 1", params=("batch_records",))
    if join is not None and not join:
        raise OptionError("join must be a non-empty separator", params=("join",))
    plan = {field.name: field for field in columns} or None
    if plan and not (source == "tfrecord" and target in ("parquet", "csv")):
        raise OptionError(
            "columns: a schema applies only when converting TFRecords to Parquet or CSV",
            params=("columns",),
        )
    restarts = 0
    if source == "tfrecord" and target == "parquet":
        count, restarts = records_to_parquet(
            paths, out, compression=compression, batch_records=batch_records, plan=plan
        )
    elif source == "tfrecord" and target == "csv":
        count, restarts = records_to_csv(
            paths, out, compression=compression, batch_records=batch_records, join=join, plan=plan
        )
    elif source == "tfrecord" and target == "jsonl":
        count = _records_to_jsonl(paths, out, compression)
    elif source == "parquet" and target == "tfrecord":
        count = parquet_to_records(paths, out, batch_records=batch_records, compression=compression)
    elif source in ("csv", "jsonl") and target == "tfrecord":
        from recordio.convert import text_to_tfrecords

        count = text_to_tfrecords(out, paths, fmt=source, compression=compression).records
    else:
        raise ConvertError(
            f"cannot convert {source} to {target}: one side must be TFRecords of Examples",
            hint="convert through TFRecords, or give the formats with in_fmt/out_fmt",
            params=("in_fmt", "out_fmt"),
        )
    return ConvertSummary(
        count, paths[0], out, target, os.path.getsize(out), time.perf_counter() - started,
        restarts,
    )  # fmt: skip


def _records_to_jsonl(paths: list[str], out: str, compression: CompressionLike) -> int:
    import json

    from recordio.convert import tfrecords_to_json

    target = _AtomicFile(out)
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    try:
        with open(target.temp, "w", encoding="utf-8") as handle:
            buffer = io.StringIO()
            for row in tfrecords_to_json(paths, compression=compression):
                buffer.write(dumps(row))
                buffer.write("\n")
                count += 1
                if count % 4096 == 0:
                    handle.write(buffer.getvalue())
                    buffer = io.StringIO()
            handle.write(buffer.getvalue())
        target.publish()
    finally:
        target.discard()
    return count


__all__ = [
    "BATCH_RECORDS",
    "FORMATS",
    "ConvertSummary",
    "Field",
    "arrow_schema",
    "bytes_for_json",
    "convert",
    "format_of",
    "parquet_record_batches",
    "parquet_to_records",
    "records_to_csv",
    "records_to_parquet",
]
