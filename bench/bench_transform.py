"""`recio job transform` against the canonical tfx_bsl CsvTFXIO + tf.Transform pipeline.

Both jobs read the same generated CSV (id, age, income, color, label), apply the same
transforms (age z-score, income min-max to [0, 1], color vocabulary with one OOV bucket, label
passed through) on the in-process FnApiRunner and write GZIP TFRecords plus transform_fn.
Each runs in a fresh process, one after the other, in the same run of this script; we report
the process wall time (imports included) and the pipeline time (construction + run) of each,
and their ratios. recio runs twice: with its default 20 % eval split (more work: a second
TransformDataset) and with --eval-fraction 0 (exactly the canonical job's work).

    python bench/bench_transform.py             # 1,000,000 rows (a few minutes)
    python bench/bench_transform.py --rows 50000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = {
    "columns": [
        {"name": "id", "type": "int", "transform": "drop"},
        {"name": "age", "type": "float", "transform": "z_score", "output": "age_z"},
        {"name": "income", "type": "float", "transform": "min_max", "output": "income_01"},
        {
            "name": "color",
            "type": "string",
            "transform": {"name": "vocabulary", "num_oov_buckets": 1},
            "output": "color_id",
        },
        {"name": "label", "type": "int"},
    ],
    "label": "label",
    "key": "id",
}


def canonical(input_csv: str, output: str) -> None:
    """The reference pipeline of BEAM_TFT.md §1, timed from construction to completion."""
    import tempfile

    import apache_beam as beam
    import tensorflow as tf
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils
    from tfx_bsl.public import tfxio

    columns = ["id", "age", "income", "color", "label"]
    spec = {
        "id": tf.io.FixedLenFeature([], tf.int64),
        "age": tf.io.FixedLenFeature([], tf.float32),
        "income": tf.io.FixedLenFeature([], tf.float32),
        "color": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
    }
    schema = schema_utils.schema_from_feature_spec(spec)

    def preprocessing_fn(inputs):
        return {
            "age_z": tft.scale_to_z_score(inputs["age"]),
            "income_01": tft.scale_to_0_1(inputs["income"]),
            "color_id": tft.compute_and_apply_vocabulary(
                inputs["color"], num_oov_buckets=1, vocab_filename="color"
            ),
            "label": inputs["label"],
        }

    start = time.perf_counter()
    options = PipelineOptions(["--runner=FnApiRunner"])
    with (
        tempfile.TemporaryDirectory(prefix="bench-tft-") as temp,
        beam.Pipeline(options=options) as p,
        tft_beam.Context(temp_dir=temp),
    ):
        csv = tfxio.CsvTFXIO(
            file_pattern=input_csv, column_names=columns, schema=schema, skip_header_lines=1
        )
        raw = p | "ReadCSV" >> csv.BeamSource()
        data, transform_fn = (
            raw,
            csv.TensorAdapterConfig(),
        ) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn, output_record_batches=True)
        _ = (
            data
            | tft_beam.EncodeTransformedDataset()
            | beam.io.WriteToTFRecord(output + "/train", file_name_suffix=".tfrecord.gz")
        )
        _ = transform_fn | tft_beam.WriteTransformFn(output)
        _ = dataset_metadata.DatasetMetadata(schema) | tft_beam.WriteMetadata(
            output + "/metadata", p
        )
    print(json.dumps({"pipeline_s": time.perf_counter() - start}))


def _child(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"benchmark step failed: {' '.join(args)}\n{done.stderr[-3000:]}")
    return wall, done.stdout


def _count_records(pattern_dir: Path, prefix: str) -> int:
    from recordio import read_records

    return sum(
        sum(1 for _ in read_records(str(f))) for f in sorted(pattern_dir.glob(f"{prefix}-*"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "transform"))
    parser.add_argument("--canonical-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.canonical_child:
        canonical(*args.canonical_child)
        return

    sys.path.insert(0, str(ROOT))
    from recio.demo.data import write_people_csv

    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    csv_path = work / f"people-{args.rows}.csv"
    write_people_csv(csv_path, args.rows, seed=1)
    schema_path = work / "schema.json"
    schema_path.write_text(json.dumps(SCHEMA))
    print(f"data: {args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB ({csv_path})")

    python = sys.executable
    env_note = f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    results = {}
    wall, out = _child([python, __file__, "--canonical-child", str(csv_path), str(work / "canon")])
    results["canonical CsvTFXIO+TFT"] = (
        wall,
        json.loads(out.strip().splitlines()[-1])["pipeline_s"],
    )
    for name, fraction in (("recio (eval 20%)", "0.2"), ("recio (eval 0)", "0")):
        out_dir = work / f"recio-{fraction}"
        wall, _ = _child(
            [python, "-m", "recio", "job", "transform", str(csv_path), "--output", str(out_dir),
             "--schema", str(schema_path), "--eval-fraction", fraction, "--quiet"]
        )  # fmt: skip
        job = json.loads((out_dir / "recio_job.json").read_text())
        rows = sum(split["rows"] for split in job["splits"].values())
        if rows != args.rows:
            sys.exit(f"{name}: wrote {rows} rows, expected {args.rows}")
        results[name] = (wall, job["seconds"])
    canon_rows = _count_records(work / "canon", "train")
    if canon_rows != args.rows:
        sys.exit(f"canonical: wrote {canon_rows} rows, expected {args.rows}")

    base_wall, base_pipe = results["canonical CsvTFXIO+TFT"]
    print(f"\n{'job':<26}{'process s':>10}{'pipeline s':>12}{'ratio (process)':>17}"
          f"{'ratio (pipeline)':>18}")  # fmt: skip
    for name, (wall, pipe) in results.items():
        print(f"{name:<26}{wall:>10.1f}{pipe:>12.1f}{wall / base_wall:>17.2f}"
              f"{pipe / base_pipe:>18.2f}")  # fmt: skip
    print(f"\n({env_note}; FnApiRunner in-process; target: recio <= 1.0x the canonical time)")


if __name__ == "__main__":
    main()
