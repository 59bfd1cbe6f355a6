"""Between TFRecords and text: JSON Lines / CSV / raw lines in, JSON objects out.

The library side of `recio write` and `recio read`.

JSON form of a tf.train.Example (what `tfrecords_to_json` yields and `text_to_tfrecords` accepts):

* one JSON object per record, `{feature name: [values]}`; every feature is a list, even with one
  value (writing also accepts a bare scalar for a one-value feature);
* int64 values are JSON integers; float values are JSON numbers that always carry a `.` or an
  exponent (the shortest decimal that reads back as the same float32), `NaN`/`Infinity` as
  Python's json module writes them;
* bytes values are JSON strings when they are valid UTF-8, else `{"base64": "<standard base64>"}`;
* writing infers one type per feature over the whole input: int64 when every value is an integer
  (or boolean), float when every value is a number, bytes when every value is a string / base64
  object; mixing strings and numbers in one feature is an error. `null` or a missing key leaves
  the feature out of that record. An empty list is written as a feature without a type, which
  TensorFlow parses as an empty list of any dtype (the one thing the JSON form does not keep).

So `recio read data.tfrecord | recio write copy.tfrecord` copies the Examples value for value.
SequenceExamples read as `{"context": {...}, "feature_lists": {name: [[step values], ...]}}`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import io
import json
import math
import os
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from itertools import islice
from typing import Any, BinaryIO

from recordio import wire
from recordio._salvage import Damage
from recordio.cells import cell_kind, widen
from recordio.compression import Compression, CompressionLike
from recordio.errors import ConvertError, ExampleDecodeError, OptionError
from recordio.example import (
    decode_example,
    decode_sequence_example,
    encode_example,
)
from recordio.files import shard_names
from recordio.kinds import Kind
from recordio.manifest import manifest_path_for
from recordio.outputs import check_path, refuse_unsafe_outputs
from recordio.reader import DEFAULT_MAX_RECORD_BYTES, TFRecordReader
from recordio.shards import ShardedWriter
from recordio.writer import TFRecordWriter

INT64, FLOAT, BYTES = Kind.INT64, Kind.FLOAT, Kind.BYTES
FORMATS = ("auto", "jsonl", "csv", "raw", "base64")
SPOOL_BYTES = 64 << 20  # pipes are buffered in memory up to this, then on disk, for two passes
_f32 = struct.Struct("<f")


# =========================================================================== text -> records


def _kind_of(value: Any) -> Kind | None:
    """int64/float/bytes for one JSON scalar; None for anything an Example cannot hold."""
    t = type(value)
    if t is int or t is bool:
        return INT64
    if t is float:
        return FLOAT
    if t is str:
        return BYTES
    if t is dict and len(value) == 1 and type(value.get("base64")) is str:
        return BYTES
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a nested object"
    if isinstance(value, list):
        return "a nested list"
    return f"a {type(value).__name__}"


def _merge(old: Kind | None, new: Kind) -> Kind | None:
    """The kind that holds both, or None when they do not mix (strings and numbers)."""
    if old is None or old == new:
        return new
    if BYTES in (old, new):
        return None
    return FLOAT


@dataclass(slots=True)
class _Kinds:
    """What pass one learned: the kind of each key and where it was first seen."""

    kinds: dict[str, Kind]
    first_line: dict[str, tuple[str, int]]


def _json_objects(source: BinaryIO, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a line that is not an object is an error."""
    for number, line in enumerate(source, 1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]  # a UTF-8 byte-order mark, as some editors write
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except UnicodeDecodeError as error:
            raise ConvertError(f"not UTF-8 text ({error.reason})", path=name, line=number) from None
        except ValueError as error:
            reason = getattr(error, "msg", str(error))
            column = getattr(error, "colno", None)
            at = f" at column {column}" if column else ""
            raise ConvertError(
                f"not valid JSON ({reason}{at})",
                path=name,
                line=number,
                hint="each line must hold one JSON object; fmt='raw' reads other text",
                params=("fmt",),
            ) from None
        if type(obj) is not dict:
            raise ConvertError(
                f"expected a JSON object, got {_describe(obj)}",
                path=name,
                line=number,
                hint="each line must hold one JSON object; fmt='raw' reads other text",
                params=("fmt",),
            )
        yield number, obj


def _infer_json(inputs: list[tuple[str, BinaryIO]]) -> _Kinds:
    """Pass one over JSON Lines: one kind per key, or an error at the first conflict."""
    found = _Kinds({}, {})
    for name, source in inputs:
        for number, obj in _json_objects(source, name):
            for key, value in obj.items():
                if value is None:
                    continue
                values = value if type(value) is list else (value,)
                for item in values:
                    kind = _kind_of(item)
                    if kind is None:
                        whole = "a list holding " if type(value) is list else ""
                        raise ConvertError(
                            f"key {key!r}: {whole}{_describe(item)} cannot be stored in an Example"
                            " (it holds flat lists of ints, floats or strings)",
                            path=name,
                            line=number,
                            hint="flatten it (e.g. key 'a.b'), leave it out, or read lines"
                            " as raw records with fmt='raw'",
                            params=("fmt",),
                        )
                    old = found.kinds.get(key)
                    merged = _merge(old, kind)
                    if merged is None:
                        where, at = found.first_line[key]
                        new_noun = "a string" if kind == BYTES else "a number"
                        old_noun = "strings" if old == BYTES else "numbers"
                        raise ConvertError(
                            f"key {key!r}: {new_noun}, but {where} line {at} holds {old_noun};"
                            " one feature holds one type",
                            path=name,
                            line=number,
                        )
                    if old is None:
                        found.first_line[key] = (name, number)
                    found.kinds[key] = merged
    return found


def _bytes_value(item: Any, key: str, name: str, number: int) -> bytes:
    if type(item) is str:
        try:
            return item.encode()
        except UnicodeEncodeError:
            raise ConvertError(
                f"key {key!r}: string holds a lone surrogate (\\ud800-\\udfff escape)",
                path=name,
                line=number,
                hint='write binary values as {"base64": "..."}',
            ) from None
    try:
        return base64.b64decode(item["base64"], validate=True)
    except binascii.Error as error:
        raise ConvertError(f"key {key!r}: bad base64 ({error})", path=name, line=number) from None


def _json_feature(value: Any, kind: str, key: str, name: str, number: int) -> list[Any]:
    values = value if type(value) is list else [value]
    if kind == BYTES:
        return [_bytes_value(v, key, name, number) for v in values]
    if kind == FLOAT:
        try:
            return [float(v) for v in values]
        except OverflowError:
            raise ConvertError(
                f"key {key!r}: integer too large for a float", path=name, line=number
            ) from None
    out = [int(v) for v in values]
    if out and (min(out) < wire.INT64_MIN or max(out) > wire.INT64_MAX):
        raise ConvertError(
            f"key {key!r}: integer outside the int64 range",
            path=name,
            line=number,
            hint="write it as a float (e.g. 1e20) or a string",
        )
    return out


def examples_from_jsonl(inputs: list[tuple[str, BinaryIO]]) -> Iterator[bytes]:
    """Serialized Examples from JSON Lines; the sources are read twice (types, then values)."""
    found = _infer_json(inputs)
    for name, source in inputs:
        source.seek(0)
        for number, obj in _json_objects(source, name):
            features = {
                key: _json_feature(value, found.kinds.get(key, INT64), key, name, number)
                for key, value in obj.items()
                if value is not None
            }
            yield encode_example(features)


def _csv_rows(
    source: BinaryIO, name: str, delimiter: str = ","
) -> Generator[tuple[int, list[str]]]:
    """(line number, cells) for each row of a UTF-8 CSV file, header first; blank lines skipped."""
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True, delimiter=delimiter)
    try:
        for row in reader:
            if row:
                yield reader.line_num, row
    except UnicodeDecodeError as error:
        raise ConvertError(
            f"not UTF-8 text near line {reader.line_num + 1} ({error.reason})", path=name
        ) from None
    except csv.Error as error:
        raise ConvertError(f"bad CSV ({error})", path=name, line=reader.line_num) from None
    finally:
        text.detach()


def _csv_header(row: list[str], name: str, number: int) -> list[str]:
    seen: set[str] = set()
    for column, title in enumerate(row, 1):
        if not title.strip():
            raise ConvertError(
                f"header column {column} has no name",
                path=name,
                line=number,
                hint="every column of the header row needs a name",
            )
        if title in seen:
            raise ConvertError(f"header names column {title!r} twice", path=name, line=number)
        seen.add(title)
    return row


def _other_delimiter(header: list[str], delimiter: str) -> str | None:
    """A separator the header seems to use instead of `delimiter` (`a;b;c` read with ',')."""
    if len(header) != 1:
        return None
    for candidate in (";", "\t", "|", ","):
        if candidate != delimiter and candidate in header[0]:
            return candidate
    return None


def _csv_body(
    source: BinaryIO, name: str, delimiter: str = ","
) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line number, header, cells) for each data row; checks the header and the row widths."""
    with closing(_csv_rows(source, name, delimiter)) as rows:
        first = next(rows, None)
        if first is None:
            raise ConvertError("no header row (the input is empty)", path=name)
        header = _csv_header(first[1], name, first[0])
        other = _other_delimiter(header, delimiter)
        if other is not None:
            raise ConvertError(
                f"the header is one column, {header[0][:60]!r}, which holds {other!r}s",
                path=name,
                line=first[0],
                hint=f"if {other!r} separates the cells, give it as delimiter",
                params=("delimiter",),
            )
        for number, cells in rows:
            if len(cells) != len(header):
                raise ConvertError(
                    f"{len(cells)} fields, but the header has {len(header)}",
                    path=name,
                    line=number,
                    hint=f"quote fields that contain {delimiter!r}",
                )
            yield number, header, cells


def _infer_csv(inputs: list[tuple[str, BinaryIO]], delimiter: str) -> dict[str, Kind]:
    """Pass one over CSV: one kind per column (recordio.cells decides each cell's)."""
    kinds: dict[str, Kind | None] = {}
    for name, source in inputs:
        for _, header, cells in _csv_body(source, name, delimiter):
            for title, cell in zip(header, cells, strict=True):
                old = kinds.get(title)
                if old is not Kind.BYTES:
                    kinds[title] = widen(old, cell_kind(cell))
    return {title: kind for title, kind in kinds.items() if kind is not None}


def examples_from_csv(
    inputs: list[tuple[str, BinaryIO]], *, delimiter: str = ","
) -> Iterator[bytes]:
    """Serialized Examples from CSV with a header row; empty cells leave the feature out."""
    if len(delimiter) != 1 or delimiter in '\r\n"':
        raise OptionError(
            f"delimiter must be one character other than a quote or line break, got {delimiter!r}",
            params=("delimiter",),
        )
    kinds = _infer_csv(inputs, delimiter)
    for name, source in inputs:
        source.seek(0)
        for _, header, cells in _csv_body(source, name, delimiter):
            features: dict[str, list[Any]] = {}
            for title, cell in zip(header, cells, strict=True):
                if not cell.strip():
                    continue
                kind = kinds[title]
                if kind is INT64:
                    features[title] = [int(cell)]
                elif kind is FLOAT:
                    features[title] = [float(cell)]
                else:
                    features[title] = [cell.encode()]
            yield encode_example(features)


def records_from_lines(inputs: list[tuple[str, BinaryIO]], *, b64: bool = False) -> Iterator[bytes]:
    """One record per line: its bytes without the trailing newline, or base64-decoded."""
    for name, source in inputs:
        for number, line in enumerate(source, 1):
            if line.endswith(b"\n"):
                line = line[:-1]
            if not b64:
                yield line
                continue
            try:
                yield base64.b64decode(line.strip(), validate=True)
            except binascii.Error as error:
                raise ConvertError(f"bad base64 ({error})", path=name, line=number) from None


# =========================================================================== writing


@dataclass(slots=True)
class WriteSummary:
    """What text_to_tfrecords did, for the one-line report."""

    records: int
    files: list[str]
    bytes: int
    seconds: float

    def line(self) -> str:
        files = len(self.files)
        where = self.files[0] if files == 1 else f"{files} files ({self.files[0]} ...)"
        return (
            f"Wrote {self.records:,} record{'s' * (self.records != 1)} to {where}: "
            f"{self.bytes:,} bytes in {self.seconds:.2f} s"
        )


class _CountingWriter:
    """A binary stream that counts what passes through it (for the summary of `-` output)."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self.count = 0
        self.name = "<stdout>"

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return self._target.write(data)

    def flush(self) -> None:
        self._target.flush()


def _open_inputs(
    paths: list[str], stack: ExitStack, *, seekable: bool
) -> list[tuple[str, BinaryIO]]:
    """Open each input; when two passes are needed, pipes (stdin, `<(...)`) are spooled first."""
    inputs: list[tuple[str, BinaryIO]] = []
    for path in paths:
        if path == "-":
            name, source = "<stdin>", sys.stdin.buffer
        elif os.path.isdir(path):
            raise ConvertError("is a folder, not a file", path=path)
        else:
            name, source = path, stack.enter_context(open(path, "rb"))  # noqa: SIM115
        if seekable and not source.seekable():
            spool = stack.enter_context(tempfile.SpooledTemporaryFile(SPOOL_BYTES))  # noqa: SIM115
            while chunk := source.read(1 << 20):
                spool.write(chunk)
            spool.seek(0)
            source = spool
        inputs.append((name, source))
    return inputs


def input_format(paths: list[str], fmt: str = "auto") -> str:
    """The input format: as given, else CSV for `.csv` names and JSON Lines for the rest."""
    fmt = fmt.lower()
    if fmt == "json":
        fmt = "jsonl"
    if fmt not in FORMATS:
        raise OptionError(f"fmt must be jsonl, csv, raw or base64, got {fmt!r}", params=("fmt",))
    if fmt != "auto":
        return fmt
    kinds = {"csv" if p.lower().endswith(".csv") else "jsonl" for p in paths}
    if len(kinds) > 1:
        raise ConvertError(
            "the inputs mix CSV and other files",
            hint="pass fmt to say how to read them",
            params=("fmt",),
        )
    return kinds.pop() if kinds else "jsonl"


def text_to_tfrecords(
    out: str,
    inputs: list[str],
    *,
    fmt: str = "auto",
    compression: CompressionLike = None,
    level: int | None = None,
    shards: int = 1,
    stdout: BinaryIO | None = None,
    overwrite: bool = False,
    delimiter: str = ",",
) -> WriteSummary:
    """Convert text inputs (`-` = stdin) into TFRecords at `out` (`-` = stdout).

    `fmt`: auto (CSV for `.csv`, else JSON Lines), jsonl, csv, raw (one record per line),
    base64 (one base64 record per line). With `shards` > 1 records go round-robin to the files
    of `shard_names(out, shards)`; every one is published only when the whole input converted.
    An existing output is replaced only with `overwrite`, and an input never is.
    """
    started = time.perf_counter()
    fmt = input_format(inputs, fmt)
    if shards < 1:
        raise OptionError(f"shards must be at least 1, got {shards}", params=("shards",))
    if out == "-" and shards != 1:
        raise OptionError("shards needs an output file name, not '-'", params=("shards",))
    if out != "-" and os.path.isdir(out):
        raise ConvertError("is a folder; give a file name to write", path=out)
    codec = Compression.for_path(out if out != "-" else "", compression)
    names = shard_names(out, shards) if out != "-" else []
    manifest = [manifest_path_for(out)] if shards > 1 else []
    refuse_unsafe_outputs([*names, *manifest], [check_path(p) for p in inputs], overwrite=overwrite)
    if level is not None and codec is Compression.NONE:
        raise OptionError(
            "level applies to compressed output",
            hint="give compression GZIP or ZLIB",
            params=("level", "compression"),
        )
    with ExitStack() as stack:
        sources = _open_inputs(inputs, stack, seekable=fmt in ("jsonl", "csv"))
        records: Iterable[bytes]
        if fmt == "jsonl":
            records = examples_from_jsonl(sources)
        elif fmt == "csv":
            records = examples_from_csv(sources, delimiter=delimiter)
        else:
            records = records_from_lines(sources, b64=fmt == "base64")
        if out == "-":
            sink = _CountingWriter(stdout if stdout is not None else sys.stdout.buffer)
            with TFRecordWriter(sink, codec, level=level) as writer:  # type: ignore[arg-type]
                count = writer.write_many(records)
            sink.flush()
            return WriteSummary(count, ["<stdout>"], sink.count, time.perf_counter() - started)
        if shards == 1:
            with TFRecordWriter(out, codec, level=level) as single:
                count = single.write_many(records)
        else:
            # All shards are open together: if the input fails, every one is discarded; the
            # manifest is published last, after every shard (checked above, with the shards).
            with ShardedWriter(out, shards, codec, level=level, overwrite=True) as writer:
                count = writer.write_many(records)
    size = sum(os.path.getsize(name) for name in names)
    return WriteSummary(count, names, size, time.perf_counter() - started)


# =========================================================================== records -> JSON


def float_for_json(x: float) -> float:
    """The shortest decimal that reads back as the same float32, as a Python float."""
    if not math.isfinite(x):
        return x
    want = _f32.pack(x)
    for digits in (6, 7, 8, 9):  # 9 significant digits always identify a float32
        y = float(f"{x:.{digits}g}")
        try:
            if _f32.pack(y) == want:
                return y
        except OverflowError:
            continue
    return x


def bytes_for_json(value: bytes) -> str | dict[str, str]:
    """UTF-8 text as a string; anything else as {"base64": ...} (what `recio write` reads back)."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode("ascii")}


def _values_for_json(values: list[Any]) -> list[Any]:
    if not values:
        return []
    first = values[0]
    if type(first) is float:
        return [float_for_json(v) for v in values]
    if type(first) is bytes:
        return [bytes_for_json(v) for v in values]
    return values


def features_for_json(features: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A decoded Example ({name: list}) in the JSON form described in the module docstring."""
    return {name: _values_for_json(values) for name, values in features.items()}


def example_for_json(record: bytes, *, sequence: bool = False) -> dict[str, Any]:
    """Decode one record as an Example (or SequenceExample) in the JSON form.

    Raises ExampleDecodeError for bytes that are not one: besides malformed messages, a record with
    top-level fields other than those of the message asked for (protobuf would skip them
    silently, so random bytes could otherwise print as an empty object).
    """
    fields = wire.top_level_fields(record, "tf.train.Example")
    allowed = {1, 2} if sequence else {1}
    if not fields <= allowed:
        if not sequence and fields in ({1, 2}, {2}):
            raise ExampleDecodeError(
                "looks like a tf.train.SequenceExample, not an Example",
                hint="read it with sequence=True, or raw=True for the bytes",
                params=("sequence", "raw"),
            )
        message = "tf.train.SequenceExample" if sequence else "tf.train.Example"
        raise ExampleDecodeError(
            f"not a {message} (top-level field {min(fields - allowed)})",
            hint="raw=True prints records as base64",
            params=("raw",),
        )
    if not sequence:
        return features_for_json(decode_example(record))
    context, lists = decode_sequence_example(record)
    return {
        "context": features_for_json(context),
        "feature_lists": {
            name: [_values_for_json(step) for step in steps] for name, steps in lists.items()
        },
    }


def tfrecords_to_json(
    paths: list[str],
    *,
    raw: bool = False,
    sequence: bool = False,
    skip: int = 0,
    limit: int | None = None,
    compression: CompressionLike = None,
    strict: bool = True,
    verify: bool = True,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    stdin: BinaryIO | None = None,
    on_damage: Callable[[str, Damage], None] | None = None,
) -> Iterator[Any]:
    """Records of the files in order (`-` = stdin), each as its JSON form or (`raw`) base64 text.

    `skip` and `limit` count records over all files together. `on_damage` (salvage) gets the
    file and each damaged region, and reading carries on at the next intact record.
    """
    if skip < 0:
        raise OptionError(f"skip must be >= 0, got {skip}", params=("skip",))
    if limit is not None and limit < 0:
        raise OptionError(f"limit must be >= 0, got {limit}", params=("limit",))
    records = _records_with_place(
        paths,
        Compression.parse(compression),
        strict=strict,
        verify=verify,
        max_record_bytes=max_record_bytes,
        stdin=stdin,
        on_damage=on_damage,
    )
    stop = None if limit is None else skip + limit
    for path, index, offset, record in islice(records, skip, stop):
        if raw:
            yield base64.b64encode(record).decode("ascii")
            continue
        try:
            yield example_for_json(record, sequence=sequence)
        except ExampleDecodeError as error:
            error.path, error.index, error.offset = path, index, offset
            if error.hint is None:
                error.hint = "raw=True prints records as base64"
                error.params = (*error.params, "raw")
            raise


def _records_with_place(
    paths: list[str],
    compression: Any,
    *,
    stdin: BinaryIO | None,
    on_damage: Callable[[str, Damage], None] | None,
    **options: Any,
) -> Iterator[tuple[str, int, int, bytes]]:
    """(file, record index, stream offset, record) for every record of every file."""
    for path in paths:
        source: Any = path
        if path == "-":
            source = stdin if stdin is not None else sys.stdin.buffer
        name = path if path != "-" else "<stdin>"
        if on_damage is not None:
            options["on_damage"] = functools.partial(on_damage, name)
        with TFRecordReader(source, compression, **options) as reader:
            index = 0
            offset = 0
            for batch in reader.iter_batches():
                for record in batch:
                    yield name, index, offset, record
                    index += 1
                    offset += len(record) + 16


__all__ = [
    "ConvertError",
    "WriteSummary",
    "bytes_for_json",
    "example_for_json",
    "examples_from_csv",
    "examples_from_jsonl",
    "features_for_json",
    "float_for_json",
    "input_format",
    "records_from_lines",
    "text_to_tfrecords",
    "tfrecords_to_json",
]
