"""Turning command-line file arguments into files, and naming shards."""

from __future__ import annotations

import glob
import os

from recordio.errors import RecordIOError

# Files that sit beside TFRecords in job outputs (schemas, reports, dead letters) but hold none.
SIDECAR_SUFFIXES = (".json", ".jsonl", ".csv", ".txt", ".md", ".pbtxt", ".yaml", ".yml", ".png")


def expand_paths(patterns: list[str]) -> list[str]:
    """Expand globs (and folders, to the record files inside them) in order; '-' passes through.

    A pattern that matches nothing is an error: a typo must not look like an empty data set.
    """
    paths: list[str] = []
    for pattern in patterns:
        if pattern == "-":
            paths.append(pattern)
            continue
        if os.path.isdir(pattern):
            inside = sorted(
                os.path.join(pattern, name)
                for name in os.listdir(pattern)
                if not name.startswith(".")
                and not name.lower().endswith(SIDECAR_SUFFIXES)
                and os.path.isfile(os.path.join(pattern, name))
            )
            if not inside:
                raise RecordIOError("folder holds no record files", path=pattern)
            paths.extend(inside)
            continue
        # An existing name is taken as it is: the shell may have expanded `x[1].tfrecord` already.
        if glob.has_magic(pattern) and not os.path.exists(pattern):
            matched = sorted(glob.glob(pattern))
            if not matched:
                raise RecordIOError(
                    "no file matches this pattern", path=pattern, hint="check the path and quoting"
                )
            paths.extend(matched)
            continue
        if not os.path.exists(pattern):
            raise RecordIOError("no such file", path=pattern)
        paths.append(pattern)
    return paths


_SUFFIXES = (".tfrecord.gz", ".tfrecords.gz", ".tfrecord.zz", ".tfrecord", ".tfrecords", ".gz")


def shard_names(path: str, shards: int) -> list[str]:
    """Names for `shards` files: `train` -> train-00000-of-00003, ... (TF/Beam's convention).

    A TFRecord suffix stays at the end: `out.tfrecord.gz` -> out-00000-of-00003.tfrecord.gz.
    One shard keeps the name as given.
    """
    if shards < 1:
        raise RecordIOError(f"shards must be at least 1, got {shards}")
    if shards == 1:
        return [path]
    stem, suffix = path, ""
    for candidate in _SUFFIXES:
        if path.endswith(candidate) and len(path) > len(candidate):
            stem, suffix = path[: -len(candidate)], candidate
            break
    return [f"{stem}-{i:05d}-of-{shards:05d}{suffix}" for i in range(shards)]


__all__ = ["expand_paths", "shard_names"]
