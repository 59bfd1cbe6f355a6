"""`recio job csv`: CSV files -> sharded GZIP TFRecords of tf.train.Examples.

Output folder:
    data-00000-of-0000N.tfrecord.gz   one Example per good row (missing optional cells: empty)
    schema.json                       the schema used (inferred ones included), for reuse
    metadata/schema.pbtxt             the same schema in tf.metadata form
    bad_rows.jsonl                    one JSON line per bad row: file, reason, text or cells
    recio_job.json                    counts, files, label/key (read by the loaders)
"""

from __future__ import annotations

from typing import Any

from pipeline import progress
from pipeline._files import join
from pipeline.cloud import check_cloud_access
from pipeline.csv_format import file_columns
from pipeline.inputs import check_remote_paths, expand_inputs
from pipeline.job_schema import dropped_columns, options_csv_schema
from pipeline.layout import (
    BAD_ROWS_FILE,
    DATA_PREFIX,
    JOB_FILE,
    RAW_METADATA_DIR,
    SCHEMA_FILE,
)
from pipeline.options import CsvJobOptions
from pipeline.outputs import data_split, staged_output, write_raw_metadata
from pipeline.quiet import import_tensorflow_quietly
from pipeline.results import JobResult, write_job_file
from pipeline.runner import pipeline_options
from pipeline.schema import save_schema

MANAGED = ("data-*-of-*", SCHEMA_FILE, RAW_METADATA_DIR, BAD_ROWS_FILE, JOB_FILE)


def run_csv_job(
    options: CsvJobOptions, *, on_progress: progress.ProgressCallback | None = None
) -> JobResult:
    """Convert CSV files to Examples; returns the counts, files and schema location.

    Raises InputError/SchemaError before anything heavy is imported when files, header or
    schema are wrong, and TooManyBadRowsError when more than `max_bad_rows` rows fail to decode.
    """
    check_cloud_access(options.runner, options.inputs, options.output)
    files = expand_inputs(options.inputs, what="CSV")
    schema, notes = options_csv_schema(options, files)
    check_remote_paths(options.runner, files, options.output)
    columns = {path: file_columns(path, schema, options.csv) for path in files}
    notes += dropped_columns(columns, schema)
    run_opts = options.runner
    pipeline_options(run_opts)  # Beam's options check out before anything is written
    with staged_output(
        options.output, MANAGED, overwrite=options.overwrite, dry_run=run_opts.dry_run
    ) as out:
        import_tensorflow_quietly()  # the Example encoder (tfx_bsl) and metadata writer need it
        import apache_beam as beam

        from pipeline import beam_io, runner
        from pipeline.sinks import write_record_batches

        def construct(p: Any) -> None:
            read = p | "ReadCsv" >> beam_io.ReadCsvBatches(
                columns, schema, options.csv, spread=not run_opts.local
            )
            written_bad = beam_io.write_bad_rows(read[beam_io.BAD], out)
            batches = beam_io.enforce_bad_row_limit(
                read["batches"], read[beam_io.BAD], written_bad, options.max_bad_rows
            )
            _ = (
                batches
                | "EncodeExamples" >> beam.ParDo(beam_io.EncodeExamplesFn("rows_written"))
                | "WriteExamples"
                >> write_record_batches(
                    join(out, DATA_PREFIX),
                    compression=options.compression,
                    num_shards=options.shards,
                )
            )

        outcome = runner.run(construct, run_opts, on_progress=on_progress, output=out)
        if outcome.dry_run:
            return JobResult.translated("csv", out, outcome, inputs=tuple(files))
        schema_path = join(out, SCHEMA_FILE)
        save_schema(schema, schema_path)
        write_raw_metadata(schema, out)
        result = JobResult.finished(
            "csv",
            out,
            outcome,
            splits={"data": data_split(out, outcome.counters)},
            label=schema.label,
            key=schema.key,
            schema_file=schema_path,
            inputs=tuple(files),
            notes=notes,
        )
        write_job_file(result.moved(out, options.output), out)
        return result
