"""Check whole files and report every damaged region, not just the first.

Used by `recio verify`: it reads each file to its end with the salvaging reader, so one bad
record does not hide the state of the rest of the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from recordio._salvage import Damage
from recordio.compression import CompressionLike
from recordio.errors import RecordIOError
from recordio.paths import getsize
from recordio.reader import DEFAULT_MAX_RECORD_BYTES, TFRecordReader


@dataclass(slots=True)
class VerifyReport:
    """What verify_file found in one file."""

    path: str
    compression: str | None = None
    records: int = 0
    payload_bytes: int = 0
    file_bytes: int = 0
    issues: list[Damage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def verify_file(
    path: str | os.PathLike[str],
    compression: CompressionLike = None,
    *,
    strict: bool = True,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Read a file to its end, checking every CRC; collect each damaged region.

    Errors that stop the whole file (unreadable, wrong compression, a damaged compressed
    stream) are recorded as an issue too, so a caller can report many files in one pass.
    `progress` gets the number of records read so far, now and then.
    """
    report = VerifyReport(path=os.fspath(path))
    try:
        report.file_bytes = getsize(os.fspath(path))
    except OSError as error:
        report.issues.append(
            Damage(0, 0, None, "unreadable", f"{report.path}: {error.strerror or error}")
        )
        return report
    try:
        reader = TFRecordReader(
            path,
            compression,
            strict=strict,
            max_record_bytes=max_record_bytes,
            on_damage=report.issues.append,
        )
    except RecordIOError as error:
        report.issues.append(Damage(0, error.offset or 0, None, error.kind, str(error)))
        return report
    except OSError as error:
        report.issues.append(
            Damage(0, 0, None, "unreadable", f"{report.path}: {error.strerror or error}")
        )
        return report
    report.compression = reader.compression.value
    try:
        for batch in reader.iter_batches(4096):
            report.records += len(batch)
            report.payload_bytes += sum(map(len, batch))
            if progress is not None:
                progress(report.records)
    except RecordIOError as error:
        # A damaged compressed stream cannot be read past: the rest of the file is lost.
        report.issues.append(Damage(reader.index, error.offset or 0, None, error.kind, str(error)))
    return report


def verify_folder(folder: str, **options: Any) -> tuple[list[VerifyReport], Any]:
    """Every record file of `folder` (verify_file) and its shard sets (manifest.check_folder).

    The folder is whole only when every report and the set report are ok.
    """
    from recordio.files import record_files
    from recordio.manifest import check_folder

    reports = [verify_file(path, **options) for path in record_files(folder)]
    sets = check_folder(folder, {r.path: r.records for r in reports if r.ok})
    return reports, sets


__all__ = ["VerifyReport", "verify_file", "verify_folder"]
