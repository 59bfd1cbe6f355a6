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
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

from pipeline._files import is_remote
from pipeline.loaders.errors import LoaderError

JOB_FILE = "recio_job.json"
_RECORD_NAME = re.compile(r"\.(tfrecords?|tfrec|rio)(\.gz|\.gzip|\.zz|\.zlib|\.deflate)?(-|$)")
_SHARD_NAME = re.compile(r"-\d{5}-of-\d{5}")
_SIDECAR_SUFFIXES = (
    ".json", ".jsonl", ".pbtxt", ".txt", ".csv", ".tsv", ".md", ".yaml", ".yml", ".py",
    ".log", ".png", ".html",
)  # fmt: skip
DEFAULT_SPLIT = "train"


def _local(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def _looks_like_records(name: str) -> bool:
    base = os.path.basename(name)
    if base.startswith((".", "_")) or base.startswith("bad_rows"):
        return False
    if _RECORD_NAME.search(base):
        return True
    return bool(_SHARD_NAME.search(base)) and not base.lower().endswith(_SIDECAR_SUFFIXES)


def _in_split(name: str, split: str) -> bool:
    """`train-00000-of-00004.gz`, `fmnist.train.tfrecord-00001-of-00010`, `eval_0.tfrecord`..."""
    return split in re.split(r"[._\-]", os.path.basename(name))


def read_job(folder: str) -> dict[str, Any]:
    """The `recio_job.json` a recio job leaves in its output folder ({} when absent)."""
    path = os.path.join(folder, JOB_FILE)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            job = json.load(handle)
    except (OSError, ValueError) as error:
        raise LoaderError(f"{path}: unreadable job record ({error})") from None
    return job if isinstance(job, dict) else {}


def _job_listed(folder: str, job: dict[str, Any], split: str | None) -> list[str] | None:
    """Files the job record lists for `split` (None when it lists none)."""
    splits = job.get("splits")
    entries: Any = None
    if isinstance(splits, dict) and splits:
        chosen = split or (DEFAULT_SPLIT if DEFAULT_SPLIT in splits else None)
        if chosen is None:
            return None
        if chosen not in splits:
            raise LoaderError(
                f"{folder}: no split {chosen!r}; the job wrote {', '.join(sorted(splits))}"
            )
        entry = splits[chosen]
        entries = entry.get("files") if isinstance(entry, dict) else None
    elif split is None:
        entries = job.get("files")
    if not entries or not isinstance(entries, list):
        return None
    out = []
    for entry in entries:
        name = str(entry)
        candidates = [name, os.path.join(folder, name), os.path.join(folder, "data", name)]
        found = next((c for c in candidates if os.path.isfile(c)), None)
        if found is None:
            raise LoaderError(
                f"{folder}: {JOB_FILE} lists {name}, which does not exist; "
                "was the folder moved or partly deleted?"
            )
        out.append(found)
    return out


def _folder_files(folder: str, split: str | None) -> list[str]:
    job = read_job(folder)
    listed = _job_listed(folder, job, split) if job else None
    if listed:
        return listed
    data_dir = os.path.join(folder, "data")
    search = data_dir if os.path.isdir(data_dir) else folder
    names = sorted(
        os.path.join(search, n)
        for n in os.listdir(search)
        if os.path.isfile(os.path.join(search, n)) and _looks_like_records(n)
    )
    # A transform job's output: train-* and eval-* shards side by side; default to train.
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
            f"{folder}: no TFRecord files in this folder (names like *.tfrecord, *.tfrecord.gz "
            "or *-00000-of-00004); point at the files or a glob instead"
        )
    return names


def _remote_glob(pattern: str) -> list[str]:
    try:
        import fsspec  # type: ignore[import-not-found]
    except ImportError:
        fsspec = None
    if fsspec is not None:
        fs, _, paths = fsspec.get_fs_token_paths(pattern)
        protocol = pattern.split("://", 1)[0]
        return sorted(p if "://" in p else f"{protocol}://{p}" for p in paths)
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        return sorted(tf.io.gfile.glob(pattern))
    raise LoaderError(
        f"{pattern}: reading remote files needs fsspec (pip install fsspec gcsfs) "
        "or TensorFlow's gfile (the tf.data loader)"
    )


def _expand_one(item: str, split: str | None) -> list[str]:
    if is_remote(item):
        found = _remote_glob(item) if glob.has_magic(item) else [item]
        if not found:
            raise LoaderError(f"{item}: no file matches this pattern")
        return found
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
    try:
        import fsspec  # type: ignore[import-not-found]
    except ImportError:
        tf = sys.modules.get("tensorflow")
        if tf is not None:
            return tf.io.gfile.GFile(path, "rb")  # type: ignore[no-any-return]
        raise LoaderError(
            f"{path}: reading remote files needs fsspec (pip install fsspec gcsfs)"
        ) from None
    return fsspec.open(path, "rb").open()


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


__all__ = ["is_remote", "open_binary", "read_job", "record_reader", "resolve_files"]
