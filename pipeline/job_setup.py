"""What every job does before and after its pipeline: inputs, schema, output folder, file lists.

All checks run here, before Beam starts, so that bad input fails in a second with one line
instead of minutes later inside a worker.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

from pipeline._files import is_remote, join, match_files
from pipeline.csv_format import CsvFormat, infer_csv_schema
from pipeline.demo_data import BUILTIN_PREFIX, people_schema_dict, resolve_builtin
from pipeline.errors import InputError, JobOptionsError, SchemaError
from pipeline.options import RunnerOptions
from pipeline.results import SplitInfo
from pipeline.schema import FLOAT, INT, STRING, Schema, load_schema, parse_schema

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_RECORD_MARKERS = (".tfrecord", ".tfrecords", ".tfr")


def scratch_dir(prefix: str) -> str:
    """A temporary folder removed when the process exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def resolve_inputs(inputs: Sequence[str]) -> tuple[tuple[str, ...], str | None]:
    """Replace builtin:NAME inputs by generated files (in a scratch folder, made only if needed)."""
    if not any(item.startswith(BUILTIN_PREFIX) for item in inputs):
        return tuple(inputs), None
    return resolve_builtin(tuple(inputs), scratch_dir("recio-builtin-"))


def expand_inputs(inputs: Sequence[str], *, what: str) -> tuple[list[str], str | None]:
    """Resolve built-in datasets, then globs/folders, into a sorted file list."""
    resolved, builtin = resolve_inputs(inputs)
    return match_files(resolved, what=what), builtin


def builtin_schema(name: str | None) -> Schema | None:
    if name == "people":
        return parse_schema(people_schema_dict(), source="builtin:people schema")
    return None


def detect_format(files: Sequence[str], requested: str) -> str:
    """ "csv" or "tfrecord" from the --input-format flag or the file names."""
    if requested != "auto":
        return requested

    def kind(path: str) -> str | None:
        name = os.path.basename(path).lower()
        for ext in (".gz", ".bz2", ".zst", ".deflate", ".zz", ".zlib"):
            if name.endswith(ext):
                name = name[: -len(ext)]
        if name.endswith(_CSV_SUFFIXES):
            return "csv"
        if any(marker in name for marker in _RECORD_MARKERS):
            return "tfrecord"
        return None

    kinds = {kind(f) for f in files}
    if len(kinds) == 1 and None not in kinds:
        return kinds.pop()  # type: ignore[return-value]
    raise InputError(
        f"cannot tell whether {files[0]} and the other inputs are CSV or TFRecord files from "
        "their names; pass --input-format csv or --input-format tfrecord"
    )


def csv_schema(
    schema: str | Schema | None,
    files: Sequence[str],
    fmt: CsvFormat,
    *,
    default: Schema | None,
    label: str | None,
    key: str | None,
    infer_rows: int,
) -> tuple[Schema, bool]:
    """The schema to use for CSV input, and whether it was inferred."""
    if isinstance(schema, Schema):
        chosen, inferred = schema, False
    elif schema:
        chosen, inferred = load_schema(schema), False
    elif default is not None:
        chosen, inferred = default, False
    else:
        chosen = infer_csv_schema(files, fmt, max_rows=infer_rows)
        inferred = True
    return with_roles(chosen, label, key), inferred


def with_roles(schema: Schema, label: str | None, key: str | None) -> Schema:
    try:
        return schema.with_roles(label=label, key=key)
    except SchemaError as error:
        raise SchemaError(str(error).replace("<schema>", "--label/--key")) from error


def infer_example_schema(files: Sequence[str], *, max_records: int = 10_000) -> Schema:
    """Infer scalar columns from the first Example records (types from the values present)."""
    from pipeline.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()  # tfx_bsl's decoder imports TensorFlow
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems
    from tfx_bsl.coders import example_coder

    from recordio import TFRecordReader

    records: list[bytes] = []
    for path in files:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            for batch in TFRecordReader(raw).iter_batches(max_records=max_records):
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
            INT
            if value_type == pa.int64()
            else FLOAT
            if pa.types.is_floating(value_type)
            else STRING
        )
        lengths = np.asarray(pc.fill_null(pc.list_value_length(decoded.column(field.name)), 0))
        if lengths.max(initial=0) > 1:
            raise SchemaError(
                f"{files[0]}: feature {field.name!r} holds up to {int(lengths.max())} values per "
                "record; the jobs handle one value per feature (write a schema that leaves it out "
                "with a module file, or flatten it)"
            )
        columns.append({"name": field.name, "type": kind, "required": bool((lengths == 1).all())})
    return parse_schema({"columns": columns}, source="inferred schema")


def prepare_output(output: str, managed: Iterable[str], *, overwrite: bool) -> None:
    """Create the output folder; refuse (or, with overwrite, remove) outputs of an earlier run.

    Only the entries this job writes are touched, never anything else in the folder.
    """
    import glob as globlib

    if is_remote(output):
        from apache_beam.io.filesystems import FileSystems

        found = [
            m.path
            for pattern in managed
            for r in FileSystems.match([join(output, pattern)])
            for m in r.metadata_list
        ]
        if found and not overwrite:
            raise JobOptionsError(
                f"{output} already holds {found[0]} from an earlier run; pass --overwrite"
            )
        if found:
            FileSystems.delete(found)
        return
    if os.path.exists(output) and not os.path.isdir(output):
        raise JobOptionsError(f"--output {output!r} is a file, not a folder")
    os.makedirs(output, exist_ok=True)
    found = sorted({p for pattern in managed for p in globlib.glob(os.path.join(output, pattern))})
    if found and not overwrite:
        raise JobOptionsError(
            f"{output} already holds {os.path.relpath(found[0], output)} from an earlier run; "
            "pass --overwrite to replace the job's outputs"
        )
    for path in found:
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


DATA_PREFIX = "data"  # shard names of the single-split jobs (csv, augment)


def data_split(output: str, counters: dict[str, int]) -> SplitInfo:
    """The one output split of the csv and augment jobs: rows written and the shard files."""
    return SplitInfo(counters.get("rows_written", 0), output_files(output, f"{DATA_PREFIX}-*-of-*"))


def options_csv_schema(options: Any, files: Sequence[str], builtin: str | None) -> Schema:
    """The CSV schema a job's options ask for: given, built in, or inferred from the files."""
    schema, _ = csv_schema(
        options.schema,
        list(files),
        options.csv,
        default=builtin_schema(builtin),
        label=options.label,
        key=options.key,
        infer_rows=options.infer_rows,
    )
    return schema


def output_files(output: str, pattern: str) -> tuple[str, ...]:
    """Files under `output` matching `pattern`, relative to `output`, sorted."""
    if is_remote(output):
        from apache_beam.io.filesystems import FileSystems

        base = output.rstrip("/") + "/"
        matches = FileSystems.match([join(output, pattern)])[0].metadata_list
        return tuple(sorted(m.path[len(base) :] for m in matches))
    import glob as globlib

    paths = globlib.glob(os.path.join(output, pattern))
    return tuple(sorted(os.path.relpath(p, output) for p in paths))


def raw_metadata_dir(output: str) -> str:
    return join(output, "metadata")


def write_raw_metadata(schema: Schema, output: str) -> None:
    """OUT/metadata/schema.pbtxt: the raw schema in tf.metadata form (TFT's RAW_METADATA_DIR)."""
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

    metadata_io.write_metadata(
        dataset_metadata.DatasetMetadata(schema.tf_metadata_schema()), raw_metadata_dir(output)
    )


def check_remote_paths(runner: RunnerOptions, paths: Sequence[str], output: str) -> None:
    """Dataflow workers cannot see this machine's files: inputs and output must be gs:// paths.

    A dry run only translates the job, so local paths are fine there (and needed offline).
    """
    if runner.runner != "DataflowRunner" or runner.dry_run:
        return
    local = [p for p in (*paths, output) if not is_remote(p)]
    if local:
        raise JobOptionsError(
            f"{local[0]}: Dataflow workers cannot read or write local paths; use gs:// for "
            "inputs and --output (schema and module files may stay local)"
        )
