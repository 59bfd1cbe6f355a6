"""Beam sinks that write whole batches of serialized records as sharded TFRecord files.

Beam's `WriteToTFRecord` takes one record per element, and at a million rows the per-element
bookkeeping costs more than the data. These sinks take a *list* of records per element and
frame them with recordio (C framing, fast GZIP), inside Beam's own file-sink machinery: files
are written under a temporary name and renamed into place when the job finishes, with the
usual `prefix-00000-of-00004.tfrecord.gz` names.

`write_sorted_shards` is the reproducible variant used where byte-identical output matters:
records go to a shard chosen from their key, are sorted inside the shard and written by one
DoFn per shard, so the files do not depend on the runner, bundle layout or worker count.

Imports Beam at the top: only job functions import this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

import apache_beam as beam
from apache_beam.io import filebasedsink
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.iobase import Write

from recordio import Compression, CompressionLike, TFRecordWriter

SHARD_TEMPLATE = "-SSSSS-of-NNNNN"
TFRECORD_SUFFIX = ".tfrecord"


def suffix_for(compression: CompressionLike) -> str:
    """File suffix for a compression: '.tfrecord.gz' for GZIP, '.tfrecord' for none."""
    return TFRECORD_SUFFIX + Compression.coerce(compression).suffix


def shard_name(prefix: str, index: int, count: int, compression: CompressionLike = "GZIP") -> str:
    """The name Beam's default template gives shard `index` of `count`."""
    return f"{prefix}-{index:05d}-of-{count:05d}{suffix_for(compression)}"


class TFRecordBatchSink(filebasedsink.FileBasedSink):
    """A FileBasedSink whose elements are lists of serialized records."""

    def __init__(self, prefix: str, compression: CompressionLike, num_shards: int) -> None:
        super().__init__(
            file_path_prefix=prefix,
            coder=None,
            file_name_suffix=suffix_for(compression),
            num_shards=num_shards,
            shard_name_template=SHARD_TEMPLATE,
            mime_type="application/octet-stream",
            compression_type=CompressionTypes.UNCOMPRESSED,  # recordio compresses
        )
        self.record_compression = Compression.coerce(compression)

    def open(self, temp_path: str) -> Any:
        raw = super().open(temp_path)
        return raw, TFRecordWriter(raw, compression=self.record_compression)

    def write_record(self, file_handle: Any, value: Iterable[bytes]) -> None:
        file_handle[1].write_many(value)

    def close(self, file_handle: Any) -> None:
        raw, writer = file_handle
        try:
            writer.close()
        finally:
            raw.close()


def publish_manifest(prefix: str, names: Iterable[str], *, via_beam: bool | None = None) -> str:
    """Publish `prefix.manifest.json` for the shards `names` (the last step of a job's write).

    Local outputs are written atomically by recordio; remote ones (gs://, s3://, ...) through
    Beam's FileSystems, whose objects appear whole when closed.
    """
    from pipeline._files import is_remote
    from recordio.manifest import manifest_path_for, write_manifest

    names = sorted(names)
    path = manifest_path_for(prefix)
    if via_beam is None:
        via_beam = is_remote(prefix) or any(is_remote(n) for n in names)
    if not via_beam:
        write_manifest(path, [(n, None) for n in names])
        return path
    from recordio.manifest import describe_stream, manifest_bytes

    entries = []
    for name in names:
        with FileSystems.open(name, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            entries.append(describe_stream(name, handle))
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as out:
        out.write(manifest_bytes(entries))
    return path


class _WriteAndPublish(beam.PTransform):
    """Write the shards, then (once every one is in place) their manifest; yields the names."""

    def __init__(self, write: Any, prefix: str) -> None:
        super().__init__()
        self.write = write
        self.prefix = prefix

    def expand(self, pcoll: Any) -> Any:
        names = pcoll | "Write" >> self.write
        _ = (
            names
            | "AllShards" >> beam.combiners.ToList()
            | "PublishManifest"
            >> beam.Map(lambda got, prefix: publish_manifest(prefix, got), self.prefix)  # fmt: skip
        )
        return names


def write_record_batches(
    prefix: str, *, compression: CompressionLike = "GZIP", num_shards: int = 0
) -> Any:
    """A PTransform writing a PCollection of `list[bytes]` as TFRecord shards under `prefix`.

    `num_shards=0` lets the runner choose (one file per worker bundle locally). Returns the
    PCollection of final file names, like Beam's own file sinks; `prefix.manifest.json` is
    published after the last shard.
    """
    return _WriteAndPublish(Write(TFRecordBatchSink(prefix, compression, num_shards)), prefix)


def shard_for_key(key: bytes, num_shards: int) -> int:
    """Stable shard index of a key (sha256, never Python's salted hash)."""
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % num_shards


def write_sorted_shards(
    keyed_records: Any,
    prefix: str,
    *,
    num_shards: int,
    compression: CompressionLike = "GZIP",
    label: str = "WriteSorted",
) -> Any:
    """Write `(sort_key: bytes, record: bytes)` pairs as byte-reproducible TFRecord shards.

    Shard = sha256(sort_key) mod num_shards; records are sorted by (sort_key, record) inside a
    shard. Every shard file is written, empty or not. Returns the PCollection of file names.
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    pipeline = keyed_records.pipeline
    by_shard = keyed_records | f"{label}/AssignShard" >> beam.Map(
        lambda kv: (shard_for_key(kv[0], num_shards), kv)
    )
    every_shard = pipeline | f"{label}/ShardIndices" >> beam.Create(
        [(i, None) for i in range(num_shards)]
    )
    grouped = {"records": by_shard, "shard": every_shard} | f"{label}/GroupByShard" >> (
        beam.CoGroupByKey()
    )
    names = grouped | f"{label}/WriteShard" >> beam.ParDo(
        WriteShardFn(prefix, num_shards, Compression.coerce(compression))
    )
    _ = (
        names
        | f"{label}/AllShards" >> beam.combiners.ToList()
        | f"{label}/PublishManifest" >> beam.Map(lambda got: publish_manifest(prefix, got))
    )
    return names


class WriteShardFn(beam.DoFn):
    """(shard index, {"records": [(sort key, record)], ...}) -> the shard's file name."""

    def __init__(self, prefix: str, num_shards: int, compression: Compression) -> None:
        self.prefix = prefix
        self.num_shards = num_shards
        self.compression = compression

    def process(self, element: Any) -> Iterable[str]:
        index, groups = element
        records = sorted(groups["records"])
        final = shard_name(self.prefix, index, self.num_shards, self.compression)
        temp = f"{final}.tmp-{uuid.uuid4().hex[:12]}"  # unique per attempt (retries)
        raw = FileSystems.create(temp, compression_type=CompressionTypes.UNCOMPRESSED)
        try:
            try:
                with TFRecordWriter(raw, compression=self.compression) as writer:
                    writer.write_many(record for _, record in records)
            finally:
                raw.close()
        except BaseException:  # no half-written temp file left next to the shards
            with contextlib.suppress(Exception):
                FileSystems.delete([temp])
            raise
        if FileSystems.exists(final):
            FileSystems.delete([final])
        FileSystems.rename([temp], [final])
        yield final
