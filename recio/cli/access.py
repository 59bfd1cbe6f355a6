"""`recio index`, `recio count`, `recio recover`: record indexes, counts and salvage.

Each is a thin layer over one recordio call (index_file, count_records, recover_file).
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from recio.cli import _console
from recio.cli._options import MaxRecordBytes, ReadCompression
from recordio.reader import DEFAULT_MAX_RECORD_BYTES

Files = Annotated[
    list[str], typer.Argument(metavar="FILE", help="TFRecord files, globs or folders.")
]
MaxRegions = Annotated[
    int,
    typer.Option("--max-regions", min=1, help="Give up after this many damaged regions."),
]


def _expand(patterns: list[str]) -> list[str]:
    from recordio.files import expand_paths
    from recordio.index import INDEX_SUFFIX

    paths = expand_paths(patterns)
    if "-" in paths:
        _console.abort("this command needs files, not stdin ('-')", _console.EXIT_USAGE)
    # A glob such as 'x*.tfrecord*' also matches the index sidecars: they are not record files.
    return [p for p in paths if not (p.endswith(INDEX_SUFFIX) and p[: -len(INDEX_SUFFIX)] in paths)]


def index(
    files: Files,
    compression: ReadCompression = None,
    lenient: Annotated[
        bool,
        typer.Option("--lenient", help="Ignore a partial header at the end, as TensorFlow does."),
    ] = False,
    max_record_bytes: MaxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
) -> None:
    """Write FILE.idx beside each file: where every record (and gzip member) starts.

    The index makes `recio count` O(1) and lets readers fetch records at random. It records the
    file's size, mtime and a hash of its first and last 64 KiB; a changed file makes it stale,
    and a stale index is refused, never used. Rerun to refresh it.

    Example: recio index 'data/train-*.tfrecord.gz'
    """
    from recordio.index import index_file, index_path

    for path in _expand(files):
        built = index_file(path, compression, strict=not lenient, max_record_bytes=max_record_bytes)
        members = f", {built.member_count} gzip members" if built.member_count else ""
        _console.info(f"{index_path(path)}: {len(built)} records{members}")


def count(
    files: Files,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    compression: ReadCompression = None,
    no_index: Annotated[
        bool, typer.Option("--no-index", help="Ignore FILE.idx sidecars; scan the headers.")
    ] = False,
    max_record_bytes: MaxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
) -> None:
    """Count the records of each file, and in all.

    O(1) with a FILE.idx index (a stale one is refused); recio's GZIP is counted from its
    member headers; anything else by a scan of the record headers (data CRCs not checked: use
    `recio verify` for that).

    Example: recio count 'data/*.tfrecord.gz' --json
    """
    from recordio.index import count_records

    counts = {
        path: count_records(
            path, compression, use_sidecar=not no_index, max_record_bytes=max_record_bytes
        )
        for path in _expand(files)
    }
    total = sum(counts.values())
    if as_json:
        typer.echo(json.dumps({"files": counts, "total": total}))
        return
    for path, records in counts.items():
        typer.echo(f"{records}\t{path}")
    if len(counts) > 1:
        typer.echo(f"{total}\ttotal")


def recover(
    source: Annotated[str, typer.Argument(metavar="IN", help="A damaged TFRecord file.")],
    target: Annotated[str, typer.Argument(metavar="OUT", help="The new file to write.")],
    compression: ReadCompression = None,
    output_compression: Annotated[
        str | None,
        typer.Option(
            "--output-compression",
            help="Compression of OUT. Default: the same as IN.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUT if it exists.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    max_regions: MaxRegions = 10_000,
    max_record_bytes: MaxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
) -> None:
    """Copy every intact record of a damaged file into a new file.

    After damage, reading resyncs at the next position where both CRCs verify (or the next
    gzip member), keeps every intact record in order and never invents one. Each skipped region
    is listed on stderr. OUT is written atomically, never over IN, and never over an existing
    file without --overwrite. Exit status: 0 when nothing was damaged, 3 when regions were
    skipped (OUT then holds the intact records).

    Example: recio recover broken.tfrecord.gz fixed.tfrecord.gz
    """
    from recordio.recover import recover_file

    if not os.path.exists(source):
        _console.abort(f"{source}: no such file")
    report = recover_file(
        source,
        target,
        compression,
        output_compression=output_compression,
        overwrite=overwrite,
        max_regions=max_regions,
        max_record_bytes=max_record_bytes,
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        for region in report.regions:
            _console.info(describe_region(region))
        _console.info(
            f"{target}: {report.records} records kept, {len(report.regions)} damaged regions"
            " skipped"
        )
    if report.regions:
        raise typer.Exit(_console.EXIT_DAMAGED)


def describe_region(region: object) -> str:
    """One line for a skipped region: where it starts and ends, and why. (A damaged gzip member
    is read as far as it inflates; its records are then checked one by one.)"""
    offset = getattr(region, "offset", None)
    end = getattr(region, "end", None)
    compressed = getattr(region, "compressed_offset", None)
    if compressed is not None:
        stop = getattr(region, "compressed_end", None)
        span = f"a damaged gzip member, compressed bytes {compressed}-{stop}"
    else:
        span = f"bytes {offset}-{'end' if end is None else end}"
    return f"skipped {span} ({getattr(region, 'kind', '?')}): {getattr(region, 'message', '')}"


def register(app: typer.Typer) -> None:
    """Add index, count and recover to the root app."""
    app.command("index")(index)
    app.command("count")(count)
    app.command("recover")(recover)


__all__ = ["count", "describe_region", "index", "recover", "register"]
