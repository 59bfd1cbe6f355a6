"""Build, run and watch a Beam pipeline the same way for every runner.

The job functions hand over a `construct(pipeline)` callback; this module owns the options,
progress reporting, waiting, metrics and the translation of worker errors into one clean line.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pipeline import progress
from pipeline.errors import JobFailedError, JobOptionsError, PipelineError, TooManyBadRowsError
from pipeline.options import RunnerOptions

log = logging.getLogger(__name__)
# Runners whose options Beam declares in apache_beam.options: a Beam option they do not know
# is a typo, not an engine's own option.
KNOWN_RUNNERS = (
    "FnApiRunner",
    "DirectRunner",
    "BundleBasedDirectRunner",
    "DataflowRunner",
    "PortableRunner",
    "FlinkRunner",
    "SparkRunner",
    "PrismRunner",
)
_BEAM_SUFFIX = re.compile(r"\s*\[while running '([^']*)'\]")
_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit))\s*:\s*(.+)$")


@dataclass(slots=True)
class RunOutcome:
    """A finished (or translated) run: Beam's result, the recio counters, the wall time."""

    runner: str
    result: Any
    counters: dict[str, int]
    seconds: float
    dry_run: bool


def pipeline_options(runner: RunnerOptions) -> Any:
    """Beam's PipelineOptions for the runner; a Beam option nobody declares is refused (Beam
    itself would log and drop it, so `-- --job_endpiont=...` would silently do nothing)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(runner.pipeline_args())
    if runner.runner in KNOWN_RUNNERS:
        with _silenced("apache_beam.options.pipeline_options"):
            known = options.get_all_options()
            given = options.get_all_options(retain_unknown_options=True)
        unknown = sorted(f"--{name}" for name in set(given) - set(known))
        if unknown:
            raise JobOptionsError(
                f"Beam has no option {', '.join(unknown)}; check the spelling of the Beam "
                "options (those after '--')"
            )
    return options


@contextlib.contextmanager
def _silenced(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    saved = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = saved


# What Beam logs while it builds, stages and submits a remote job, as a person would say it.
_SUBMISSION_STEPS = (
    (
        re.compile(r"Executing command: .*(?:sdist|'build')"),
        "building the recio package for the workers",
    ),
    (re.compile(r"Starting GCS upload to (\S+?)\.*$"), "staging {0}"),
    (re.compile(r"^Create job: "), "submitting the job"),
    (re.compile(r"Created job with id: \[(.*)\]"), "submitted job {0}"),
    (re.compile(r"monitoring console, please navigate to (\S+)"), "watch it at {0}"),
)
_SUBMISSION_LOGGERS = (
    "apache_beam.runners.portability.stager",
    "apache_beam.runners.dataflow.internal.apiclient",
)


class _SubmissionSteps(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for pattern, say in _SUBMISSION_STEPS:
            found = pattern.search(message)
            if found:
                log.info(say.format(*found.groups()))
                return


@contextlib.contextmanager
def _reporting_submission(runner: RunnerOptions) -> Iterator[None]:
    """Say what a remote runner is doing (building, staging, submitting) while run() waits."""
    if runner.local:
        yield
        return
    handler = _SubmissionSteps(logging.INFO)
    saved = []
    for name in _SUBMISSION_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def run(
    construct: Callable[[Any], None],
    runner: RunnerOptions,
    *,
    on_progress: progress.ProgressCallback | None = None,
    output: str | None = None,
) -> RunOutcome:
    """Construct the pipeline, run it to completion, return its counters.

    Errors raised while the pipeline runs come back as PipelineError subclasses with one
    readable line (the failing step's name included); RECIO_DEBUG=1 at the CLI shows the rest.
    """
    import apache_beam as beam

    start = time.perf_counter()  # construction included: TFT traces the graph here
    try:
        pipeline = beam.Pipeline(options=pipeline_options(runner))
    except ValueError as error:  # Beam's option validation: one message per bad option
        problems = [line.strip() for line in str(error).split("\n")[1:] if line.strip()]
        raise JobOptionsError(
            f"{runner.runner} rejected the options: {'; '.join(problems) or error}"
        ) from error
    try:
        return _run_constructed(pipeline, construct, runner, start, on_progress, output)
    finally:
        # Beam makes this folder when the Pipeline is created and removes it only at the end of
        # run(): an error or Ctrl-C while the graph is traced would leave it behind.
        shutil.rmtree(getattr(pipeline, "local_tempdir", ""), ignore_errors=True)


def _run_constructed(
    pipeline: Any,
    construct: Callable[[Any], None],
    runner: RunnerOptions,
    start: float,
    on_progress: progress.ProgressCallback | None,
    output: str | None,
) -> RunOutcome:
    from apache_beam.runners.runner import PipelineState

    try:
        construct(pipeline)
    except PipelineError:
        raise
    except Exception as error:  # TF/TFT tracing the graph, or a filesystem the job touches
        raise translate_error(error) from error
    try:
        if runner.local and on_progress is not None:
            with progress.LocalReporter(on_progress):
                result = pipeline.run()
                result.wait_until_finish()
        else:
            with _reporting_submission(runner):
                result = pipeline.run()
            if not runner.dry_run:
                progress.poll_remote(result, on_progress)
                result.wait_until_finish()
    except BaseException as error:
        if output is not None:
            remove_sink_temp_dirs(output)
        if not isinstance(error, Exception):  # Ctrl-C, SIGTERM: unwind, after cleaning up
            raise
        raise translate_error(error) from error
    seconds = time.perf_counter() - start
    state = getattr(result, "state", None)
    if not runner.dry_run and state not in (PipelineState.DONE, None):
        raise JobFailedError(f"the Beam job ended in state {state} on {runner.runner}")
    counters = {} if runner.dry_run else progress.counter_values(result)
    return RunOutcome(runner.runner, result, counters, seconds, runner.dry_run)


def translate_error(error: BaseException) -> PipelineError:
    """One line a person can act on, from whatever a runner raised."""
    text = str(error)
    marker = "recio: too many bad rows:"
    if marker in text:
        detail = text.split(marker, 1)[1].strip().split("\n")[0]
        return TooManyBadRowsError(_BEAM_SUFFIX.sub("", detail).strip(), params=("max_bad_rows",))
    step = None
    found = _BEAM_SUFFIX.findall(text)
    if found:
        step = found[-1]
    if isinstance(error, PipelineError):
        error.detail = _BEAM_SUFFIX.sub("", error.detail.split("\n")[0]).strip()
        return error
    line = None
    for candidate in reversed(text.split("\n")):
        match = _ERROR_LINE.match(candidate)
        if match:
            line = f"{match.group(1)}: {_BEAM_SUFFIX.sub('', match.group(2)).strip()}"
            break
    if line is None:
        line = f"{type(error).__name__}: {_BEAM_SUFFIX.sub('', text.split(chr(10))[0]).strip()}"
    where = f" in step {step!r}" if step else ""
    return JobFailedError(f"the Beam job failed{where}: {line}", step=step)


def dry_run_details(result: Any) -> dict[str, Any]:
    """Steps, worker image and staged files of a Dataflow job translated with --dry_run=True."""
    from apache_beam.portability.api import beam_runner_api_pb2

    job = getattr(result, "job", None)
    if job is None:
        return {}
    proto = job.proto_pipeline
    transforms = proto.components.transforms
    names = sorted({t.unique_name for t in transforms.values()})
    top: list[str] = []
    for root in proto.root_transform_ids:  # the job's own steps, in the order it built them
        children = transforms[root].subtransforms
        top += [transforms[c].unique_name for c in children] or [transforms[root].unique_name]
    images, staged = [], []
    for env in proto.components.environments.values():
        if env.urn == "beam:env:docker:v1":
            images.append(beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image)
        for dep in env.dependencies:
            role = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(dep.role_payload)
            staged.append(role.staged_name)
    return {
        "steps": len(names),
        "top_steps": top,
        "step_names": names,
        "image": images[0] if images else None,
        "staged": sorted(set(staged)),
        "job_type": int(job.proto.type),
    }


def remove_sink_temp_dirs(output: str) -> None:
    """Delete the beam-temp-* folders Beam's file sinks leave behind when a job fails (local)."""
    import glob
    import os
    import shutil

    from pipeline._files import is_remote

    if is_remote(output):
        return
    for pattern in ("beam-temp-*", os.path.join("*", "beam-temp-*")):
        for path in glob.glob(os.path.join(output, pattern)):
            shutil.rmtree(path, ignore_errors=True)
