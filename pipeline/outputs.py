"""A job's output folder: made, cleared of an earlier run's outputs, listed, described.

The names come from `pipeline.layout`; only the entries a job writes are ever touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator

from pipeline._files import is_remote, join
from pipeline.errors import (
    JobOptionsError,
    OutputExistsError,
    OutputWriteError,
    PipelineError,
    TooManyBadRowsError,
)
from pipeline.layout import BAD_ROWS_FILE, DATA_PREFIX, JOB_FILE, RAW_METADATA_DIR
from pipeline.results import SplitInfo
from pipeline.schema import Schema


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
            raise OutputExistsError(
                f"{output} already holds {found[0]} from an earlier run; pass overwrite=True",
                params=("overwrite",),
            )
        if found:
            FileSystems.delete(found)
        return
    check_output(output, managed, overwrite=overwrite)
    os.makedirs(output, exist_ok=True)
    found = sorted({p for pattern in managed for p in globlib.glob(os.path.join(output, pattern))})
    for path in found:
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def check_output(output: str, managed: Iterable[str], *, overwrite: bool) -> None:
    """Refuse a file as the output folder, and an earlier run's outputs without overwrite."""
    import glob as globlib

    if os.path.exists(output) and not os.path.isdir(output):
        raise JobOptionsError(
            f"output={output!r} is a file, not a folder; give a folder for the job's outputs",
            params=("output",),
        )
    found = sorted({p for pattern in managed for p in globlib.glob(os.path.join(output, pattern))})
    if found and not overwrite:
        raise OutputExistsError(
            f"{output} already holds {os.path.relpath(found[0], output)} from an earlier run; "
            "pass overwrite=True to replace the job's outputs",
            params=("overwrite",),
        )


@contextlib.contextmanager
def staged_output(
    output: str, managed: Iterable[str], *, overwrite: bool, dry_run: bool = False
) -> Iterator[str]:
    """The folder a job writes into: a hidden sibling of a local `output`, moved into place
    when the job completes (see `publish`). On any error, Ctrl-C or SIGTERM the sibling, Beam's
    temp folders inside it included, is removed and `output` is left as it was.

    Remote output is written in place (object stores have no rename); a dry run writes nothing.
    """
    managed = tuple(managed)
    if dry_run:
        yield output
        return
    if is_remote(output):
        prepare_output(output, managed, overwrite=overwrite)
        yield output
        return
    check_output(output, managed, overwrite=overwrite)
    parent = os.path.dirname(os.path.abspath(output))
    name = os.path.basename(os.path.abspath(output))
    stage = os.path.join(parent, f".{name[:200]}.tmp-{os.getpid()}")
    try:
        os.makedirs(parent, exist_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
        os.mkdir(stage)
    except OSError as error:
        raise _cannot_write(output, error) from None
    try:
        yield stage
        try:
            publish(stage, output, managed)
        except OSError as error:
            raise _cannot_write(output, error) from None
    except BaseException as error:
        if isinstance(error, TooManyBadRowsError):
            _keep_dead_letters(stage, output)
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(error, PipelineError):  # name the user's folder, not the staging one
            error.detail = error.detail.replace(stage, output)
            if error.path:
                error.path = error.path.replace(stage, output)
        raise


def _keep_dead_letters(stage: str, output: str) -> None:
    """A job failed on too many bad rows: OUT/bad_rows.jsonl is what the user needs to see."""
    dead = os.path.join(stage, BAD_ROWS_FILE)
    if os.path.isfile(dead):
        with contextlib.suppress(OSError):
            os.makedirs(output, exist_ok=True)
            os.replace(dead, os.path.join(output, BAD_ROWS_FILE))


def blocking_file(path: str) -> str | None:
    """The file that sits where `path` needs a folder (`path` itself or one above it), if any."""
    current = os.path.abspath(path)
    given = path
    while True:
        if os.path.exists(current):
            return given if not os.path.isdir(current) else None
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current, given = parent, os.path.dirname(given) or "."


def _cannot_write(output: str, error: OSError) -> OutputWriteError:
    """An OSError about the staging folder, told about the folder the user named."""
    in_the_way = blocking_file(output)
    if in_the_way is not None:
        return OutputWriteError(
            f"{in_the_way} is a file, not a folder; choose another output folder", path=output
        )
    return OutputWriteError(
        f"cannot write the job's outputs there: {error.strerror or error}; "
        "choose a folder you can write to",
        path=output,
    )


def publish(stage: str, output: str, managed: Iterable[str]) -> None:
    """Move a finished job's outputs from `stage` into `output`.

    A new output folder is one rename. Into an existing folder, an earlier run's entries move
    aside first (and are deleted once the new ones are in); the job record moves last, so a
    reader never finds a recio_job.json next to half of the outputs. Other files are untouched.
    """
    import glob as globlib

    if not os.path.exists(output):
        os.rename(stage, output)
        return
    old = stage.replace(".tmp-", ".old-")
    os.makedirs(old, exist_ok=True)
    for path in sorted(
        {p for pattern in managed for p in globlib.glob(os.path.join(output, pattern))}
    ):
        os.rename(path, os.path.join(old, os.path.basename(path)))
    entries = sorted(os.listdir(stage), key=lambda n: n == JOB_FILE)
    for entry in entries:
        os.rename(os.path.join(stage, entry), os.path.join(output, entry))
    os.rmdir(stage)
    shutil.rmtree(old, ignore_errors=True)


def written_split(output: str, pattern: str, counters: dict[str, int], counter: str) -> SplitInfo:
    """One output split: its files and how many records they hold.

    The count is the job's own counter when the runner returned Beam's metrics (portable job
    servers, for one, do not), else what the files hold, counted here; None when neither is
    known (remote output without metrics).
    """
    files = output_files(output, pattern)
    rows = counters.get(counter)
    if rows is None:
        rows = count_records(output, files)
    return SplitInfo(rows, files)


def data_split(output: str, counters: dict[str, int]) -> SplitInfo:
    """The one output split of the csv and augment jobs: rows written and the shard files."""
    return written_split(output, f"{DATA_PREFIX}-*-of-*", counters, "rows_written")


def count_records(output: str, files: Iterable[str]) -> int | None:
    """Records in `files` (relative to `output`), from their framing; None for remote output."""
    if is_remote(output):
        return None
    from recordio import TFRecordReader

    total = 0
    for name in files:
        with TFRecordReader(os.path.join(output, name), verify=False) as reader:
            for _ in reader.iter_batches(1 << 14):
                pass
            total += reader.index
    return total


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
    return join(output, RAW_METADATA_DIR)


def write_raw_metadata(schema: Schema, output: str) -> None:
    """OUT/metadata/schema.pbtxt: the raw schema in tf.metadata form (TFT's RAW_METADATA_DIR)."""
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

    metadata_io.write_metadata(
        dataset_metadata.DatasetMetadata(schema.tf_metadata_schema()), raw_metadata_dir(output)
    )
