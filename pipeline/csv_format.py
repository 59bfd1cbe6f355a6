"""CSV decoding without Beam: header checks, type inference, and typed Arrow batches + bad rows.

Parsing is pyarrow's C++ reader (quoted fields, embedded delimiters, optional line breaks in
quoted cells); every cell is read as text and then converted per column, vectorised when the
whole batch is clean and row by row only for batches that hold a bad cell. A row that cannot
be decoded — wrong number of cells, a number that is not a number, a required cell left empty,
a line break inside a cell when line breaks are not allowed (the usual sign of an unbalanced
quote) — becomes a *bad row*: a dict with the file, the reason and the row's text or cells.

Batches come out in the TFXIO layout that tf.Transform reads: one `large_list<T>` column per
schema column, holding exactly one value for required columns and zero or one otherwise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.errors import InputError, JobOptionsError
from pipeline.schema import FLOAT, INT, STRING, Column, Schema, schema_from_columns
from recordio import Kind
from recordio.cells import FLOAT_PATTERN, INT_PATTERN, parse_float, parse_int

DEFAULT_NON_NUMERIC_FRACTION = 0.05
NON_FINITE_POLICIES = ("missing", "bad_row")
_NON_FINITE = r"^\s*[+-]?(?:[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)\s*$"


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """How the CSV files are written.

    Attributes:
        header: the first line of every file names the columns.
        delimiter: one character between cells.
        quote_char: the character that quotes cells holding delimiters or line breaks.
        multiline: allow line breaks inside quoted cells (off: such a row is a bad row, which
            is how an unbalanced quote shows up).
        column_names: names for header-less files when no schema gives them.
        block_bytes: bytes parsed per batch; bigger batches mean fewer, larger TF calls.
        non_numeric_fraction: schema inference: a column stays a number (int64 or float) when
            at most this fraction of its present cells are not numbers; those rows become bad
            rows. Above it, the column is inferred as bytes (strings), and the job says so.
            0 makes one stray cell turn the column into strings.
        non_finite: what a `nan`, `inf` or `-inf` cell (or a number beyond float32) in a float
            column means: "missing" (default) reads it as an empty cell, so the column's fill
            applies, an optional column leaves the value out, and a required one makes the row a
            bad row; "bad_row" always makes the row a bad row. No non-finite value is written.
    """

    header: bool = True
    delimiter: str = ","
    quote_char: str = '"'
    multiline: bool = False
    column_names: tuple[str, ...] | None = None
    block_bytes: int = 4 << 20
    non_numeric_fraction: float = DEFAULT_NON_NUMERIC_FRACTION
    non_finite: str = "missing"

    def __post_init__(self) -> None:
        if not 0.0 <= self.non_numeric_fraction < 1.0:
            raise JobOptionsError(
                f"non_numeric_fraction must be in [0, 1), got {self.non_numeric_fraction}",
                params=("non_numeric_fraction",),
            )
        if self.non_finite not in NON_FINITE_POLICIES:
            raise JobOptionsError(
                f"non_finite must be {' or '.join(NON_FINITE_POLICIES)}, got {self.non_finite!r}",
                params=("non_finite",),
            )
        if len(self.delimiter) != 1:
            raise JobOptionsError(
                f"delimiter must be one character, got {self.delimiter!r}", params=("delimiter",)
            )
        if len(self.quote_char) != 1:
            raise JobOptionsError(
                f"quote_char must be one character, got {self.quote_char!r}",
                params=("quote_char",),
            )
        if self.block_bytes < 1024:
            raise JobOptionsError(
                f"block_bytes must be at least 1024, got {self.block_bytes}",
                params=("block_bytes",),
            )


_CODECS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}


def open_input(path: str) -> Any:
    """A pyarrow input stream over a local or remote file, decompressed by file extension.

    Local files are opened directly, so that checking a header does not import Beam.
    """
    import pyarrow as pa

    from pipeline._files import is_remote

    try:
        if is_remote(path):
            from apache_beam.io.filesystem import CompressionTypes
            from apache_beam.io.filesystems import FileSystems

            raw = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        else:
            raw = open(path.removeprefix("file://"), "rb")  # noqa: SIM115 - the stream owns it
    except Exception as error:  # Beam wraps OSErrors in its own types
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise InputError(f"{path}: cannot open: {reason}".split("\n")[0]) from error
    stream = pa.PythonFile(raw, mode="r")
    codec = next((c for ext, c in _CODECS.items() if path.lower().endswith(ext)), None)
    return pa.CompressedInputStream(stream, codec) if codec else stream


def read_header(path: str, fmt: CsvFormat) -> list[str]:
    """The column names on the first line of `path` (BOM and surrounding spaces removed)."""
    head = b""
    with open_input(path) as raw:  # Beam's compressed files are not io objects: read chunks
        while b"\n" not in head:
            chunk = raw.read(1 << 16)
            if not chunk:
                break
            head += chunk
    text = head.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter=fmt.delimiter, quotechar=fmt.quote_char)
    try:
        names = next(reader)
    except StopIteration:
        raise InputError(f"{path}: the file is empty (expected a header line)") from None
    names = [n.strip() for n in names]
    if not any(names):
        raise InputError(f"{path}: the header line is empty")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{path}: the header repeats column {dupes[0]!r}")
    return names


def file_columns(path: str, schema: Schema | None, fmt: CsvFormat) -> list[str]:
    """The columns of one file in file order, checked against the schema."""
    if fmt.header:
        names = read_header(path, fmt)
        if schema is not None:
            missing = [n for n in schema.names if n not in names]
            if missing:
                raise InputError(
                    f"{path}: the header lacks column {missing[0]!r} that the schema declares "
                    f"(header: {', '.join(names)})"
                )
        return names
    if schema is not None:
        return schema.names
    if fmt.column_names:
        return list(fmt.column_names)
    raise InputError(
        f"{path}: the file has no header; give a schema or the column names (column_names)",
        params=("schema", "column_names"),
    )


def _arrow_reader(
    stream: Any, names: Sequence[str], wanted: Sequence[str], fmt: CsvFormat, on_invalid: Any
) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(
        column_names=list(names), skip_rows=1 if fmt.header else 0, block_size=fmt.block_bytes
    )
    parse = pacsv.ParseOptions(
        delimiter=fmt.delimiter,
        quote_char=fmt.quote_char,
        newlines_in_values=fmt.multiline,
        invalid_row_handler=on_invalid,
    )
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in wanted},
        include_columns=list(wanted),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        check_utf8=False,
    )
    return pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)


# -- per-column conversion ------------------------------------------------------------------
def _clean_numbers(strings: Any, pattern: str) -> tuple[Any, bool]:
    """Trimmed cells (blank -> missing, a leading '+' dropped for Arrow's cast), and whether
    every present cell matches `pattern`: recordio.cells' rule, so that Arrow's own, looser
    parsing (it reads "0x10" as 16) never decides what a number is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(strings)
    trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    matches = pc.match_substring_regex(trimmed, pattern)
    valid = pc.all(pc.fill_null(matches, True)).as_py()
    return pc.replace_substring_regex(trimmed, r"^\+", ""), bool(valid)


def _convert(col: Column, strings: Any) -> tuple[Any, np.ndarray, str]:
    """Typed values of one column and a mask of cells that failed to convert (with a reason)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(strings)
    no_bad = np.zeros(n, dtype=bool)
    if col.type == STRING:
        return strings.cast(pa.large_binary()), no_bad, ""
    target = pa.int64() if col.type == INT else pa.float32()
    try:
        cleaned, valid = _clean_numbers(strings, INT_PATTERN if col.type == INT else FLOAT_PATTERN)
        if valid:
            return pc.cast(cleaned, target), no_bad, ""
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # not UTF-8, or out of int64's range
        pass
    parse = parse_int if col.type == INT else parse_float
    values: list[Any] = []
    bad = np.zeros(n, dtype=bool)
    for i, raw in enumerate(strings.cast(pa.binary()).to_pylist()):
        if raw is None:
            values.append(None)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and not text.strip():
            values.append(None)  # a quoted empty or blank cell: missing, not malformed
            continue
        parsed = parse(text) if text is not None else None
        if parsed is None:
            bad[i] = True
        values.append(parsed)
    kind = "a whole number (int64)" if col.type == INT else "a number"
    return pa.array(values, type=target), bad, f"is not {kind}"


def to_tfxio_batch(columns: dict[str, Any], schema: Schema, arrow_schema: Any) -> Any:
    """Wrap typed, bad-row-free columns as `large_list` columns (1 value, or 0 when missing)."""
    import pyarrow as pa

    arrays = []
    n = len(next(iter(columns.values()))) if columns else 0
    dense_offsets = None
    for col in schema.columns:
        values = columns[col.name]
        if values.null_count == 0:
            if dense_offsets is None:
                dense_offsets = pa.array(np.arange(n + 1, dtype=np.int64))
            arrays.append(pa.LargeListArray.from_arrays(dense_offsets, values))
        else:
            valid = np.asarray(values.is_valid(), dtype=np.int64)
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(valid, out=offsets[1:])
            arrays.append(pa.LargeListArray.from_arrays(pa.array(offsets), values.drop_null()))
    return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema)


def _cells(strings: dict[str, Any], row: int) -> dict[str, str | None]:
    out = {}
    for name, arr in strings.items():
        value = arr[row].as_py()
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        out[name] = value
    return out


def _non_finite(values: Any) -> np.ndarray:
    """Mask of NaN and infinite values (nulls are not)."""
    import pyarrow.compute as pc

    finite = pc.fill_null(pc.is_finite(values), True)
    return ~np.asarray(finite, dtype=bool)


def decode_batch(
    strings: dict[str, Any],
    schema: Schema,
    arrow_schema: Any,
    *,
    path: str,
    multiline: bool,
    non_finite: str = "missing",
) -> tuple[Any, list[dict[str, Any]]]:
    """Convert one batch of text cells: (TFXIO record batch of good rows, bad-row dicts)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(next(iter(strings.values())))
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}

    def flag(mask: np.ndarray, reason_for: Any) -> None:
        fresh = mask & ~bad
        for row in np.flatnonzero(fresh):
            reasons[int(row)] = reason_for(int(row))
        bad[:] |= mask

    typed: dict[str, Any] = {}
    for col in schema.columns:
        arr = strings[col.name]
        if col.type == STRING and not multiline:
            breaks = pc.fill_null(pc.match_substring(arr, "\n"), False)
            if pc.any(breaks).as_py():
                flag(
                    np.asarray(breaks, dtype=bool),
                    lambda _row, c=col.name: (
                        f"column {c!r} holds a line break (an unbalanced "
                        "quote? set multiline=True if cells may span lines)"
                    ),
                )
        values, failed, why = _convert(col, arr)
        if failed.any():
            texts = arr.cast(pa.binary()).to_pylist()
            flag(
                failed,
                lambda row, c=col.name, t=texts, w=why: (
                    f"column {c!r}: {t[row].decode('utf-8', 'replace')!r} {w}"
                ),
            )
        if col.type == FLOAT:
            odd = _non_finite(values)
            if odd.any():
                texts = arr.cast(pa.binary()).to_pylist()
                if non_finite == "bad_row" or col.required:
                    why = (
                        "is not a finite number (non_finite='bad_row')"
                        if non_finite == "bad_row"
                        else "is not a finite number, read as an empty cell "
                        "(non_finite='missing'), and the column is required"
                    )
                    flag(
                        odd,
                        lambda row, c=col.name, t=texts, w=why: (
                            f"column {c!r}: {t[row].decode('utf-8', 'replace').strip()!r} {w}"
                        ),
                    )
                values = pc.if_else(pa.array(odd), pa.scalar(None, values.type), values)
        if col.required and values.null_count:
            missing = ~np.asarray(values.is_valid(), dtype=bool) & ~failed
            flag(missing, lambda _row, c=col.name: f"column {c!r} is empty but required")
        typed[col.name] = values
    bad_rows = [
        {"file": path, "reason": reasons[row], "cells": _cells(strings, row)}
        for row in sorted(reasons)
    ]
    if bad.any():
        keep = pa.array(~bad)
        typed = {name: values.filter(keep) for name, values in typed.items()}
    return to_tfxio_batch(typed, schema, arrow_schema), bad_rows


def decode_csv_file(
    path: str, schema: Schema, fmt: CsvFormat, arrow_schema: Any, names: Sequence[str]
) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """Yield (record batch, bad rows) for each block of one CSV file."""
    width = len(names)
    pending: list[dict[str, Any]] = []

    def on_invalid(row: Any) -> str:
        pending.append(
            {
                "file": path,
                "reason": f"expected {width} cells, found {row.actual_columns}",
                "text": row.text,
            }
        )
        return "skip"

    with open_input(path) as stream:
        reader = _arrow_reader(stream, names, schema.names, fmt, on_invalid)
        try:
            for block in reader:
                strings = {name: block.column(name) for name in schema.names}
                if block.num_rows:
                    batch, bad = decode_batch(
                        strings,
                        schema,
                        arrow_schema,
                        path=path,
                        multiline=fmt.multiline,
                        non_finite=fmt.non_finite,
                    )
                else:
                    batch, bad = None, []
                bad = pending + bad
                pending.clear()
                yield batch, bad
        except Exception as error:
            import pyarrow as pa

            if isinstance(error, (pa.ArrowInvalid, pa.ArrowTypeError)):
                raise InputError(f"{path}: cannot parse as CSV: {error}".split("\n")[0]) from error
            raise
    if pending:
        yield None, list(pending)


# -- inference ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InferredColumn:
    """What inference decided for one column, and the counts behind it."""

    name: str
    type: Kind
    required: bool
    present: int  # non-empty cells scanned (non-finite ones included)
    non_numeric: int  # present cells that are not numbers of the inferred (or nearest) kind

    def note(self, threshold: float) -> str | None:
        """A line for the job summary when the decision was not unanimous, else None."""
        if not self.present or not self.non_numeric:
            return None
        share = f"{self.non_numeric:,} of {self.present:,} cells ({_percent(self, self.present)})"
        if self.type == STRING and self.non_numeric == self.present:
            return f"column {self.name!r} inferred as bytes (strings): no cell is a number"
        if self.type == STRING:
            return (
                f"column {self.name!r} inferred as bytes (strings): {share} are not numbers, "
                f"more than non_numeric_fraction={threshold:g}"
            )
        return (
            f"column {self.name!r} inferred as {self.type}: {share} are not numbers, "
            f"within non_numeric_fraction={threshold:g}; their rows go to the bad rows"
        )


def _percent(col: InferredColumn, total: int) -> str:
    return f"{100 * col.non_numeric / total:.3g}%"


def _count_failures(trimmed: Any, pattern: str) -> int:
    import pyarrow.compute as pc

    matches = pc.match_substring_regex(trimmed, pattern)
    return int(pc.sum(pc.invert(pc.fill_null(matches, True))).as_py() or 0)


def infer_column(name: str, strings: Any, fmt: CsvFormat) -> InferredColumn:
    """int64 if every present cell is one, float if every one is a number, else bytes: the rule
    of `recordio.cells`, vectorised over the column; up to `fmt.non_numeric_fraction` of the
    present cells may fail the rule (their rows become bad rows). `nan`/`inf` cells count as
    floats and, with non_finite='missing', as missing (so the column becomes optional)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    present = len(strings) - strings.null_count
    if present == 0:
        return InferredColumn(name, STRING, False, 0, 0)
    try:
        trimmed = pc.utf8_trim_whitespace(strings)
        trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
        odd = pc.fill_null(pc.match_substring_regex(trimmed, _NON_FINITE), False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # not UTF-8
        return InferredColumn(name, STRING, strings.null_count == 0, present, present)
    blank = trimmed.null_count - strings.null_count
    n_odd = int(pc.sum(odd).as_py() or 0)
    required = trimmed.null_count == 0 and not (fmt.non_finite == "missing" and n_odd)
    finite = pc.if_else(odd, pa.scalar(None, pa.string()), trimmed)
    present = present - blank
    if present == 0:
        return InferredColumn(name, STRING, required, 0, 0)
    allowed = fmt.non_numeric_fraction * present
    not_float = _count_failures(finite, FLOAT_PATTERN)
    not_int = _count_failures(finite, INT_PATTERN) + n_odd
    if not_int <= allowed and not_int == not_float and _fits_int64(finite):
        return InferredColumn(name, INT, required, present, not_int)
    if not_float <= allowed:
        return InferredColumn(name, FLOAT, required, present, not_float)
    return InferredColumn(name, STRING, strings.null_count == 0, present, not_float)


def _fits_int64(strings: Any) -> bool:
    """Every cell that looks like a whole number is within int64's range."""
    import pyarrow as pa
    import pyarrow.compute as pc

    looks = pc.fill_null(pc.match_substring_regex(strings, INT_PATTERN), False)
    whole = pc.replace_substring_regex(pc.filter(strings, looks), r"^\+", "")
    try:
        pc.cast(pc.utf8_trim_whitespace(whole), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def infer_csv_schema(
    files: Sequence[str],
    fmt: CsvFormat,
    *,
    max_rows: int = 100_000,
    label: str | None = None,
    key: str | None = None,
) -> Schema:
    """Infer column types and which columns may be missing from the first `max_rows` rows.

    Rows with the wrong number of cells are ignored here (the job reports them); a column is
    optional when any scanned cell was empty. `infer_csv_columns` also says how each column
    was decided.
    """
    schema, _ = infer_csv_columns(files, fmt, max_rows=max_rows, label=label, key=key)
    return schema


def infer_csv_columns(
    files: Sequence[str],
    fmt: CsvFormat,
    *,
    max_rows: int = 100_000,
    label: str | None = None,
    key: str | None = None,
) -> tuple[Schema, list[InferredColumn]]:
    """`infer_csv_schema`, plus each column's decision and counts (for the job's summary)."""
    import pyarrow as pa

    if not files:
        raise InputError("no input files to infer a schema from")
    names = file_columns(files[0], None, fmt)
    chunks: dict[str, list[Any]] = {n: [] for n in names}
    seen = 0
    for path in files:
        if seen >= max_rows:
            break
        cols = file_columns(path, None, fmt)
        if sorted(cols) != sorted(names):
            raise InputError(
                f"{path}: its columns ({', '.join(cols)}) differ from {files[0]} "
                f"({', '.join(names)})"
            )
        with open_input(path) as stream:
            reader = _arrow_reader(stream, cols, names, fmt, lambda _row: "skip")
            for block in reader:
                take = min(block.num_rows, max_rows - seen)
                for n in names:
                    chunks[n].append(block.column(n).slice(0, take))
                seen += take
                if seen >= max_rows:
                    break
    if seen == 0:
        raise InputError(f"{files[0]}: no data rows to infer a schema from")
    decided = [
        infer_column(n, pa.chunked_array(chunks[n], type=pa.string()).combine_chunks(), fmt)
        for n in names
    ]
    schema = schema_from_columns(
        names, [c.type for c in decided], [c.required for c in decided], source="inferred schema"
    )
    return schema.with_roles(label=label, key=key), decided
