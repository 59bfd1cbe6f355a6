"""`recio schema`, `recio stats`, `recio convert`: know what is in a set of Example records.

Each command is one library call (pipeline.inspect, recordio.tabular) plus printing. A command
that writes a file refuses an existing one without --overwrite, never writes over one of its
inputs, and writes atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from recio.cli import _console
from recio.cli._options import Overwrite


class SchemaFormat(StrEnum):
    pbtxt = "pbtxt"
    json = "json"
    python = "python"


Files = Annotated[
    list[str], typer.Argument(metavar="FILE", help="TFRecord files of tf.train.Examples, or globs.")
]
Sample = Annotated[
    int | None,
    typer.Option(
        "--sample",
        "-n",
        min=1,
        help="Profile N records drawn uniformly at random from all the files together "
        "(default: all records; all of them too when there are no more than N).",
        show_default=False,
    ),
]
Seed = Annotated[
    int,
    typer.Option(
        "--seed",
        min=0,
        help="Seed of the --sample draw: the same seed draws the same records.",
    ),
]


def _expand(patterns: list[str]) -> list[str]:
    from recordio.files import expand_paths

    return expand_paths(patterns)


def check_output(path: str, inputs: list[str], *, overwrite: bool) -> None:
    """Refuse to replace a file without --overwrite, and never write over an input."""
    if os.path.isdir(path):
        _console.abort(f"{path}: is a folder; give a file name to write")
    if os.path.exists(path):
        target = os.path.realpath(path)
        if any(os.path.realpath(p) == target for p in inputs if p != "-"):
            _console.abort(f"{path}: is one of the inputs; write the output somewhere else")
        if not overwrite:
            _console.abort(f"{path}: file exists; pass --overwrite to replace it")
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        _console.abort(f"{path}: folder {folder!r} does not exist; create it first")


def _write_text(path: str, text: str) -> None:
    from pipeline._files import write_text

    write_text(path, text)


def schema(
    files: Files,
    fmt: Annotated[
        SchemaFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="pbtxt: tensorflow_metadata Schema (TFX, tf.Transform, TFDV); json: recio's "
            "schema for the jobs' --schema; python: a tf.io feature spec.",
        ),
    ] = SchemaFormat.pbtxt,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write here instead of stdout.", show_default=False),
    ] = None,
    sample: Sample = None,
    seed: Seed = 0,
    max_domain: Annotated[
        int,
        typer.Option(
            "--max-domain", min=0, help="List a string feature's values when it has at most N."
        ),
    ] = 50,
    overwrite: Overwrite = False,
) -> None:
    """Infer the schema of Example records: each feature's kind, shape and presence.

    A feature is fixed-length when every record holds it with the same number of values (a
    scalar when one), else variable-length; string features with few distinct values get
    their domain. Reads all records in one streaming pass, or --sample N records drawn at
    random (seeded by --seed, so a run is reproducible) from all the files.

    Example: recio schema 'data/train-*.tfrecord.gz' --sample 10000 --seed 1 -o schema.pbtxt
    """
    from pipeline.inspect import infer_schema, profile_files, render

    paths = _expand(files)
    if output is not None:
        check_output(output, paths, overwrite=overwrite)
    inferred = infer_schema(profile_files(paths, sample=sample, seed=seed), max_domain=max_domain)
    text = render(inferred, fmt.value)
    if output is None:
        sys.stdout.write(text)
    else:
        _write_text(output, text)
        _console.info(f"Wrote the schema of {len(inferred.features)} features to {output}")
    if inferred.unknown:
        _console.info(
            "left out (never holds a value, or holds values of different kinds): "
            + ", ".join(inferred.unknown)
        )


def stats(
    files: Files,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot", help="Also draw one histogram per feature into this PNG.", show_default=False
        ),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Take two inputs, TRAIN and EVAL (a file or a quoted glob each), and report "
            "skew between them; exit 3 when there is any.",
        ),
    ] = False,
    max_presence_change: Annotated[
        float, typer.Option(help="--compare: largest allowed change of presence (fraction).")
    ] = 0.05,
    max_mean_shift: Annotated[
        float, typer.Option(help="--compare: largest allowed change of a mean, in train stds.")
    ] = 0.1,
    max_unseen: Annotated[
        float,
        typer.Option(help="--compare: largest allowed fraction of eval values unseen in train."),
    ] = 0.001,
    sample: Sample = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Statistics of Example records: sizes, and per feature presence, lengths and values.

    Numbers: min/mean/max/std, zeros, median and a histogram (from a 10,000-value sample).
    Strings: approximate distinct count (HyperLogLog) and the most frequent values.
    With --compare TRAIN EVAL: flags features missing on one side, presence or mean that
    moved beyond the thresholds, and eval categories unseen in train. Means of int64 features
    whose values are nearly all distinct (ids, timestamps) are not compared.
    --sample N profiles N records drawn uniformly at random (without replacement, seeded by
    --seed: the same seed gives the same figures) from all the files together.
    Exit status: 0, or 3 when --compare finds anomalies.

    Example: recio stats 'data/train-*.tfrecord.gz' --sample 10000 --seed 1 --plot stats.png
    """
    from pipeline.inspect import dataset_stats, plot_stats, profile_files

    if compare:
        if len(files) != 2:
            _console.abort("--compare takes exactly two inputs: TRAIN EVAL (quote globs)")
        _compare(files, as_json, sample, seed, max_presence_change, max_mean_shift, max_unseen)
        return
    paths = _expand(files)
    if plot is not None:
        check_output(plot, paths, overwrite=overwrite)
    document = dataset_stats(profile_files(paths, sample=sample, seed=seed))
    if plot is not None:
        plot_stats(document, plot)
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _print_stats(document)
    if plot is not None:
        _console.info(f"Wrote the histograms to {plot}")


def _compare(
    files: list[str],
    as_json: bool,
    sample: int | None,
    seed: int,
    presence: float,
    mean: float,
    unseen: float,
) -> None:
    from pipeline.inspect import SkewThresholds, compare_profiles, profile_files

    train = profile_files(_expand([files[0]]), sample=sample, seed=seed)
    eval_ = profile_files(_expand([files[1]]), sample=sample, seed=seed)
    anomalies = compare_profiles(train, eval_, SkewThresholds(presence, mean, unseen))
    if as_json:
        document = {
            "train": {"files": train.files, "records": train.records},
            "eval": {"files": eval_.files, "records": eval_.records},
            "ok": not anomalies,
            "anomalies": [a.to_dict() for a in anomalies],
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        from rich.console import Console
        from rich.table import Column, Table

        console = Console(soft_wrap=False, highlight=False)
        if anomalies:
            table = Table("Feature", "Anomaly", Column("What differs", overflow="fold"))
            for a in anomalies:
                table.add_row(a.feature, a.kind, a.message)
            console.print(table)
        verdict = (
            f"{len(anomalies)} anomal{'ies' if len(anomalies) != 1 else 'y'}"
            if anomalies
            else "no skew found"
        )
        console.print(
            f"train {train.records:,} records, eval {eval_.records:,} records: {verdict}",
            markup=False,
        )
    if anomalies:
        raise typer.Exit(_console.EXIT_DAMAGED)


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _print_stats(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Column, Table

    console = Console(soft_wrap=False, highlight=False, width=None if sys.stdout.isatty() else 200)
    sizes = doc["record_bytes"]
    ratio = doc["compression_ratio"]
    squeezed = f", file/stream {ratio:.3f} ({', '.join(doc['compression'])})" if ratio else ""
    sampled = " (sample)" if doc["sampled"] else ""
    console.print(
        f"{doc['records']:,} records{sampled} in {len(doc['files'])} file"
        f"{'s' * (len(doc['files']) != 1)}; record bytes min {sizes['min']:,} / median "
        f"{_fmt(sizes['median'])} / max {sizes['max']:,}{squeezed}",
        markup=False,
    )
    table = Table(
        "Feature",
        "Kind",
        "Presence",
        "Values/rec",
        "Min",
        "Mean",
        "Max",
        "Std",
        "Zeros",
        "Distinct",
        Column("Top values", overflow="fold", max_width=48),
    )
    for name, f in doc["features"].items():
        lengths = f["lengths"]
        count = (
            str(lengths["min"])
            if lengths["min"] == lengths["max"]
            else f"{lengths['min']}-{lengths['max']}"
        )
        n = f.get("numbers") or {}
        distinct = f.get("distinct") or {}
        approx = distinct.get("exact") or distinct.get("approx")
        top = ", ".join(f"{v} ({c:,})" for v, c in (f.get("top") or [])[:5])
        table.add_row(
            name,
            f["kind"] or "?",
            f"{f['presence']:.1%}",
            count,
            _fmt(n.get("min")),
            _fmt(n.get("mean")),
            _fmt(n.get("max")),
            _fmt(n.get("std")),
            _fmt(n.get("zeros")),
            ("~" if distinct.get("exact") is None and approx else "") + _fmt(approx),
            top or f.get("top_note", "")[:48],
        )
    console.print(table)


class TableFormat(StrEnum):
    auto = "auto"
    tfrecord = "tfrecord"
    parquet = "parquet"
    csv = "csv"
    jsonl = "jsonl"


def convert(
    source: Annotated[
        list[str],
        typer.Argument(
            metavar="IN... OUT",
            help="Input files or globs (one format), then the file to write.",
        ),
    ],
    in_fmt: Annotated[
        TableFormat,
        typer.Option("--from", case_sensitive=False, help="Input format (auto: from the name)."),
    ] = TableFormat.auto,
    out_fmt: Annotated[
        TableFormat,
        typer.Option("--to", case_sensitive=False, help="Output format (auto: from the name)."),
    ] = TableFormat.auto,
    join: Annotated[
        str | None,
        typer.Option(
            "--join",
            help="CSV output: join a list feature's values with this separator in one cell "
            "(without it, lists are refused).",
            show_default=False,
        ),
    ] = None,
    compression: Annotated[
        str | None,
        typer.Option(
            "--compression",
            "-c",
            help="TFRecord side: NONE, GZIP or ZLIB. Default: detect when reading, from the "
            "name (.gz) when writing.",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Records per batch (bounds the memory).")
    ] = 8192,
    schema_file: Annotated[
        str | None,
        typer.Option(
            "--schema",
            help="TFRecords to Parquet/CSV: recio's schema JSON (recio schema --format json, or a "
            "job's schema.json) fixes each feature's kind and list-ness, and gives a column to "
            "features no record holds.",
            show_default=False,
        ),
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Convert Example TFRecords to or from Parquet, CSV and JSON Lines.

    Formats come from the names (.parquet/.pq, .csv, .jsonl/.json, anything else TFRecord)
    unless --from/--to say. Kinds are kept: int64, float (float32), bytes (a string column
    when UTF-8, else binary); a one-value feature is a plain column, anything else a list
    column. Streams in batches; the output appears only when the whole input converted.

    Example: recio convert 'data/train-*.tfrecord.gz' train.parquet
    """
    from recordio.tabular import convert as run

    if len(source) < 2:
        _console.abort("give at least one input and the output: recio convert IN... OUT")
    *inputs, out = source
    columns = _schema_columns(schema_file) if schema_file else ()
    summary = run(
        inputs,
        out,
        in_fmt=None if in_fmt is TableFormat.auto else in_fmt.value,
        out_fmt=None if out_fmt is TableFormat.auto else out_fmt.value,
        compression=compression,
        join=join,
        overwrite=overwrite,
        batch_records=batch,
        columns=columns,
    )
    _console.info(summary.line())


def _schema_columns(path: str) -> list[Any]:
    """recio's schema JSON as the converter's column layout (bytes columns start as strings)."""
    from pipeline.schema import load_schema
    from recordio import Kind
    from recordio.tabular import Field

    return [
        Field(column.name, column.type, column.is_list, text=column.type is Kind.BYTES)
        for column in load_schema(path).columns
    ]


def register(app: typer.Typer) -> None:
    """Add schema, stats and convert to the root app."""
    app.command("schema")(schema)
    app.command("stats")(stats)
    app.command("convert")(convert)


__all__ = ["check_output", "convert", "register", "schema", "stats"]
