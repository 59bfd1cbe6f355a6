"""Recover the intact records of a damaged file into a new file: `recio recover IN OUT`.

Reads with salvage (the reader resyncs at the next position where both CRCs verify, or at the
next gzip member), keeps every intact record in order, never invents one, and reports each
skipped region. The output is written atomically, never over its input, and never over an
existing file unless asked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from recordio._salvage import Damage
from recordio.compression import Compression, CompressionLike
from recordio.errors import OptionError, RecordIOError
from recordio.reader import DEFAULT_MAX_RECORD_BYTES, TFRecordReader
from recordio.writer import TFRecordWriter

DEFAULT_MAX_REGIONS = 10_000


class TooMuchDamageError(RecordIOError):
    """More damaged regions than `max_regions`: probably not a TFRecord file at all."""

    @property
    def kind(self) -> str:
        return "too_much_damage"


@dataclass(slots=True)
class RecoverReport:
    """What recover_file kept and what it skipped."""

    source: str
    target: str
    records: int = 0
    regions: list[Damage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.regions

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def salvage_records(
    path: str | os.PathLike[str],
    compression: CompressionLike = None,
    *,
    on_damage: Callable[[Damage], None],
    max_regions: int = DEFAULT_MAX_REGIONS,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Iterator[bytes]:
    """Every intact record of a damaged file, in order; `on_damage` gets each skipped region.
    Raises TooMuchDamageError past `max_regions` regions."""
    if max_regions < 1:
        raise OptionError(f"max_regions must be >= 1, got {max_regions}", params=("max_regions",))
    seen = 0
    name = os.fspath(path)

    def counted(damage: Damage) -> None:
        nonlocal seen
        seen += 1
        if seen > max_regions:
            raise TooMuchDamageError(
                f"more than {max_regions} damaged regions",
                path=name,
                hint="is this a TFRecord file? raise max_regions to read on",
                params=("max_regions",),
            )
        on_damage(damage)

    reader = TFRecordReader(
        name,
        compression,
        strict=True,
        max_record_bytes=max_record_bytes,
        on_damage=counted,
    )
    with reader:
        try:
            for batch in reader.iter_batches(4096):
                yield from batch
        except TooMuchDamageError:
            raise
        except RecordIOError as error:  # nothing can be read past it: one last region
            counted(Damage(reader.index, error.offset or 0, None, error.kind, str(error)))


def recover_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    compression: CompressionLike = None,
    *,
    output_compression: CompressionLike = None,
    overwrite: bool = False,
    max_regions: int = DEFAULT_MAX_REGIONS,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> RecoverReport:
    """Copy the intact records of `source` into `target` (atomically); returns the report.

    `output_compression` defaults to the input's. `target` must not be `source`, and must not
    exist unless `overwrite`.
    """
    src, dst = os.fspath(source), os.fspath(target)
    if not os.path.exists(src):
        raise RecordIOError("no such file", path=src)
    if os.path.exists(dst):
        if os.path.samefile(src, dst):
            raise OptionError(
                "the output is the input file",
                path=dst,
                hint="write the recovered records to a new file",
                params=("target",),
            )
        if not overwrite:
            raise OptionError(
                "file exists",
                path=dst,
                hint="pass overwrite=True to replace it",
                params=("overwrite",),
            )
    elif os.path.realpath(src) == os.path.realpath(dst):  # pragma: no cover - racy
        raise OptionError("the output is the input file", path=dst, params=("target",))
    report = RecoverReport(source=src, target=dst)
    with TFRecordReader(src, compression) as probe:
        codec = probe.compression
    out_codec = Compression.parse(output_compression) or codec
    with TFRecordWriter(dst, out_codec) as writer:
        for record in salvage_records(
            src,
            codec,
            on_damage=report.regions.append,
            max_regions=max_regions,
            max_record_bytes=max_record_bytes,
        ):
            writer.write(record)
            report.records += 1
    return report


__all__ = [
    "DEFAULT_MAX_REGIONS",
    "RecoverReport",
    "TooMuchDamageError",
    "recover_file",
    "salvage_records",
]
