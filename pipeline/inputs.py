"""A job's inputs: files from globs and folders, CSV or TFRecord, and where workers can read.

All checks run here, before Beam starts, so that bad input fails in a second with one line
instead of minutes later inside a worker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from pipeline._files import is_remote, match_files
from pipeline.errors import InputError, JobOptionsError
from pipeline.options import RunnerOptions
from recordio.files import is_record_file

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_CSV_CODECS = (".gz", ".bz2", ".zst", ".lz4")  # what the CSV reader decompresses by name


def expand_inputs(inputs: Sequence[str], *, what: str) -> list[str]:
    """Globs and folders -> a sorted file list; InputError naming the pattern when one is empty."""
    return match_files(inputs, what=what)


PARQUET_SUFFIXES = (".parquet", ".pq")


def _kind(path: str) -> str | None:
    name = os.path.basename(path).lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if is_record_file(name):
        return "tfrecord"
    for ending in _CSV_CODECS:
        name = name.removesuffix(ending)
    return "csv" if name.endswith(CSV_SUFFIXES) else None


def detect_format(files: Sequence[str], requested: str) -> str:
    """ "csv", "tfrecord" or "parquet": as requested, else from the file names (.parquet/.pq,
    recordio's record rule, .csv)."""
    if requested != "auto":
        return requested
    kinds = {_kind(f) for f in files}
    if len(kinds) == 1 and None not in kinds:
        return str(kinds.pop())
    raise InputError(
        f"cannot tell whether {files[0]} and the other inputs are CSV, TFRecord or Parquet files "
        "from their names; pass input_format='csv', 'tfrecord' or 'parquet'",
        params=("input_format",),
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
            "inputs and output (schema and module files may stay local)",
            params=("output",),
        )
