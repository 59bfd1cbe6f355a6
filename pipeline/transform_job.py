"""`recio job transform`: raw CSV, Example TFRecords or Parquet -> tf.Transform outputs.

The training split goes through `AnalyzeAndTransformDataset`, the eval split through
`TransformDataset` with the same transform, so eval never leaks into the statistics. The
output folder is what `tft.TFTransformOutput(OUT)` expects, plus the data and a job record:

    transform_fn/  transformed_metadata/   written by tft_beam.WriteTransformFn
    metadata/                              the raw schema (so raw_feature_spec() works)
    data/train-00000-of-0000N.tfrecord.gz  transformed Examples, training split
    data/eval-00000-of-0000N.tfrecord.gz   transformed Examples, eval split
    stats/train.json  stats/eval.json      statistics of each split (`recio stats --json` form)
    schema.json  bad_rows.jsonl  recio_job.json
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import Any

from pipeline import progress
from pipeline._files import is_remote, join, scratch_dir
from pipeline.cloud import check_cloud_access
from pipeline.csv_format import file_columns
from pipeline.errors import SchemaError
from pipeline.inputs import check_remote_paths, detect_format, expand_inputs
from pipeline.job_schema import (
    dropped_columns,
    infer_example_schema,
    label_notes,
    options_csv_schema,
    with_roles,
)
from pipeline.layout import (
    BAD_ROWS_FILE,
    DATA_DIR,
    JOB_FILE,
    RAW_METADATA_DIR,
    SCHEMA_FILE,
    STATS_DIR,
    TRANSFORM_FN_DIR,
    TRANSFORMED_METADATA_DIR,
)
from pipeline.options import TransformJobOptions
from pipeline.outputs import staged_output, written_split
from pipeline.preprocessing import load_preprocessing_fn, make_preprocessing_fn
from pipeline.quiet import import_tensorflow_quietly
from pipeline.results import JobResult, write_job_file
from pipeline.runner import pipeline_options
from pipeline.schema import Schema, load_schema, save_schema, with_default_transforms

MANAGED = (
    TRANSFORM_FN_DIR,
    TRANSFORMED_METADATA_DIR,
    RAW_METADATA_DIR,
    DATA_DIR,
    SCHEMA_FILE,
    BAD_ROWS_FILE,
    JOB_FILE,
    STATS_DIR,
)


def _schema_for(
    options: TransformJobOptions, files: list[str], fmt: str
) -> tuple[Schema, list[str]]:
    if fmt == "csv":
        schema, notes = options_csv_schema(options, files)
        lists = [c.name for c in schema.columns if c.is_list]
        if lists:
            raise SchemaError(
                f"{schema.source}: column {lists[0]!r} is a list (values); CSV input holds one "
                "value per cell: read Example TFRecords or Parquet (recio convert) instead"
            )
        return schema, notes
    if isinstance(options.schema, Schema):
        schema = options.schema
    elif options.schema:
        schema = load_schema(options.schema)
    else:
        schema = infer_example_schema(files, max_records=options.infer_rows)
    return with_roles(schema, options.label, options.key), []


def _temp_dir(options: TransformJobOptions) -> tuple[str, bool]:
    """tf.Transform's scratch folder, and whether the job made it (and so removes it)."""
    if options.transform_temp_dir:
        return options.transform_temp_dir, False
    if options.runner.local or options.runner.dry_run:  # a dry run writes nothing remote
        return scratch_dir("recio-tft-"), True
    if options.runner.temp_location:
        return join(options.runner.temp_location, "recio-tft", uuid.uuid4().hex[:12]), False
    if is_remote(options.output):
        return join(options.output, ".recio-tft-tmp", uuid.uuid4().hex[:12]), False
    return scratch_dir("recio-tft-"), True


def _write_split_stats(output: str, splits: dict[str, Any]) -> None:
    """stats/<split>.json next to the data: what `recio stats --json` prints for each split.

    Local output only (the profiler reads local files); a split without records has none.
    """
    if is_remote(output):
        return
    import json

    from pipeline._files import write_text
    from pipeline.inspect import dataset_stats, profile_files

    for name, split in splits.items():
        files = [os.path.join(output, f) for f in split.files]
        if not files or not split.rows:
            continue
        document = dataset_stats(profile_files(files))
        document["files"] = list(split.files)  # relative to the output folder, like the job's
        write_text(join(output, STATS_DIR, f"{name}.json"), json.dumps(document, indent=2) + "\n")


def run_transform_job(
    options: TransformJobOptions, *, on_progress: progress.ProgressCallback | None = None
) -> JobResult:
    """Analyze on train, transform train and eval, write everything TFTransformOutput needs.

    The transforms come from the schema (per-column declarations; an inferred schema gets
    z-scores and vocabularies) or from `module_file`'s top-level `preprocessing_fn`.
    """
    check_cloud_access(options.runner, options.inputs, options.output)
    files = expand_inputs(options.inputs, what="input")
    check_remote_paths(options.runner, files, options.output)
    fmt = detect_format(files, options.input_format)
    schema, notes = _schema_for(options, files, fmt)
    columns = (
        {path: file_columns(path, schema, options.csv) for path in files} if fmt == "csv" else {}
    )
    notes += dropped_columns(columns, schema)
    if not options.module_file and not schema.has_transforms:
        schema = with_default_transforms(schema)
    notes += label_notes(schema, module_file=options.module_file)
    # The schema's transforms are checked now; a module file is imported once TF is loaded.
    preprocessing_fn = None if options.module_file else make_preprocessing_fn(schema)

    import_tensorflow_quietly()
    import apache_beam as beam
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata

    from pipeline import beam_io, runner, stats
    from pipeline.sinks import write_record_batches

    if preprocessing_fn is None:
        preprocessing_fn = load_preprocessing_fn(str(options.module_file))
    run_opts = options.runner
    pipeline_options(run_opts)  # Beam's options check out before anything is written
    with staged_output(
        options.output, MANAGED, overwrite=options.overwrite, dry_run=run_opts.dry_run
    ) as out:
        temp_dir, own_temp_dir = _temp_dir(options)
        data_dir = join(out, DATA_DIR)
        split_fractions = options.split_fractions
        others = [name for name, _ in split_fractions if name != "train"]

        def write_split(name: str, data: Any, metadata: Any) -> None:
            deferred = metadata.deferred_metadata | f"{name.title()}Schema" >> beam.Map(
                lambda m: m.schema
            )
            _ = (
                data
                | f"Encode{name.title()}"
                >> beam.ParDo(
                    beam_io.EncodeExamplesFn(f"{name}_rows_written"),
                    schema=beam.pvalue.AsSingleton(deferred),
                )
                | f"Write{name.title()}"
                >> write_record_batches(
                    join(data_dir, name), compression=options.compression, num_shards=options.shards
                )
            )

        def construct(p: Any) -> None:
            with tft_beam.Context(temp_dir=temp_dir):
                spread = not run_opts.local
                source: Any
                if fmt == "csv":
                    source = beam_io.ReadCsvBatches(columns, schema, options.csv, spread=spread)
                else:
                    source = beam_io.ReadExampleBatches(files, schema, spread=spread)
                read = p | "ReadInput" >> source
                written_bad = beam_io.write_bad_rows(read[beam_io.BAD], out)
                batches = beam_io.enforce_bad_row_limit(
                    read["batches"], read[beam_io.BAD], written_bad, options.max_bad_rows
                )
                split = batches | "SplitTrainEval" >> beam.ParDo(
                    beam_io.SplitBatchFn(schema.key, split_fractions, options.split_salt)
                ).with_outputs(*others, main="train")
                config = schema.tensor_adapter_config()
                (train, train_meta), transform_fn = (
                    split.train,
                    config,
                ) | "AnalyzeAndTransformTrain" >> tft_beam.AnalyzeAndTransformDataset(
                    preprocessing_fn, output_record_batches=True
                )
                write_split("train", train, train_meta)
                for name in others:
                    transformed, meta = (
                        (split[name], config),
                        transform_fn,
                    ) | f"Transform{name.title()}" >> tft_beam.TransformDataset(
                        output_record_batches=True
                    )
                    write_split(name, transformed, meta)
                _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(out)
                raw_metadata = dataset_metadata.DatasetMetadata(schema.tf_metadata_schema())
                _ = raw_metadata | "WriteRawMetadata" >> tft_beam.WriteMetadata(
                    join(out, RAW_METADATA_DIR), p
                )

        try:
            outcome = runner.run(construct, run_opts, on_progress=on_progress, output=out)
        finally:
            if own_temp_dir:  # now, not at exit: an interrupted job leaves nothing behind
                shutil.rmtree(temp_dir, ignore_errors=True)
        if outcome.dry_run:
            return JobResult.translated("transform", out, outcome, inputs=tuple(files))
        schema_path = join(out, SCHEMA_FILE)
        save_schema(schema, schema_path)
        counters = outcome.counters
        splits = {
            name: written_split(
                out,
                os.path.join(DATA_DIR, f"{name}-*-of-*"),
                counters,
                f"{name}_rows_written",
            )
            for name in ("train", *others)
        }
        _write_split_stats(out, splits)
        result = JobResult.finished(
            "transform",
            out,
            outcome,
            splits=splits,
            stats=stats.describe(out),
            label=schema.label,
            key=schema.key,
            schema_file=schema_path,
            inputs=tuple(files),
            notes=notes,
            extra={
                "eval_fraction": options.eval_fraction,
                "split_fractions": dict(split_fractions),
                "module_file": options.module_file,
                "transform_fn": join(out, TRANSFORM_FN_DIR),
            },
        )
        write_job_file(result.moved(out, options.output), out)
        return result
