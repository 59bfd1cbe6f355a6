"""`recio head`, `cat`, `split`, `merge`, `sample`: each a thin layer over one recordio.sets call.

Writing commands refuse an existing output without --overwrite, never write over one of their
own inputs, write atomically, and publish sharded output with its manifest.
"""

from __future__ import annotations

from typing import Annotated

import typer

from recio.cli import _console
from recio.cli._options import Overwrite

Inputs = Annotated[
    list[str],
    typer.Argument(metavar="IN", help="TFRecord files, globs, folders or NAME.manifest.json."),
]
Out = Annotated[str, typer.Argument(metavar="OUT", help="File to write (refused if it exists).")]
Compression = Annotated[
    str | None,
    typer.Option(
        "--compression",
        "-c",
        help="Output NONE, GZIP or ZLIB. Default: GZIP for a .gz name, else NONE.",
        show_default=False,
    ),
]


def head(
    files: Annotated[list[str], typer.Argument(metavar="FILE", help="TFRecord files or globs.")],
    n: Annotated[int, typer.Option("-n", "--records", min=0, help="Records to print.")] = 10,
    raw: Annotated[
        bool, typer.Option("--raw", help="Print each record's bytes as one base64 line.")
    ] = False,
) -> None:
    """Print the first N records, decoded from tf.train.Example as JSON lines (or --raw base64).

    Reads no further than it prints.

    Example: recio head data/train-00000-of-00004.tfrecord.gz -n 3
    """
    from recio.cli.records import _print_lines
    from recordio.convert import example_for_json
    from recordio.sets import head as head_records

    records = head_records(files, n)
    if raw:
        import base64

        _print_lines((base64.b64encode(r).decode() for r in records), raw=True)
    else:
        _print_lines((example_for_json(r) for r in records), raw=False)


def cat(
    inputs: Annotated[
        list[str], typer.Argument(metavar="IN... OUT", help="Input files, then the output file.")
    ],
    compression: Compression = None,
    overwrite: Overwrite = False,
) -> None:
    """Concatenate the records of IN... into OUT, in order.

    Example: recio cat a.tfrecord b.tfrecord both.tfrecord
    """
    from recordio.sets import cat as cat_records

    if len(inputs) < 2:
        _console.abort("give at least one input and the output: recio cat IN... OUT")
    _console.info(
        cat_records(inputs[:-1], inputs[-1], compression=compression, overwrite=overwrite).line()
    )


def split(
    source: Annotated[str, typer.Argument(metavar="IN", help="Input file, glob or manifest.")],
    out: Annotated[
        str,
        typer.Argument(
            metavar="OUTPATTERN",
            help="The set's name: out/part.tfrecord -> out/part-00000-of-0000N.tfrecord, ... "
            "and out/part.manifest.json.",
        ),
    ],
    shards: Annotated[
        int | None, typer.Option("--shards", min=1, help="N files of equal record counts.")
    ] = None,
    records: Annotated[
        int | None, typer.Option("--records", min=1, help="N records per file.")
    ] = None,
    max_bytes: Annotated[
        int | None, typer.Option("--bytes", min=1, help="At most N bytes of records per file.")
    ] = None,
    compression: Compression = None,
    overwrite: Overwrite = False,
) -> None:
    """Split records, in order, into a shard set published with its manifest.

    Example: recio split big.tfrecord.gz parts/train.tfrecord.gz --shards 8
    """
    from recordio.sets import split as split_records

    summary = split_records([source], out, shards=shards, records=records, max_bytes=max_bytes,
                            compression=compression, overwrite=overwrite)  # fmt: skip
    _console.info(summary.line())


def merge(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="IN... OUT",
            help="Inputs (files, globs, folders, manifests), then the output file.",
        ),  # fmt: skip
    ],
    shuffle: Annotated[
        int | None,
        typer.Option(
            "--shuffle",
            metavar="SEED",
            min=0,
            help="Write the records in one seeded random order over all inputs.",
            show_default=False,
        ),
    ] = None,
    compression: Compression = None,
    overwrite: Overwrite = False,
) -> None:
    """Merge the records of many files (or shard sets) into one file, maybe shuffled.

    Example: recio merge data/train.manifest.json train_all.tfrecord --shuffle 7
    """
    from recordio.sets import merge as merge_records

    if len(inputs) < 2:
        _console.abort("give at least one input and the output: recio merge IN... OUT")
    summary = merge_records(inputs[:-1], inputs[-1], shuffle_seed=shuffle,
                            compression=compression, overwrite=overwrite)  # fmt: skip
    _console.info(summary.line())


def sample(
    n: Annotated[int, typer.Argument(metavar="N", min=0, help="Records to draw.")],
    inputs: Annotated[
        list[str], typer.Argument(metavar="IN... OUT", help="Inputs, then the output file.")
    ],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the draw.")] = 0,
    compression: Compression = None,
    overwrite: Overwrite = False,
) -> None:
    """Draw N records uniformly at random (seeded, without replacement) into OUT, in input order.

    Example: recio sample 1000 'data/train-*.tfrecord.gz' small.tfrecord --seed 1
    """
    from recordio.sets import sample as sample_records

    if len(inputs) < 2:
        _console.abort("give at least one input and the output: recio sample N IN... OUT")
    summary = sample_records(n, inputs[:-1], inputs[-1], seed=seed, compression=compression,
                             overwrite=overwrite)  # fmt: skip
    _console.info(summary.line())


def register(app: typer.Typer) -> None:
    """Add head, cat, split, merge and sample to the root app."""
    app.command("head")(head)
    app.command("cat")(cat)
    app.command("split")(split)
    app.command("merge")(merge)
    app.command("sample")(sample)


__all__ = ["cat", "head", "merge", "register", "sample", "split"]
