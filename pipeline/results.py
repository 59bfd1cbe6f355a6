"""What a job reports when it finishes: a JobResult, its recio_job.json, and a printed summary."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline._files import count_lines, join, write_text
from pipeline.layout import BAD_ROWS_FILE, JOB_FILE
from pipeline.progress import ROWS_COUNTER


@dataclass(frozen=True, slots=True)
class SplitInfo:
    """One output split: how many rows (None: unknown), which files (relative to the output)."""

    rows: int | None
    files: tuple[str, ...]


@dataclass(slots=True)
class JobResult:
    """The outcome of one job run.

    Attributes:
        job: "csv", "transform" or "augment".
        output: the output folder.
        runner: the Beam runner that ran (or translated) the job.
        seconds: wall time of the Beam run.
        rows_in: rows (or images) read successfully; None when the runner returned no metrics
            and the output cannot be counted (remote).
        bad_rows: rows that could not be decoded (listed in `bad_rows_file`), or None.
        splits: output splits by name ("data" for csv/augment, "train"/"eval" for transform).
        stats: what the analyzers computed (transform job), per output feature.
        label, key: the label and key columns, for loaders.
        notes: decisions a person should know of (columns inferred as strings, columns left
            out, a transformed or absent label); they name Python parameters.
        dry_run: the job was translated (e.g. for Dataflow) but not run; no outputs exist.
        pipeline_result: Beam's PipelineResult (for dry runs: `.job` holds the Dataflow job).
    """

    job: str
    output: str
    runner: str
    seconds: float = 0.0
    rows_in: int | None = 0
    bad_rows: int | None = 0
    bad_rows_file: str | None = None
    splits: dict[str, SplitInfo] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    key: str | None = None
    schema_file: str | None = None
    inputs: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    pipeline_result: Any = None

    @classmethod
    def translated(
        cls, job: str, output: str, outcome: Any, *, inputs: tuple[str, ...] = ()
    ) -> JobResult:
        """A dry run's result: the translated job's steps, image and staged files; no outputs."""
        from pipeline.runner import dry_run_details

        return cls(
            job=job,
            output=output,
            runner=outcome.runner,
            dry_run=True,
            inputs=inputs,
            extra={"dry_run": dry_run_details(outcome.result)},
            pipeline_result=outcome.result,
        )

    @classmethod
    def finished(
        cls,
        job: str,
        output: str,
        outcome: Any,
        *,
        rows_per_input: int = 1,
        **fields: Any,
    ) -> JobResult:
        """A completed run's result, plus `fields`: time, and row counts from its recio counters.

        A runner that returns no metrics (a portable job server) still gets true counts: the
        rows read are what the splits hold (`rows_per_input` output rows per input row) and the
        bad rows are the lines of the dead-letter file.
        """

        counters = outcome.counters
        bad_rows_file = join(output, BAD_ROWS_FILE)
        rows_in = counters.get(ROWS_COUNTER)
        if rows_in is None:
            written = [info.rows for info in fields.get("splits", {}).values()]
            known = None not in written
            rows_in = sum(r for r in written if r is not None) // rows_per_input if known else None
        bad_rows = counters.get("bad_rows")
        if bad_rows is None:
            bad_rows = count_lines(bad_rows_file)
        return cls(
            job=job,
            output=output,
            runner=outcome.runner,
            seconds=outcome.seconds,
            rows_in=rows_in,
            bad_rows=bad_rows,
            bad_rows_file=bad_rows_file,
            pipeline_result=outcome.result,
            **fields,
        )

    def moved(self, stage: str, output: str) -> JobResult:
        """The same result with paths under the staging folder `stage` named under `output`."""
        if stage == output:
            return self

        def name(value: Any) -> Any:
            if isinstance(value, str) and value.startswith(stage):
                return output + value[len(stage) :] if value != stage else output
            return value

        self.output = name(self.output)
        self.bad_rows_file = name(self.bad_rows_file)
        self.schema_file = name(self.schema_file)
        self.extra = {k: name(v) for k, v in self.extra.items()}
        return self

    def to_json(self) -> dict[str, Any]:
        """The content of OUT/recio_job.json (everything but the live Beam objects)."""
        return {
            "job": self.job,
            "label": self.label,
            "key": self.key,
            "splits": {
                name: {"rows": info.rows, "files": list(info.files)}
                for name, info in self.splits.items()
            },
            "rows_in": self.rows_in,
            "bad_rows": {"count": self.bad_rows, "file": self.bad_rows_file},
            "schema": self.schema_file,
            "stats": self.stats,
            "inputs": list(self.inputs),
            "runner": self.runner,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            **self.extra,
        }

    def summary(self, rewrite: Callable[[str], str] | None = None) -> str:
        """A few lines for a person: rows in and out, bad rows, statistics, where things went.

        `rewrite` turns each note's parameter names into a front end's words (CLI flags)."""
        if self.dry_run:
            return _dry_run_summary(self)
        lines = [f"recio job {self.job}: finished in {self.seconds:.1f} s on {self.runner}"]
        lines.append(f"  rows in      {_count(self.rows_in)}")
        bad = f"  bad rows     {_count(self.bad_rows)}"
        if self.bad_rows_file:
            bad += f"  -> {self.bad_rows_file}"
        lines.append(bad)
        for name, info in self.splits.items():
            where = info.files[0] if len(info.files) == 1 else f"{len(info.files)} files"
            lines.append(f"  {name:<12} {_count(info.rows)} rows -> {where}")
        lines += _stats_lines(self.stats)
        if self.schema_file:
            lines.append(f"  schema       {self.schema_file}")
        lines.append(f"  output       {self.output}")
        lines += [f"  note: {rewrite(note) if rewrite else note}" for note in self.notes]
        return "\n".join(lines)


def _count(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _number(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.6g}"
    if isinstance(value, list):
        shown = ", ".join(_number(v) for v in value[:6])
        return f"[{shown}{', ...' if len(value) > 6 else ''}]"
    return str(value)


def _stats_lines(stats: dict[str, Any]) -> list[str]:
    lines = []
    analyzers = stats.get("analyzers") or {}
    vocabs = stats.get("vocabularies") or {}
    if analyzers or vocabs:
        lines.append("  analyzers (computed on the train split):")
    for output in sorted(analyzers):
        values = analyzers[output]
        parts = [f"{k} {_number(v)}" for k, v in values.items() if not k.startswith("var")]
        lines.append(f"    {output:<22} " + ", ".join(parts))
    for name in sorted(vocabs):
        info = vocabs[name]
        top = ", ".join(info["top"][:5])
        lines.append(f"    {name:<22} vocabulary of {info['size']:,}: {top}")
    if stats.get("error"):
        lines.append(f"    ({stats['error']})")
    return lines


def _dry_run_summary(result: JobResult) -> str:
    info = result.extra.get("dry_run", {})
    lines = [
        f"recio job {result.job}: translated for {result.runner} (dry run, nothing submitted)",
        f"  steps        {', '.join(info.get('top_steps') or []) or '?'}"
        f" ({info.get('steps', '?')} transforms in all)",
        f"  image        {info.get('image', '?')}",
        f"  staged       {', '.join(info.get('staged', [])) or '-'}",
    ]
    return "\n".join(lines)


def write_job_file(result: JobResult, folder: str | None = None) -> str:
    """Write OUT/recio_job.json (into `folder`, the job's staging folder, when given)
    atomically and return its path."""
    path = join(folder or result.output, JOB_FILE)
    write_text(path, json.dumps(result.to_json(), indent=2, default=str) + "\n")
    return path
