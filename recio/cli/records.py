"""`recio write`, `recio read`, `recio verify`: each a thin layer over one recordio call.

rich is imported inside the functions that draw tables or progress bars, so `recio --help` and
`recio verify` stay fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

import typer

from recio.cli import _console
from recio.cli._options import MaxRecordBytes, ReadCompression
from recordio.manifest import MANIFEST_SUFFIX
from recordio.reader import DEFAULT_MAX_RECORD_BYTES

PROGRESS_BYTES = 64 << 20  # show a progress bar when verifying more than this (and on a TTY)


class InputFormat(StrEnum):
    auto = "auto"
    jsonl = "jsonl"
    csv = "csv"


class OutputFormat(StrEnum):
    json = "json"
    table = "table"


Lenient = Annotated[
    bool,
    typer.Option(
        "--lenient",
        help="Read what TensorFlow reads: ignore a partial header at the end of the file, a "
        "compressed stream without its trailer and data after a ZLIB stream.",
    ),
]


def _refuse_terminal_stdin(paths: list[str]) -> None:
    if "-" in paths and sys.stdin.isatty():
        _console.abort("no input: stdin is a terminal; give a file name or pipe data in")


def write(
    out: Annotated[str, typer.Argument(metavar="OUT", help="File to write; '-' writes to stdout.")],
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="INPUT",
            help="JSON Lines / CSV / text files or globs; '-' or none reads stdin.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        InputFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="auto: CSV for .csv names, else JSON Lines.",
        ),
    ] = InputFormat.auto,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw", help="One record per input line: the line's bytes without the newline."
        ),
    ] = False,
    b64: Annotated[
        bool,
        typer.Option("--base64", help="One base64-encoded record per line (implies --raw)."),
    ] = False,
    compression: Annotated[
        str | None,
        typer.Option(
            "--compression",
            "-c",
            help="NONE, GZIP or ZLIB (any case). Default: GZIP for a .gz name, else NONE.",
            show_default=False,
        ),
    ] = None,
    level: Annotated[
        int | None,
        typer.Option(
            "--level",
            min=0,
            max=9,
            help="zlib level 0-9 (6 = TensorFlow's size). Default: fast deflate.",
            show_default=False,
        ),
    ] = None,
    shards: Annotated[
        int,
        typer.Option(
            "--shards",
            min=1,
            help="Spread records round-robin over N files: out.tfrecord.gz ->"
            " out-00000-of-0000N.tfrecord.gz, ...",
        ),
    ] = 1,
    delimiter: Annotated[
        str, typer.Option("--delimiter", help="CSV cell separator (one character), e.g. ';'.")
    ] = ",",
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace OUT if it exists (never one of the inputs)."),
    ] = False,
) -> None:
    """Write TFRecords of tf.train.Examples from JSON Lines or CSV, or raw records from lines.

    JSON Lines: each object becomes an Example; ints become int64, floats float, strings bytes
    (UTF-8), booleans int64, and lists of those; {"base64": "..."} is a bytes value; null or a
    missing key leaves the feature out. One type per feature over the whole input.

    CSV (a header row, then data): a column is int64 when every non-empty cell is an integer,
    else float when every one is a number, else bytes; empty cells are left out.

    A .gz output name means GZIP unless --compression says otherwise. An existing OUT is
    replaced only with --overwrite (atomically: the old file stays until the new one is
    complete), and never when it is one of the inputs. Prints one summary line on stderr.

    Example: recio write train.tfrecord.gz rows.jsonl --shards 4
    """
    from recordio.convert import text_to_tfrecords

    if raw or b64:
        if fmt is not InputFormat.auto:
            _console.abort(f"--raw/--base64 read lines as records; drop --format {fmt.value}")
        fmt_name = "base64" if b64 else "raw"
    else:
        fmt_name = fmt.value
    paths = _expand(inputs or ["-"], folders=False)
    _refuse_terminal_stdin(paths)
    if out == "-" and sys.stdout.isatty():
        _console.abort("refusing to write binary TFRecords to a terminal; redirect stdout")
    summary = text_to_tfrecords(
        out,
        paths,
        fmt=fmt_name,
        compression=compression,
        level=level,
        shards=shards,
        overwrite=overwrite,
        delimiter=delimiter,
    )
    _console.info(summary.line())


def read(
    files: Annotated[
        list[str],
        typer.Argument(metavar="FILE", help="TFRecord files or globs; '-' reads stdin."),
    ],
    fmt: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="json: one JSON object per line; table: a table (first 20 records by default).",
        ),
    ] = OutputFormat.json,
    raw: Annotated[
        bool, typer.Option("--raw", help="Print each record's bytes as one base64 line.")
    ] = False,
    sequence: Annotated[
        bool, typer.Option("--sequence", help="Decode records as tf.train.SequenceExamples.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=0, help="Stop after this many records.", show_default=False
        ),
    ] = None,
    skip: Annotated[int, typer.Option("--skip", min=0, help="Skip this many records first.")] = 0,
    compression: ReadCompression = None,
    lenient: Lenient = False,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Do not check the CRCs (faster, but unsafe).")
    ] = False,
    max_record_bytes: MaxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
    salvage: Annotated[
        bool,
        typer.Option(
            "--salvage",
            help="Read past damage: skip to the next intact record (or gzip member), list each "
            "skipped region on stderr, exit 3 at the end.",
        ),
    ] = False,
) -> None:
    """Print the records of TFRecord files, decoded from tf.train.Example.

    Each record prints as one JSON object {feature: [values]}: int64 and float values as
    numbers (floats always with a '.' or exponent), bytes as a string when they are UTF-8, else
    as {"base64": "..."}. `recio write` reads this form back, so read | write copies Examples.
    --skip and --limit count records over all files together.

    Example: recio read 'data/train-*.tfrecord.gz' --limit 3 | jq .
    """
    from recordio.convert import tfrecords_to_json

    paths = _expand(files)
    _refuse_terminal_stdin(paths)
    _DAMAGE_SEEN.clear()
    table = fmt is OutputFormat.table
    if table and raw:
        _console.abort("--raw prints base64 lines; drop --format table")
    shown = 20 if table and limit is None else limit
    rows = tfrecords_to_json(
        paths,
        raw=raw,
        sequence=sequence,
        skip=skip,
        # A table asks for one record more than it shows, to know whether it was cut.
        limit=shown + 1 if table and shown is not None else shown,
        compression=compression,
        strict=not lenient,
        verify=not no_verify,
        max_record_bytes=max_record_bytes,
        on_damage=_report_damage if salvage else None,
    )
    if table:
        _print_table(rows, shown, more_hint=limit is None)
    else:
        _print_lines(rows, raw=raw)
    if _DAMAGE_SEEN:
        raise typer.Exit(_console.EXIT_DAMAGED)


_DAMAGE_SEEN: list[object] = []
MAX_SALVAGE_REGIONS = 10_000


def _report_damage(path: str, region: object) -> None:
    """--salvage: one line per skipped region, on stderr; give up past MAX_SALVAGE_REGIONS."""
    from recio.cli.access import describe_region
    from recordio.recover import TooMuchDamageError

    _DAMAGE_SEEN.append(region)
    if len(_DAMAGE_SEEN) > MAX_SALVAGE_REGIONS:
        raise TooMuchDamageError(
            f"more than {MAX_SALVAGE_REGIONS} damaged regions",
            path=path,
            hint="is this a TFRecord file?",
        )
    _console.info(f"{path}: {describe_region(region)}")


def verify(
    files: Annotated[
        list[str], typer.Argument(metavar="FILE", help="TFRecord files, globs or folders.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
    compression: ReadCompression = None,
    lenient: Lenient = False,
    max_record_bytes: MaxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
) -> None:
    """Check every record of every file and report each damaged region.

    Reads each file to its end (it does not stop at the first problem) and lists, per file, the
    records and bytes read and every damaged region: record index, byte offset, what failed.
    A folder (or a NAME.manifest.json) is also checked as shard sets: leftover temporary files
    of an interrupted write, shards without a manifest (a sharded write that did not finish),
    and shards missing, changed or cut short (even at a record boundary) since their manifest.
    Exit status: 0 when every file is clean and every set complete, 3 otherwise.

    Example: recio verify 'data/*.tfrecord.gz' --json
    """
    from recordio.compression import Compression
    from recordio.verify import verify_file

    codec = Compression.parse(compression)  # a bad name is a usage error, not damage
    from recordio import paths as storage

    set_args = [f for f in files if f.endswith(MANIFEST_SUFFIX) or storage.isdir(f)]
    # A folder holding only a killed writer's debris still gets its set check.
    readable = [f for f in files if not (f in set_args and _only_debris(f))]
    expanded = _expand(readable) if readable or not set_args else []
    _refuse_terminal_stdin(expanded)
    paths = ["/dev/stdin" if p == "-" else p for p in expanded]  # verify_file takes paths
    with _VerifyProgress(paths) as progress:
        reports = [
            verify_file(
                path,
                codec,
                strict=not lenient,
                max_record_bytes=max_record_bytes,
                progress=progress.callback(path),
            )
            for path in paths
        ]
    for report in reports:
        if report.path == "/dev/stdin":
            report.path = "<stdin>"
    sets = _check_sets(set_args, {r.path: r.records for r in reports if r.ok})
    if as_json:
        _print_verify_json(reports, sets)
    else:
        _print_verify_tables(reports)
        _print_set_issues(sets)
    if not all(report.ok for report in reports) or not all(s.ok for s in sets):
        raise typer.Exit(_console.EXIT_DAMAGED)


def register(app: typer.Typer) -> None:
    """Add write, read and verify to the root app."""
    app.command("write")(write)
    app.command("read")(read)
    app.command("verify")(verify)


# =========================================================================== output helpers


def _expand(patterns: list[str], *, folders: bool = True) -> list[str]:
    from recordio.files import expand_paths

    return expand_paths(patterns, folders=folders)


def _print_lines(rows: Iterable[Any], *, raw: bool) -> None:
    """JSON Lines (or base64 lines) to stdout, UTF-8, in large writes.

    Lines already decoded are printed even when a later record fails, as a reader would see them.
    """
    out = sys.stdout.buffer
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    batch: list[str] = []

    def drain() -> None:
        if batch:
            out.write(("\n".join(batch) + "\n").encode())
            batch.clear()

    try:
        try:
            for row in rows:
                batch.append(row if raw else dumps(row))
                if len(batch) >= 512:
                    drain()
        finally:
            drain()
            out.flush()
    except BrokenPipeError:
        # `recio read ... | head`: the reader went away, which is not a failure.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


def _cell(values: Any) -> str:
    if isinstance(values, dict):  # a SequenceExample's parts, or a base64 bytes value
        return json.dumps(values, ensure_ascii=False)
    if isinstance(values, list):
        return ", ".join(_cell(v) for v in values) if len(values) != 1 else _cell(values[0])
    return str(values)


def _print_table(rows: Iterable[dict[str, Any]], shown: int | None, *, more_hint: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    records = list(rows)
    cut = shown is not None and len(records) > shown
    records = records[:shown]
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    table = Table(*columns, show_lines=False)
    for record in records:
        table.add_row(*(_cell(record[c]) if c in record else "" for c in columns))
    # On a terminal the table fits its width; into a file or pipe nothing is cut.
    Console(soft_wrap=False, width=None if sys.stdout.isatty() else 100_000).print(table)
    if cut and more_hint:
        _console.info(f"(first {shown} records; --limit N shows more)")


def _only_debris(folder: str) -> bool:
    """A folder without record files but with a writer's temporary files."""
    from recordio import paths as storage
    from recordio.files import record_files
    from recordio.manifest import is_temp_file

    if folder.endswith(MANIFEST_SUFFIX):
        return False
    return not record_files(folder) and any(map(is_temp_file, storage.listdir(folder)))


def _check_sets(args: list[str], records_of: dict[str, int]) -> list[Any]:
    """The set report of each folder argument, and of each manifest named directly."""
    from recordio import paths as storage
    from recordio.manifest import SetReport, check_folder, check_manifest, read_manifest

    out = []
    for arg in args:
        if not arg.endswith(MANIFEST_SUFFIX):
            out.append(check_folder(arg, records_of))
        else:
            report = SetReport(storage.dirname(arg) or ".", manifests=[arg])
            report.issues.extend(check_manifest(read_manifest(arg), records_of))
            out.append(report)
    return out


def _print_set_issues(sets: list[Any]) -> None:
    lines = []
    for report in sets:
        lines += [f"INCOMPLETE SET ({issue.kind}): {issue.message}" for issue in report.issues]
        lines += [f"NOTE ({note.kind}): {note.message}" for note in report.notes]
        if report.ok and report.manifests:
            named = ", ".join(os.path.basename(m) for m in report.manifests)
            lines.append(f"{report.folder}: shard sets complete ({named})")
    problems = sum(len(r.issues) for r in sets)
    if problems:
        lines.append(f"{problems} shard-set problem{'s' * (problems != 1)}: not complete")
    sys.stdout.write("".join(line + "\n" for line in lines))


def _print_verify_json(reports: list[Any], sets: Iterable[Any] = ()) -> None:
    sets = list(sets)
    document = {
        "ok": all(r.ok for r in reports) and all(s.ok for s in sets),
        "files": [r.to_dict() for r in reports],
        "records": sum(r.records for r in reports),
        "damaged_files": sum(not r.ok for r in reports),
        "sets": [s.to_dict() for s in sets],
    }
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def _short_message(message: str, path: str) -> str:
    return message[len(path) + 2 :] if message.startswith(f"{path}: ") else message


def _print_verify_tables(reports: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Column, Table

    console = Console(soft_wrap=False, highlight=False)
    files = Table(
        Column("File", overflow="fold"),
        "Status",
        "Compression",
        "Records",
        "Payload bytes",
        "File bytes",
    )
    for r in reports:
        status = "[green]ok[/]" if r.ok else f"[bold red]DAMAGED ({len(r.issues)})[/]"
        files.add_row(
            r.path,
            status,
            r.compression or "?",
            f"{r.records:,}",
            f"{r.payload_bytes:,}",
            f"{r.file_bytes:,}",
        )
    console.print(files)
    damaged = [r for r in reports if not r.ok]
    if damaged:
        regions = Table(
            Column("File", overflow="fold"),
            "Record",
            "Offset",
            "End",
            "Kind",
            Column("What failed", overflow="fold"),
        )
        for r in damaged:
            for d in r.issues:
                end = "?" if d.end is None else f"{d.end:,}"
                regions.add_row(
                    r.path,
                    f"{d.index:,}",
                    f"{d.offset:,}",
                    end,
                    d.kind,
                    _short_message(d.message, r.path),
                )
        console.print(regions)
    records = sum(r.records for r in reports)
    count = f"{len(reports)} file{'s' * (len(reports) != 1)}"
    verdict = f"{len(damaged)} damaged" if damaged else "all ok"
    console.print(f"{records:,} records in {count}: {verdict}", markup=False)


class _VerifyProgress:
    """A rich progress line on stderr for large inputs on a terminal; otherwise nothing."""

    def __init__(self, paths: list[str]) -> None:
        self._progress: Any = None
        self._task: Any = None
        if not sys.stderr.isatty():
            return
        total = 0
        for path in paths:
            with contextlib.suppress(OSError):
                total += os.path.getsize(path)
        if total < PROGRESS_BYTES:
            return
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} records"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("", total=None)

    def callback(self, path: str) -> Any:
        if self._progress is None:
            return None
        progress, task = self._progress, self._task
        progress.update(task, description=path, completed=0)

        def report(records: int) -> None:
            progress.update(task, completed=records)

        return report

    def __enter__(self) -> _VerifyProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()


__all__ = ["read", "register", "verify", "write"]
