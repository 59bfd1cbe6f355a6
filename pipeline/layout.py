"""The output folder of a recio job: the one place that knows its names and reads it back.

    OUT/recio_job.json                  what the job did: splits (rows, files), label, key, ...
    OUT/data-00000-of-0000N.tfrecord.gz csv and augment jobs: the one split, "data"
    OUT/data/train-*.tfrecord.gz        transform job: the train split (and eval-*, ...)
    OUT/schema.json                     the raw schema the job used (recio's own form)
    OUT/metadata/schema.pbtxt           the raw schema in tf.metadata form
    OUT/transform_fn/                   transform job: the tf.Transform graph
    OUT/transformed_metadata/           transform job: the schema of the transformed records
    OUT/bad_rows.jsonl                  rows that could not be decoded, with the reason

The jobs write these names; the loaders and the models read a folder through `JobOutput`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pipeline.errors import InputError

JOB_FILE = "recio_job.json"
BAD_ROWS_FILE = "bad_rows.jsonl"
SCHEMA_FILE = "schema.json"
DATA_PREFIX = "data"  # shard names of the single-split jobs (csv, augment)
DATA_DIR = "data"  # the transform job's splits live here
RAW_METADATA_DIR = "metadata"  # tft.TFTransformOutput.RAW_METADATA_DIR
TRANSFORM_FN_DIR = "transform_fn"
TRANSFORMED_METADATA_DIR = "transformed_metadata"
SCHEMA_PBTXT = "schema.pbtxt"
STATS_DIR = "stats"  # the transform job's statistics of each written split: stats/<split>.json
DEFAULT_SPLIT = "train"


class JobOutput:
    """A local folder as a recio job left it (any of its parts may be missing)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.fspath(folder)
        self._job: dict[str, Any] | None = None

    @classmethod
    def of(cls, data: Any) -> JobOutput | None:
        """The job output `data` names when it is one local folder, else None."""
        if not isinstance(data, (str, os.PathLike)):
            return None
        path = os.fspath(data)
        if path.startswith("file://"):
            path = path[len("file://") :]
        return cls(path) if os.path.isdir(path) else None

    def _path(self, *parts: str) -> str:
        return os.path.join(self.folder, *parts)

    def _file(self, *parts: str) -> str | None:
        path = self._path(*parts)
        return path if os.path.isfile(path) else None

    # -- the job record ---------------------------------------------------------------------
    @property
    def job(self) -> dict[str, Any]:
        """recio_job.json ({} when the folder has none)."""
        if self._job is None:
            path = self._file(JOB_FILE)
            job: Any = {}
            if path is not None:
                try:
                    with open(path, encoding="utf-8") as handle:
                        job = json.load(handle)
                except (OSError, ValueError) as error:
                    raise InputError(f"unreadable job record ({error})", path=path) from None
            self._job = job if isinstance(job, dict) else {}
        return self._job

    @property
    def label(self) -> str | None:
        return self.job.get("label")

    @property
    def key(self) -> str | None:
        return self.job.get("key")

    @property
    def splits(self) -> dict[str, dict[str, Any]]:
        """{split name: {"rows": n, "files": [...]}} as the job recorded them."""
        splits = self.job.get("splits")
        return splits if isinstance(splits, dict) else {}

    def split_rows(self, split: str | None) -> int | None:
        entry = self.splits.get(split or "")
        rows = entry.get("rows") if isinstance(entry, dict) else None
        return int(rows) if isinstance(rows, int) and rows >= 0 else None

    def default_split(self) -> str | None:
        """train when the job wrote one; else None (the folder's only records)."""
        return DEFAULT_SPLIT if DEFAULT_SPLIT in self.splits else None

    def split_files(self, split: str | None) -> list[str] | None:
        """The files the job record lists for `split` (default: train), or None when it lists
        none. Raises InputError for a split the job did not write, or a listed file now gone."""
        splits = self.splits
        entries: Any = None
        if splits:
            chosen = split or self.default_split()
            if chosen is None:
                return None
            if chosen not in splits:
                raise InputError(
                    f"no split {chosen!r}; the job wrote {', '.join(sorted(splits))}",
                    path=self.folder,
                    params=("split",),
                )
            entry = splits[chosen]
            entries = entry.get("files") if isinstance(entry, dict) else None
        elif split is None:
            entries = self.job.get("files")
        if not entries or not isinstance(entries, list):
            return None
        found = []
        for entry in entries:
            name = str(entry)
            candidates = [name, self._path(name), self._path(DATA_DIR, name)]
            path = next((c for c in candidates if os.path.isfile(c)), None)
            if path is None:
                raise InputError(
                    f"{JOB_FILE} lists {name}, which does not exist; "
                    "was the folder moved or partly deleted?",
                    path=self.folder,
                )
            found.append(path)
        return found

    # -- where the records and schemas are --------------------------------------------------
    @property
    def data_dir(self) -> str:
        """Where the record files are: OUT/data/ when it exists, else OUT itself."""
        inside = self._path(DATA_DIR)
        return inside if os.path.isdir(inside) else self.folder

    @property
    def transform_dir(self) -> str | None:
        """The folder itself when it holds a tf.Transform graph (what TFTransformOutput reads)."""
        return self.folder if os.path.isdir(self._path(TRANSFORM_FN_DIR)) else None

    @property
    def transformed_schema(self) -> str | None:
        """transformed_metadata/schema.pbtxt: what the transformed records hold."""
        return self._file(TRANSFORMED_METADATA_DIR, SCHEMA_PBTXT)

    @property
    def raw_schema(self) -> str | None:
        """metadata/schema.pbtxt: the raw records' schema (tf.metadata text)."""
        return self._file(RAW_METADATA_DIR, SCHEMA_PBTXT)

    @property
    def schema_json(self) -> str | None:
        """schema.json: the raw schema in recio's own form."""
        return self._file(SCHEMA_FILE)

    def records_schema(self) -> tuple[str, str] | None:
        """("pbtxt" | "json", path) of the schema that describes this folder's records.

        A transform job's records are the transformed ones: only transformed_metadata describes
        them (its metadata/ and schema.json describe the raw input).
        """
        if self.transformed_schema is not None:
            return "pbtxt", self.transformed_schema
        if self.transform_dir is not None:
            return None
        if self.raw_schema is not None:
            return "pbtxt", self.raw_schema
        for name in (SCHEMA_FILE, "spec.json"):
            path = self._file(name)
            if path is not None:
                return "json", path
        return None


__all__ = [
    "BAD_ROWS_FILE",
    "DATA_DIR",
    "DATA_PREFIX",
    "JOB_FILE",
    "RAW_METADATA_DIR",
    "SCHEMA_FILE",
    "TRANSFORMED_METADATA_DIR",
    "TRANSFORM_FN_DIR",
    "JobOutput",
]
