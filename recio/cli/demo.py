"""`recio demo`: the main job on real data that ships with scikit-learn (chapter 13 end to end)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recio.cli import _console, _extras


def demo(
    workdir: Annotated[str, typer.Option(help="Folder for the demo's files.")] = "recio-demo",
    housing: Annotated[
        str | None,
        typer.Option(help="The book's housing.csv; without it a stand-in table is generated."),
    ] = None,
    digits: Annotated[
        int, typer.Option(min=100, max=1797, help="Digits to use (of scikit-learn's 1,797).")
    ] = 1797,
    rows: Annotated[
        int, typer.Option(min=100, help="Table rows (generated, or kept of --housing).")
    ] = 20_640,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs of the MLP and the regressor.")] = 20,
    cnn_epochs: Annotated[int, typer.Option(min=1, help="Epochs of the CNN.")] = 5,
    copies: Annotated[int, typer.Option(min=1, help="Augmented copies per image.")] = 2,
    records: Annotated[
        int, typer.Option(min=100, help="--recordio-only: generated images to write.")
    ] = 10_000,
    recordio_only: Annotated[
        bool, typer.Option("--recordio-only", help="Only write, read back and verify shards.")
    ] = False,
) -> None:
    """Run chapter 13 end to end on real digits and photographs, and on the housing table.

    Digits as GZIP shards -> verify -> augment job -> CNN and MLP; housing CSV -> csv job ->
    transform job -> stats --compare -> regressor -> exported SavedModel on raw records; verify
    every output set. Nothing is downloaded: the digits and photographs ship with scikit-learn.
    The report is printed and saved as WORKDIR/report.json and WORKDIR/report.md.

    Example: recio demo --workdir /tmp/recio-demo --housing data/housing.csv
    """
    if recordio_only:
        from recio.demo.recordio_leg import run_recordio_demo

        summary = run_recordio_demo(workdir, records, shards=4)
        _console.info(
            f"wrote {summary.records:,} Examples to {len(summary.files)} GZIP shards "
            f"({summary.file_bytes / 1e6:.1f} MB) in {summary.write_seconds:.2f} s; read back "
            f"identical in {summary.read_seconds:.2f} s; verify "
            + ("clean" if summary.verified else "found damage")
        )
        if not summary.verified:
            _console.abort("verify found damage in the demo's own files", _console.EXIT_DAMAGED)
        return

    from recio.demo.chapter13 import check_workdir, has_beam_and_tf

    check_workdir(Path(workdir))  # before TensorFlow loads: a refusal takes no time
    if housing is not None and not Path(housing).is_file():
        _console.abort(f"--housing {housing}: no such file; give the book's housing.csv")
    _extras.require("train", "demo", what="the demo")
    from recio.demo.chapter13 import DemoSizes, run_chapter13
    from recio.demo.images_leg import ImageSizes
    from recio.demo.tables_leg import TableSizes

    if has_beam_and_tf():
        from pipeline.quiet import import_tensorflow_quietly, quiet_library_logs

        quiet_library_logs()
        import_tensorflow_quietly()
    sizes = DemoSizes(
        images=ImageSizes(digits=digits, copies=copies, cnn_epochs=cnn_epochs, mlp_epochs=epochs),
        tables=TableSizes(housing_csv=housing, rows=rows, epochs=epochs),
    )
    report = run_chapter13(workdir, sizes, emit=_console.info)
    for line in report.lines():
        _console.info(line)
    _console.info(
        f"done in {report.seconds:.0f} s on {report.device} ({report.backend}); "
        f"everything is under {report.workdir}"
    )
    if not report.clean:
        _console.abort("verify found damage in the demo's own outputs", _console.EXIT_DAMAGED)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
