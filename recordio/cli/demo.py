"""`recio demo`: the main job on built-in data."""

from __future__ import annotations

from typing import Annotated

import typer

from recordio.cli import _console


def demo(
    workdir: Annotated[str, typer.Option(help="Folder for the demo's files.")] = "recio-demo",
    records: Annotated[int, typer.Option(min=10, help="How many records to make.")] = 10_000,
    shards: Annotated[int, typer.Option(min=1, help="How many GZIP shards to write.")] = 4,
) -> None:
    """Make a sample data set, write it as sharded GZIP TFRecords, read it back and verify it.

    Example: recio demo --workdir /tmp/recio-demo --records 20000
    """
    from recordio.demo import run_recordio_demo

    summary = run_recordio_demo(workdir, records, shards)
    ratio = summary.file_bytes / max(summary.payload_bytes, 1)
    _console.info(
        f"wrote {summary.records:,} Examples to {len(summary.files)} GZIP shards "
        f"({summary.file_bytes / 1e6:.1f} MB, {ratio:.2f} of the payload) "
        f"in {summary.write_seconds:.2f} s"
    )
    _console.info(
        f"read back and decoded {summary.records:,} records in {summary.read_seconds:.2f} s: "
        "identical to what was written"
    )
    if not summary.verified:
        _console.abort("verify found damage in the demo's own files", _console.EXIT_DAMAGED)
    _console.info(f"verify: {len(summary.files)} files clean; shards in {summary.files[0]} ...")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
