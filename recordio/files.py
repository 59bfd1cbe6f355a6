"""Turning file arguments (files, globs, folders, manifests) into the record files they mean.

Which names are record files is recordio.names' rule; a manifest given as a path stands for
exactly the shards it lists (manifest.py).
"""

from __future__ import annotations

import glob

from recordio import paths as storage
from recordio.errors import RecordIOError
from recordio.names import (
    NEVER_RECORDS,
    RECORD_RULE,
    is_record_file,
    shard_names,
    split_record_suffix,
)


def record_files(folder: str) -> list[str]:
    """The record files directly inside `folder`, sorted."""
    return sorted(
        storage.join(folder, name) for name in storage.file_names(folder) if is_record_file(name)
    )


def expand_paths(patterns: list[str], *, folders: bool = True) -> list[str]:
    """Expand globs (and folders, to the record files inside them) in order; '-' passes through.

    With `folders` False a folder is refused: text inputs are never guessed from a folder.

    A pattern that matches nothing is an error: a typo must not look like an empty data set.
    """
    paths: list[str] = []
    for pattern in patterns:
        if pattern == "-":
            paths.append(pattern)
            continue
        if storage.isdir(pattern) and not folders:
            raise RecordIOError(
                "is a folder, not a file",
                path=pattern,
                hint="name the files, or a pattern such as DIR/*.jsonl",
            )
        if storage.isdir(pattern):
            inside = record_files(pattern)
            if not inside:
                raise RecordIOError(
                    "folder holds no record files",
                    path=pattern,
                    hint=f"{RECORD_RULE}; or name the files themselves",
                )
            paths.extend(inside)
            continue
        # An existing name is taken as it is: the shell may have expanded `x[1].tfrecord` already.
        if glob.has_magic(pattern) and not storage.exists(pattern):
            matched = storage.glob(pattern)
            if not matched:
                raise RecordIOError(
                    "no file matches this pattern", path=pattern, hint="check the path and quoting"
                )
            paths.extend(p for m in matched for p in _listed(m))
            continue
        if not storage.exists(pattern):
            raise RecordIOError("no such file", path=pattern)
        paths.extend(_listed(pattern))
    return paths


def _listed(path: str) -> list[str]:
    """A manifest's shards (a manifest is read as exactly its set), else the path itself."""
    if not path.endswith(NEVER_RECORDS[0]):
        return [path]
    from recordio.manifest import read_manifest

    return read_manifest(path).paths()


__all__ = [
    "RECORD_RULE",
    "expand_paths",
    "is_record_file",
    "record_files",
    "shard_names",
    "split_record_suffix",
]
