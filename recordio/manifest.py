"""Shard sets published as a whole: the manifest written last, and the check of a folder.

A sharded write renames its shards into place one by one; a writer killed half-way leaves some
shards under their final names, and nothing in the TFRecord format says that others are missing.
So a sharded write ends by publishing `NAME.manifest.json` (atomically, after every shard):
each shard's name, records, bytes and CRC32C. A set with its manifest is complete; shards
without one, or that differ from their manifest, are not. A manifest also catches the one damage
the format cannot show: a shard cut exactly at a record boundary (fewer records, fewer bytes).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

import google_crc32c

from recordio import paths
from recordio.errors import RecordIOError
from recordio.names import is_record_file, split_record_suffix

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "recio.manifest"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20
# Temporary files of recordio writers (`.x.tfrecord.tmp-123-abcd`) and of the Beam shard
# writer (`x-00000-of-00004.tfrecord.gz.tmp-0123456789ab`).
_TEMP_NAME = re.compile(r"^\..+\.tmp-\d+-[0-9a-f]+$|\.tmp-[0-9a-f]{12}$")
_SHARD = re.compile(r"^(?P<stem>.*)-(?P<index>\d{5})-of-(?P<total>\d{5})(?P<suffix>.*)$")


def is_manifest(name: str) -> bool:
    """Whether a file name is a shard set's manifest (never read as records)."""
    return os.path.basename(name).endswith(MANIFEST_SUFFIX)


def is_temp_file(name: str) -> bool:
    """Whether a file name is a writer's leftover temporary file."""
    return bool(_TEMP_NAME.search(os.path.basename(name)))


def manifest_path_for(path: str) -> str:
    """The manifest of the set `shard_names(path, n)` writes: `out/x.tfrecord.gz` ->
    `out/x.manifest.json` (a Beam prefix `out/train` -> `out/train.manifest.json`)."""
    stem, _ = split_record_suffix(path)
    return stem + MANIFEST_SUFFIX


@dataclass(frozen=True, slots=True)
class ShardEntry:
    """One shard as its manifest describes it (name relative to the manifest's folder)."""

    name: str
    records: int
    bytes: int
    crc32c: str


@dataclass(slots=True)
class Manifest:
    """A parsed manifest: where it is and the shards it lists, in order."""

    path: str
    shards: list[ShardEntry]
    compression: str | None = None

    @property
    def records(self) -> int:
        return sum(s.records for s in self.shards)

    def paths(self) -> list[str]:
        """The shard files, as paths next to the manifest."""
        folder = paths.dirname(self.path)
        return [paths.join(folder, s.name) for s in self.shards]


def file_crc32c(path: str) -> tuple[int, str]:
    """(size, CRC32C as 8 hex digits) of a file's bytes."""
    crc = 0
    size = 0
    with paths.open_read(path) as handle:
        while chunk := handle.read(_CHUNK):
            crc = google_crc32c.extend(crc, chunk)
            size += len(chunk)
    return size, f"{crc:08x}"


def describe_stream(name: str, file: BinaryIO) -> ShardEntry:
    """A manifest entry from an open file (e.g. a Beam FileSystems handle): one pass counts its
    records and sums its CRC32C."""
    from recordio.reader import TFRecordReader

    class _Tap:
        """Passes reads through, summing the bytes' size and CRC32C on the way."""

        def __init__(self) -> None:
            self.crc = 0
            self.size = 0
            self.name = name

        def read(self, n: int = -1) -> bytes:
            data = file.read(n)
            self.crc = google_crc32c.extend(self.crc, data)
            self.size += len(data)
            return data

        def readable(self) -> bool:
            return True

    tap = _Tap()
    with TFRecordReader(tap) as reader:  # type: ignore[arg-type]
        records = sum(len(b) for b in reader.iter_batches(8192))
    while tap.read(_CHUNK):  # bytes after the last record (none in a valid file)
        pass
    return ShardEntry(os.path.basename(name), records, tap.size, f"{tap.crc:08x}")


def manifest_bytes(entries: Sequence[ShardEntry], compression: str | None = None) -> bytes:
    """The manifest document for `entries` (what write_manifest publishes)."""
    document = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "compression": compression,
        "records": sum(e.records for e in entries),
        "shards": [asdict(e) for e in entries],
    }
    return (json.dumps(document, indent=1) + "\n").encode()


def describe_shard(path: str, records: int | None = None) -> ShardEntry:
    """A manifest entry for a file on disk (records counted by reading it when not given)."""
    if records is None:
        from recordio.reader import TFRecordReader

        with TFRecordReader(path) as reader:
            records = sum(len(b) for b in reader.iter_batches(8192))
    size, crc = file_crc32c(path)
    return ShardEntry(os.path.basename(path), records, size, crc)


def write_manifest(
    path: str,
    shards: Sequence[tuple[str, int | None]],
    *,
    compression: str | None = None,
    fsync: bool = True,
) -> Manifest:
    """Describe `shards` ((path, records) pairs, all in the manifest's folder) and publish the
    manifest at `path` atomically: the last step of a sharded write."""
    from recordio.writer import write_bytes_atomic

    folder = _folder_of(path)
    entries = []
    for shard, records in shards:
        if _folder_of(shard) != folder:
            raise RecordIOError("a shard set's files must sit in the manifest's folder", path=shard)
        entries.append(describe_shard(shard, records))
    manifest = Manifest(path, entries, compression)
    text = manifest_bytes(entries, compression)
    write_bytes_atomic(path, text, fsync=fsync)
    return manifest


def _folder_of(path: str) -> str:
    return paths.dirname(path) if paths.is_url(path) else os.path.dirname(os.path.abspath(path))


def read_manifest(path: str) -> Manifest:
    """Parse a manifest; raises RecordIOError when it is not one."""
    try:
        with paths.open_read(path) as handle:
            document = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raise RecordIOError("no such manifest", path=path) from None
    except (OSError, ValueError) as error:
        raise RecordIOError(f"not a readable manifest ({error})", path=path) from None
    if not isinstance(document, Mapping) or document.get("format") != MANIFEST_FORMAT:
        raise RecordIOError("not a recio shard-set manifest", path=path)
    try:
        shards = [
            ShardEntry(str(s["name"]), int(s["records"]), int(s["bytes"]), str(s["crc32c"]))
            for s in document["shards"]
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise RecordIOError(f"manifest entry without {error}", path=path) from None
    if any(os.path.basename(s.name) != s.name for s in shards):
        raise RecordIOError("manifest names a file outside its folder", path=path)
    return Manifest(path, shards, document.get("compression"))


# =========================================================================== checking a folder


@dataclass(frozen=True, slots=True)
class SetIssue:
    """Something that makes a folder's shard sets incomplete: `kind` is stable for reports."""

    kind: str  # leftover_temp, unpublished_shards, missing_shard, changed_shard, bad_manifest
    # (and, as a note only, unmanifested_set)
    path: str
    message: str


@dataclass(slots=True)
class SetReport:
    """What check_folder found: the manifests, the issues, and the shards it vouches for."""

    folder: str
    manifests: list[str] = field(default_factory=list)
    issues: list[SetIssue] = field(default_factory=list)
    # Worth saying but not a fault: a set complete by its names that no manifest lists (as TF,
    # Beam and older writers leave them); its shards are checked as files, not as a set.
    notes: list[SetIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "ok": self.ok,
            "manifests": self.manifests,
            "issues": [asdict(i) for i in self.issues],
            "notes": [asdict(i) for i in self.notes],
        }


def check_manifest(
    manifest: Manifest, records_of: Mapping[str, int] | None = None
) -> list[SetIssue]:
    """Compare a manifest with the files: each must exist with its bytes, CRC32C and records.

    `records_of` (path -> records read) saves a second read when the caller read the files.
    """
    issues = []
    for entry, path in zip(manifest.shards, manifest.paths(), strict=True):
        if not paths.isfile(path):
            issues.append(SetIssue("missing_shard", path, f"{path}: listed in "
                                   f"{manifest.path} but missing"))  # fmt: skip
            continue
        size, crc = file_crc32c(path)
        records = (records_of or {}).get(path)
        if records is None and size == entry.bytes and crc == entry.crc32c:
            records = entry.records  # same bytes: same records
        if records is None:
            try:
                records = describe_shard(path).records
            except RecordIOError:
                records = -1  # damaged: verify_file reports where
        changes = []
        if records != entry.records:
            got = "unreadable" if records < 0 else f"{records:,}"
            changes.append(f"{got} records, manifest says {entry.records:,}")
        if size != entry.bytes:
            changes.append(f"{size:,} bytes, manifest says {entry.bytes:,}")
        elif crc != entry.crc32c:
            changes.append(f"CRC32C {crc}, manifest says {entry.crc32c}")
        if changes:
            cut = size < entry.bytes and records < entry.records
            what = "cut short" if cut else "changed since its manifest was written"
            issues.append(SetIssue("changed_shard", path, f"{path}: {what} ({'; '.join(changes)})"))
    return issues


def _shard_groups(names: Iterable[str]) -> dict[tuple[str, str, int], set[int]]:
    groups: dict[tuple[str, str, int], set[int]] = {}
    for name in names:
        match = _SHARD.match(name)
        if match:
            key = (match["stem"], match["suffix"], int(match["total"]))
            groups.setdefault(key, set()).add(int(match["index"]))
    return groups


def check_folder(folder: str, records_of: Mapping[str, int] | None = None) -> SetReport:
    """Leftover temporary files, and shard sets that are not published whole, in `folder`.

    Shard-named files (`x-00001-of-00004...`) must be listed by a manifest in the folder; every
    manifest's shards must be there, unchanged.
    """
    report = SetReport(folder)
    names = sorted(paths.listdir(folder))
    listed: set[str] = set()
    for name in names:
        path = paths.join(folder, name)
        if is_temp_file(name):
            report.issues.append(SetIssue("leftover_temp", path, f"{path}: a writer's temporary "
                                          "file (a write was interrupted); remove it"))  # fmt: skip
        elif is_manifest(name):
            report.manifests.append(path)
            try:
                manifest = read_manifest(path)
            except RecordIOError as error:
                report.issues.append(SetIssue("bad_manifest", path, str(error)))
                continue
            listed.update(s.name for s in manifest.shards)
            report.issues.extend(check_manifest(manifest, records_of))
    unlisted = [n for n in names if n not in listed and is_record_file(n)]
    for (stem, suffix, total), indices in sorted(_shard_groups(unlisted).items()):
        pattern = paths.join(folder, f"{stem}-*-of-{total:05d}{suffix}")
        missing = total - len(indices)
        if missing == 0 and not any(i.kind == "bad_manifest" for i in report.issues):
            report.notes.append(SetIssue(
                "unmanifested_set", pattern,
                f"{pattern}: all {total} shards, without a manifest (as TensorFlow and Beam "
                "write them): each shard is checked, the set's record counts cannot be",
            ))  # fmt: skip
            continue
        gap = f", {missing} of {total} missing" if missing > 0 else ""
        report.issues.append(SetIssue(
            "unpublished_shards", pattern,
            f"{pattern}: {len(indices)} shard{'s' * (len(indices) != 1)} without a manifest"
            f"{gap}: the set may be incomplete (a write did not finish)",
        ))  # fmt: skip
    return report


__all__ = [
    "MANIFEST_SUFFIX",
    "Manifest",
    "SetIssue",
    "SetReport",
    "ShardEntry",
    "check_folder",
    "check_manifest",
    "describe_shard",
    "describe_stream",
    "file_crc32c",
    "is_manifest",
    "is_temp_file",
    "manifest_bytes",
    "manifest_path_for",
    "read_manifest",
    "write_manifest",
]
