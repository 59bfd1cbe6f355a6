"""ShardedWriter: records spread over `shard_names(path, n)`, published as one set.

Every shard is written to a temporary file; on close the shards are renamed into place and then,
as the very last step, the set's manifest is published (see `manifest.py`). A writer that fails
or is killed before that leaves no manifest, so `recio verify` reports the set as incomplete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from typing import Any

from recordio import paths
from recordio.compression import Compression, CompressionLike
from recordio.errors import OptionError, OutputExistsError
from recordio.files import shard_names
from recordio.manifest import Manifest, manifest_path_for, write_manifest
from recordio.writer import TFRecordWriter


class ShardedWriter:
    """Write records round-robin (or to a chosen shard) over `shards` files.

    Args:
        path: the set's name (`out/train.tfrecord.gz` -> `out/train-00000-of-00004.tfrecord.gz`,
            ..., and `out/train.manifest.json`).
        shards: number of files (>= 1; one shard is written as `path` itself, with a manifest).
        compression, level, fsync: as TFRecordWriter (compression defaults from the name).
        overwrite: replace an existing set; False raises if any of its files exists.
        manifest: publish the manifest on close (the default).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        shards: int,
        compression: CompressionLike = None,
        *,
        level: int | None = None,
        overwrite: bool = False,
        fsync: bool = True,
        manifest: bool = True,
    ) -> None:
        if not isinstance(shards, int) or shards < 1:
            raise OptionError(f"shards must be at least 1, got {shards!r}", params=("shards",))
        self.path = os.fspath(path)
        self.compression = Compression.for_path(self.path, compression)
        self.names = shard_names(self.path, shards)
        self.manifest_path = manifest_path_for(self.path) if manifest else None
        self._fsync = fsync
        if not overwrite:
            for name in [*self.names, *([self.manifest_path] if self.manifest_path else [])]:
                if paths.exists(name):
                    raise OutputExistsError(
                        "already exists", path=name, hint="pass overwrite=True to replace it",
                        params=("overwrite",),
                    )  # fmt: skip
        self._writers: list[TFRecordWriter] = []
        try:
            for name in self.names:
                self._writers.append(
                    TFRecordWriter(name, self.compression, level=level, fsync=fsync)
                )
        except BaseException:
            self.abort()
            raise
        self._next = 0
        self._closed = False
        self.manifest: Manifest | None = None

    @property
    def records_written(self) -> int:
        return sum(w.records_written + len(w._pending) for w in self._writers)

    def write(self, record: bytes | bytearray | memoryview, shard: int | None = None) -> None:
        """Write one record to `shard`, or to the next shard in turn."""
        if shard is None:
            shard = self._next
            self._next = (shard + 1) % len(self._writers)
        self._writers[shard].write(record)

    def write_many(self, records: Iterable[bytes | bytearray | memoryview]) -> int:
        count = 0
        for record in records:
            self.write(record)
            count += 1
        return count

    def close(self) -> Manifest | None:
        """Publish every shard, then the manifest (its absence marks an unfinished set)."""
        if self._closed:
            return self.manifest
        self._closed = True
        try:
            if self.manifest_path is not None and paths.exists(self.manifest_path):
                paths.remove(self.manifest_path)  # an older set's manifest must not vouch for this
            for writer in self._writers:
                writer.close()
            if self.manifest_path is not None:
                self.manifest = write_manifest(
                    self.manifest_path,
                    [(w.path, w.records_written) for w in self._writers],
                    compression=self.compression.value,
                    fsync=self._fsync,
                )
        except BaseException:
            self.abort()
            raise
        return self.manifest

    def abort(self) -> None:
        """Drop the shards not yet published (published ones stay, without a manifest)."""
        self._closed = True
        for writer in self._writers:
            with contextlib.suppress(Exception):
                writer.abort()

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: Any) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


__all__ = ["ShardedWriter"]
