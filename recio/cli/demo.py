"""`recio demo`: the main job on built-in data (chapter 13 end to end)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recio.cli import _console, _extras


def demo(
    workdir: Annotated[str, typer.Option(help="Folder for the demo's files.")] = "recio-demo",
    records: Annotated[int, typer.Option(min=100, help="Images to generate.")] = 10_000,
    rows: Annotated[int, typer.Option(min=100, help="Tabular rows to generate.")] = 20_000,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs per model.")] = 3,
    recordio_only: Annotated[
        bool, typer.Option("--recordio-only", help="Only the TFRecord step (no TensorFlow).")
    ] = False,
) -> None:
    """Run chapter 13 end to end on generated data: TFRecords, tf.Transform, training, serving.

    Writes sharded GZIP TFRecords and verifies them, runs the tf.Transform job, trains the MLP
    and a regressor from recio's loaders, then scores raw records with the exported SavedModel.

    Example: recio demo --workdir /tmp/recio-demo --epochs 2
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

    from recio.demo.chapter13 import check_workdir

    check_workdir(Path(workdir))  # before TensorFlow loads: a refusal takes no time
    _extras.require("tf", "beam", "train", what="the demo")
    from pipeline.quiet import import_tensorflow_quietly, quiet_library_logs
    from recio.demo.chapter13 import run_chapter13

    quiet_library_logs()
    import_tensorflow_quietly()
    result = run_chapter13(
        workdir, image_records=records, tabular_rows=rows, epochs=epochs, emit=_console.info
    )
    total = sum(result.seconds.values())
    _console.info(
        f"done in {total:.0f} s: MLP held-out accuracy {_figure(result.mlp_accuracy)}, "
        f"regressor eval RMSE {_figure(result.regressor_rmse)}, served "
        f"{result.served_records:,} raw records; everything is under {result.workdir}"
    )


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
