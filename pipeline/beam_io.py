"""Beam building blocks shared by the jobs: sources that yield Arrow batches plus bad rows,
the dead-letter file, the bad-row limit, and batch encoding to tf.train.Examples.

This module imports Beam at the top; only job functions import it, so `import pipeline` stays
cheap. Every DoFn is a top-level class so that multi-process and remote workers can load it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from pipeline import progress
from pipeline.csv_format import CsvFormat, decode_csv_file
from pipeline.layout import BAD_ROWS_FILE
from pipeline.schema import Schema
from recordio import canonical_example

BAD = "bad"
BAD_ROWS_MARKER = "recio: too many bad rows:"


def _outputs(batch: Any, bad: list[dict[str, Any]]) -> Iterator[Any]:
    """Count and emit one decoded batch: bad rows to the dead-letter output, good rows on."""
    if bad:
        progress.count("bad_rows", len(bad))
        for row in bad:
            yield pvalue.TaggedOutput(BAD, json.dumps(row, ensure_ascii=False))
    if batch is not None and batch.num_rows:
        progress.count(progress.ROWS_COUNTER, batch.num_rows)
        yield batch


# -- CSV --------------------------------------------------------------------------------------
class DecodeCsvFileFn(beam.DoFn):
    """path -> Arrow record batches (main output) and JSON bad rows (the 'bad' output)."""

    def __init__(self, schema: Schema, fmt: CsvFormat, columns: dict[str, list[str]]) -> None:
        self.schema = schema
        self.fmt = fmt
        self.columns = columns

    def setup(self) -> None:
        self.arrow_schema = self.schema.arrow_schema()

    def process(self, path: str) -> Iterator[Any]:
        names = self.columns[path]
        for batch, bad in decode_csv_file(path, self.schema, self.fmt, self.arrow_schema, names):
            yield from _outputs(batch, bad)


class ReadCsvBatches(beam.PTransform):
    """Read CSV files as Arrow batches in the TFXIO layout; `.bad` holds the bad rows.

    Files are read whole by one worker each (pyarrow parses ~100 MB/s); `spread=True` adds a
    reshuffle so that on a cluster the batches of one big file fan out to many workers.
    """

    def __init__(
        self, columns: dict[str, list[str]], schema: Schema, fmt: CsvFormat, *, spread: bool
    ) -> None:
        super().__init__()
        self.columns = columns
        self.schema = schema
        self.fmt = fmt
        self.spread = spread

    def expand(self, pbegin: Any) -> Any:
        files = pbegin | "ListCsvFiles" >> beam.Create(sorted(self.columns))
        if self.spread:
            files = files | "SpreadCsvFiles" >> beam.Reshuffle()
        decoded = files | "DecodeCsv" >> beam.ParDo(
            DecodeCsvFileFn(self.schema, self.fmt, self.columns)
        ).with_outputs(BAD, main="batches")
        batches = decoded.batches
        if self.spread:
            batches = batches | "SpreadBatches" >> beam.Reshuffle()
        return {"batches": batches, BAD: decoded[BAD]}


# -- Example TFRecords ---------------------------------------------------------------------------
def _example_batch_to_tfxio(
    decoded: Any, schema: Schema, arrow_schema: Any
) -> tuple[Any, dict[int, str]]:
    """Reorder/normalise decoder output: (TFXIO batch of the good rows, {bad row: reason})."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = decoded.num_rows
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    columns: dict[str, Any] = {}
    for col in schema.columns:
        index = decoded.schema.get_field_index(col.name)
        want = arrow_schema.field(col.name).type
        if index < 0:
            lists = pa.array([None] * n, type=want)
        else:
            lists = decoded.column(index)
            if lists.type != want:
                lists = lists.cast(want)
        lengths = np.asarray(pc.fill_null(pc.list_value_length(lists), 0), dtype=np.int64)
        if col.values == "var":
            limit_bad = np.zeros(n, dtype=bool)
        elif col.values is not None:
            limit_bad = lengths != col.values
        else:
            limit_bad = lengths > 1
            if col.required:
                limit_bad |= lengths != 1
        for row in np.flatnonzero(limit_bad & ~bad):
            count = int(lengths[row])
            need = (
                f"exactly {col.values}"
                if col.values is not None
                else "exactly one"
                if col.required
                else "at most one"
            )
            reasons[int(row)] = f"feature {col.name!r} has {count} values; the schema wants {need}"
        bad |= limit_bad
        columns[col.name] = lists
    keep = pa.array(~bad)
    arrays = []
    for col in schema.columns:
        lists = columns[col.name].filter(keep) if bad.any() else columns[col.name]
        # null lists (feature absent) become empty lists, as TFXIO's own decoder would read them
        values = lists.flatten()
        lengths = np.asarray(pc.fill_null(pc.list_value_length(lists), 0), dtype=np.int64)
        offsets = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        arrays.append(pa.LargeListArray.from_arrays(pa.array(offsets), values))
    return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema), reasons


class DecodeExampleFileFn(beam.DoFn):
    """path of an Example TFRecord (or Parquet) file -> Arrow batches + bad records (JSON)."""

    def __init__(self, schema: Schema, batch_records: int = 8192) -> None:
        self.schema = schema
        self.batch_records = batch_records

    def setup(self) -> None:
        from tfx_bsl.coders import example_coder

        self.arrow_schema = self.schema.arrow_schema()
        self.decoder = example_coder.ExamplesToRecordBatchDecoder(
            self.schema.tf_metadata_schema().SerializeToString()
        )

    def _decode(self, records: list[bytes]) -> tuple[list[bytes], list[tuple[int, str]]]:
        """Drop records that are not Examples of the right types; return (good, bad)."""
        try:
            self.decoder.DecodeBatch(records)
            return records, []
        except Exception:  # find the culprits one by one (rare path)
            good, bad = [], []
            for i, record in enumerate(records):
                try:
                    self.decoder.DecodeBatch([record])
                    good.append(record)
                except Exception as error:
                    bad.append((i, str(error).split("\n")[0]))
            return good, bad

    def process(self, path: str) -> Iterator[Any]:
        from apache_beam.io.filesystem import CompressionTypes
        from apache_beam.io.filesystems import FileSystems

        from recordio import TFRecordReader

        start = 0
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            if path.lower().endswith((".parquet", ".pq")):
                from recordio.tabular import parquet_record_batches

                batches = parquet_record_batches(raw, batch_records=self.batch_records, name=path)
            else:
                batches = TFRecordReader(raw).iter_batches(max_records=self.batch_records)
            for records in batches:
                good, undecodable = self._decode(records)
                bad_rows = [
                    {"file": path, "record": start + i, "reason": f"not a valid Example: {why}"}
                    for i, why in undecodable
                ]
                batch = None
                if good:
                    batch, reasons = _example_batch_to_tfxio(
                        self.decoder.DecodeBatch(good), self.schema, self.arrow_schema
                    )
                    skipped = {i for i, _ in undecodable}
                    good_index = [i for i in range(len(records)) if i not in skipped]
                    bad_rows += [
                        {"file": path, "record": start + good_index[row], "reason": why}
                        for row, why in sorted(reasons.items())
                    ]
                start += len(records)
                yield from _outputs(batch, bad_rows)


class ReadExampleBatches(beam.PTransform):
    """Read Example TFRecord files (any compression) as Arrow batches + bad records."""

    def __init__(self, files: Sequence[str], schema: Schema, *, spread: bool) -> None:
        super().__init__()
        self.files = list(files)
        self.schema = schema
        self.spread = spread

    def expand(self, pbegin: Any) -> Any:
        files = pbegin | "ListRecordFiles" >> beam.Create(sorted(self.files))
        if self.spread:
            files = files | "SpreadRecordFiles" >> beam.Reshuffle()
        decoded = files | "DecodeExamples" >> beam.ParDo(
            DecodeExampleFileFn(self.schema)
        ).with_outputs(BAD, main="batches")
        batches = decoded.batches
        if self.spread:
            batches = batches | "SpreadBatches" >> beam.Reshuffle()
        return {"batches": batches, BAD: decoded[BAD]}


# -- dead letters and the bad-row limit ---------------------------------------------------------
def write_bad_rows(bad: Any, output: str) -> Any:
    """Write the JSON bad rows to OUT/bad_rows.jsonl (an empty file when there are none)."""
    from pipeline._files import join

    prefix = join(output, BAD_ROWS_FILE)
    return bad | "WriteBadRows" >> beam.io.WriteToText(prefix, shard_name_template="")


def _check_bad_rows(batch: Any, bad_count: int, written: list[str], limit: int) -> Any:
    if bad_count > limit:
        where = written[0] if written else BAD_ROWS_FILE
        raise RuntimeError(
            f"{BAD_ROWS_MARKER} {bad_count} bad rows exceed max_bad_rows {limit}; "
            f"they are listed in {where}"
        )
    return batch


def enforce_bad_row_limit(batches: Any, bad: Any, written: Any, limit: int | None) -> Any:
    """Let batches through only once the bad rows are counted (and written) and within limit.

    Without a limit this is the identity. With one, the job fails before any output is
    committed, and the dead-letter file already exists for the user to read.
    """
    if limit is None:
        return batches
    count = bad | "CountBadRows" >> beam.combiners.Count.Globally()
    return batches | "CheckBadRowLimit" >> beam.Map(
        _check_bad_rows,
        bad_count=pvalue.AsSingleton(count),
        written=pvalue.AsList(written),
        limit=limit,
    )


# -- encoding -----------------------------------------------------------------------------------
class EncodeExamplesFn(beam.DoFn):
    """Arrow record batch -> list of serialized tf.train.Examples (tfx_bsl's C++ encoder,
    features then reordered by `recordio.canonical_example` for byte-reproducible output).

    Works on the raw TFXIO batches and on tf.Transform's (batch, passthrough) pairs; the
    element count goes to the recio/<counter> metric.
    """

    def __init__(self, counter: str, schema: Any = None) -> None:
        self.counter = counter
        self.schema = schema
        self._encoder: Any = None
        self._for: Any = None

    def process(self, element: Any, schema: Any = None) -> Iterator[list[bytes]]:
        from tfx_bsl.public.tfxio import RecordBatchToExamplesEncoder

        batch = element[0] if isinstance(element, tuple) else element
        wanted = schema if schema is not None else self.schema
        if self._encoder is None or self._for is not wanted:
            self._encoder = RecordBatchToExamplesEncoder(wanted)
            self._for = wanted
        # tfx_bsl writes each Example's feature map in hash order, which differs between runs:
        # put the features in one fixed order so that equal data give equal bytes.
        records = [canonical_example(r) for r in self._encoder.encode(batch)]
        progress.count(self.counter, len(records))
        yield records


# -- train/eval split -------------------------------------------------------------------------
EVAL = "eval"


class SplitBatchFn(beam.DoFn):
    """Record batch -> its train rows (main output) and each other split's rows (tagged), by
    key hash (pipeline.split); `splits` as TransformJobOptions.split_fractions gives them."""

    def __init__(self, key: str | None, splits: tuple[tuple[str, float], ...], salt: str) -> None:
        self.key = key
        self.splits = splits
        self.salt = salt

    def process(self, batch: Any) -> Iterator[Any]:
        import pyarrow as pa

        from pipeline.split import split_of_rows

        if len(self.splits) == 1:
            progress.count("train_rows", batch.num_rows)
            yield batch
            return
        for name, mask in split_of_rows(batch, self.key, self.splits, self.salt).items():
            n = int(mask.sum())
            if not n:
                continue
            progress.count(f"{name}_rows", n)
            part = batch if n == batch.num_rows else batch.filter(pa.array(mask))
            yield part if name == "train" else pvalue.TaggedOutput(name, part)
