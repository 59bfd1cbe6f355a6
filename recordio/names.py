"""The names of record files: which names hold records, and how shards of a set are named.

One rule for every package: `recio verify out/`, `NumpyLoader("out/")` and `tf_dataset("out/")`
read the same files of a folder. A file is a record file when its name says so:

* a TFRecord ending, maybe compressed and maybe followed by a shard number:
  `x.tfrecord`, `x.tfrecords.gz`, `x.tfrec`, `x.rio.zz`, `mnist-train.tfrecord-00000-of-00010`;
* or a shard name (`train-00000-of-00004`, `data-00001-of-00002.gz`) that does not end like
  one of the files recio writes beside its records (`schema.json`, `bad_rows.jsonl`, ...).

Hidden (`.`) and private (`_`) names never are: temporary files, `_SUCCESS` markers; nor is an
index sidecar (`x.tfrecord.idx`, `x.tfrecord-00000-of-00002.idx`) or a shard set's manifest
(`NAME.manifest.json`, see manifest.py). Names only: nothing here touches a file.
"""

from __future__ import annotations

import os
import re

from recordio.compression import split_suffix
from recordio.errors import OptionError

RECORD_ENDINGS = (".tfrecord", ".tfrecords", ".tfrec", ".rio")
# Files that sit beside TFRecords in job outputs (schemas, reports, dead letters) but hold none.
SIDECAR_SUFFIXES = (
    ".json", ".jsonl", ".csv", ".tsv", ".txt", ".md", ".pbtxt", ".yaml", ".yml", ".png", ".py",
    ".log", ".html", ".pb", ".idx",
)  # fmt: skip
# Sidecars that may follow a full record file name and must never be read as records.
INDEX_SUFFIXES = (".idx",)
NEVER_RECORDS = (".manifest.json", *INDEX_SUFFIXES)  # sidecars of record files and sets
_RECORD_NAME = re.compile(
    r"\.(?:tfrecords?|tfrec|rio)(?:\.gz|\.gzip|\.zz|\.zlib|\.deflate)?(?:-|$)", re.IGNORECASE
)
_SHARD_NAME = re.compile(r"-\d{5}-of-\d{5}")
RECORD_RULE = (
    "record files are named *.tfrecord, *.tfrecords, *.tfrec or *.rio (maybe .gz/.zz), or like "
    "shards (*-00000-of-00004)"
)


def is_record_file(name: str) -> bool:
    """Whether a file's name marks it as a TFRecord file (see the module docstring)."""
    base = os.path.basename(name)
    if base.startswith((".", "_")) or base.endswith(NEVER_RECORDS):
        return False
    if base.lower().endswith(INDEX_SUFFIXES):  # x.tfrecord-00000-of-00002.idx is an index
        return False
    if _RECORD_NAME.search(base):
        return True
    return bool(_SHARD_NAME.search(base)) and not base.lower().endswith(SIDECAR_SUFFIXES)


def split_record_suffix(path: str) -> tuple[str, str]:
    """`out/x.tfrecord.gz` -> (`out/x`, `.tfrecord.gz`): the stem and the record file ending."""
    stem, codec = split_suffix(path)
    compressed = path[len(stem) :] if codec is not None else ""
    for ending in RECORD_ENDINGS:
        if stem.lower().endswith(ending) and len(stem) > len(ending):
            return stem[: -len(ending)], stem[-len(ending) :] + compressed
    if codec is not None:
        return stem, compressed
    return path, ""


def shard_names(path: str, shards: int) -> list[str]:
    """Names for `shards` files: `train` -> train-00000-of-00003, ... (TF/Beam's convention).

    A TFRecord ending stays at the end: `out.tfrecord.gz` -> out-00000-of-00003.tfrecord.gz.
    One shard keeps the name as given.
    """
    if shards < 1:
        raise OptionError(f"shards must be at least 1, got {shards}", params=("shards",))
    if shards == 1:
        return [path]
    stem, suffix = split_record_suffix(path)
    return [f"{stem}-{i:05d}-of-{shards:05d}{suffix}" for i in range(shards)]


__all__ = [
    "INDEX_SUFFIXES",
    "NEVER_RECORDS",
    "RECORD_ENDINGS",
    "RECORD_RULE",
    "SIDECAR_SUFFIXES",
    "is_record_file",
    "shard_names",
    "split_record_suffix",
]
