"""From what the user names (a folder, a glob, a list, a job's output) to a sorted list of files.

A folder written by `recio job transform` holds its records under `data/` as `train-*`/`eval-*`
shards; `recio job csv` writes `data-*` shards next to sidecars (`schema.json`, `recio_job.json`,
bad-row reports); `recio write` writes plain files. All of them resolve here, so both loaders read
exactly the same files. Remote paths (`gs://...`) go through fsspec when it is installed, or
through `tf.io.gfile` when TensorFlow is already imported.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

from pipeline._files import is_remote
from pipeline.errors import LoaderError
from pipeline.layout import DEFAULT_SPLIT, JobOutput
from recordio.files import RECORD_RULE, record_files
from recordio.manifest import MANIFEST_SUFFIX


def _local(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def _in_split(name: str, split: str) -> bool:
    """`train-00000-of-00004.gz`, `fmnist.train.tfrecord-00001-of-00010`, `eval_0.tfrecord`..."""
    return split in re.split(r"[._\-]", os.path.basename(name))


def _folder_files(folder: str, split: str | None) -> list[str]:
    output = JobOutput(folder)
    listed = output.split_files(split)
    if listed:
        return listed
    search = output.data_dir
    return _pick_split(record_files(search), split, folder, search)


def _pick_split(names: list[str], split: str | None, folder: str, search: str) -> list[str]:
    """The files of a folder that belong to `split`; a transform job's output (train-* and
    eval-* side by side) defaults to train."""
    if (
        split is None
        and any(_in_split(n, DEFAULT_SPLIT) for n in names)
        and any(_in_split(n, "eval") for n in names)
    ):
        split = DEFAULT_SPLIT
    if split is not None:
        names = [n for n in names if _in_split(n, split)]
        if not names:
            raise LoaderError(
                f"{folder}: no TFRecord files of split {split!r} "
                f"(looked for names like {split}-00000-of-00001.tfrecord.gz in {search})"
            )
    if not names:
        raise LoaderError(
            f"{folder}: no TFRecord files in this folder ({RECORD_RULE}); point at the files or "
            "a glob instead"
        )
    return names


def _has_fsspec() -> bool:
    try:
        import fsspec  # noqa: F401
    except ImportError:
        return False
    return True


def _remote_files(item: str, split: str | None) -> list[str]:
    """A URL (file, folder, glob or manifest) -> its record files, through recordio's paths
    (fsspec); without fsspec, TensorFlow's gfile when the tf.data loader brought it."""
    if _has_fsspec():
        from recordio import RecordIOError, paths
        from recordio.files import expand_paths

        try:
            found = expand_paths([item])
        except RecordIOError as error:
            raise LoaderError(str(error)) from None
        if paths.isdir(item):
            return _pick_split(found, split, item, item)
        return found
    tf = sys.modules.get("tensorflow")
    if tf is None:
        raise LoaderError(
            f"{item}: reading remote files needs fsspec (pip install 'recio[cloud]') "
            "or TensorFlow's gfile (the tf.data loader)"
        )
    found = sorted(tf.io.gfile.glob(item)) if glob.has_magic(item) else [item]
    if not found:
        raise LoaderError(f"{item}: no file matches this pattern")
    return found


def _expand_one(item: str, split: str | None) -> list[str]:
    if item.endswith(MANIFEST_SUFFIX):  # a published shard set: exactly the files it lists
        from recordio.manifest import read_manifest

        return read_manifest(_local(item)).paths()
    if is_remote(item):
        return _remote_files(item, split)
    item = _local(item)
    if os.path.isdir(item):
        return _folder_files(item, split)
    if glob.has_magic(item):
        found = sorted(p for p in glob.glob(item) if os.path.isfile(p))
        if not found:
            raise LoaderError(f"{item}: no file matches this pattern; check the path and quoting")
        return found
    if os.path.isfile(item):
        return [item]
    raise LoaderError(f"{item}: no such file or folder")


def resolve_files(
    data: str | os.PathLike[str] | Sequence[str], split: str | None = None
) -> list[str]:
    """A folder, glob, file or list of them -> the sorted list of TFRecord files to read.

    `split` picks `train`/`eval` shards of a `recio job transform` output (default: train) or,
    elsewhere, files whose name has the split as a dot/dash/underscore separated token.
    Raises LoaderError, naming what was looked for, when nothing matches.
    """
    if isinstance(data, (str, os.PathLike)):
        items = [os.fspath(data)]
    else:
        items = [os.fspath(x) for x in data]
        if not items:
            raise LoaderError("no data given: the list of files is empty")
    files: list[str] = []
    for item in items:
        found = _expand_one(item, split)
        if split is not None and not os.path.isdir(_local(item)):
            kept = [f for f in found if _in_split(f, split)]
            if not kept:
                raise LoaderError(
                    f"{item}: none of its {len(found)} files belong to split {split!r}"
                )
            found = kept
        files.extend(found)
    out = sorted(dict.fromkeys(files))
    if not out:
        raise LoaderError(f"{items[0]}: no TFRecord files found")
    return out


def open_binary(path: str) -> BinaryIO:
    """Open a local or remote file for reading bytes."""
    if not is_remote(path):
        return open(_local(path), "rb")  # noqa: SIM115 - the caller closes it
    if _has_fsspec():
        from recordio.paths import open_read

        return open_read(path)
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        return tf.io.gfile.GFile(path, "rb")
    raise LoaderError(f"{path}: reading remote files needs fsspec (pip install 'recio[cloud]')")


@contextlib.contextmanager
def record_reader(path: str, **reader_kw: Any) -> Iterator[Any]:
    """A recordio TFRecordReader over a local or remote file; closes the reader and the file.

    recordio closes only the files it opened itself, so a remote handle is closed here.
    """
    from recordio import TFRecordReader

    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open_binary(path)) if is_remote(path) else _local(path)
        yield stack.enter_context(TFRecordReader(source, **reader_kw))


def file_key(path: str) -> tuple[str, int, int] | None:
    """Identity of a local file's current content (path, size, mtime) for caches; None if remote."""
    if is_remote(path):
        return None
    st = os.stat(_local(path))
    return (os.path.abspath(_local(path)), st.st_size, st.st_mtime_ns)


__all__ = ["is_remote", "open_binary", "record_reader", "resolve_files"]
