"""The pipeline package's one exception tree, shaped like recordio's.

Every error is a `PipelineError`: one line from `str()` (the file it concerns, what is wrong,
what to do), a stable `kind` for reports, and `params`, the Python parameters the message names
(a command-line front end shows them as its flags). The loaders' errors are part of the tree.
"""

from __future__ import annotations

from typing import Any

from recordio.errors import StructuredError


class PipelineError(StructuredError):
    """Base of every error the pipeline package raises on bad input, options or data."""

    kind = "pipeline"


class SchemaError(PipelineError):
    """A schema file is malformed, or does not fit the data (unknown column, bad transform)."""

    kind = "schema"


class JobOptionsError(PipelineError):
    """Job or runner options that cannot work together (e.g. Dataflow without a project)."""

    kind = "job_options"


class OutputExistsError(PipelineError):
    """The output folder holds an earlier run's outputs, and replacing them was not asked for."""

    kind = "output_exists"


class OutputWriteError(PipelineError):
    """The output folder cannot be created or written (permissions, a file in the way)."""

    kind = "output_write"


class InputError(PipelineError):
    """Input files are missing, empty or unreadable (no match, bad header, no images)."""

    kind = "input"


class CloudAccessError(PipelineError):
    """Google Cloud cannot be used from here: no network, or no credentials."""

    kind = "cloud_access"


class TooManyBadRowsError(PipelineError):
    """More rows failed to decode than `max_bad_rows` allows; the dead-letter file names them."""

    kind = "too_many_bad_rows"


class JobFailedError(PipelineError):
    """The Beam job itself failed; `step` names the failing step when the runner said."""

    kind = "job_failed"

    def __init__(self, detail: str, *, step: str | None = None, **where: Any) -> None:
        self.step = step
        super().__init__(detail, **where)


class LoaderError(PipelineError):
    """Data a loader cannot read as asked (no files, a feature that is not there)."""

    kind = "loader"


class LoaderOptionError(LoaderError):
    """A loader option out of range or contradicting another one."""

    kind = "loader_option"


class RecordSpecError(LoaderError):
    """A record does not hold what the feature spec says (missing feature, wrong kind or count).

    `path` and `index` name the record (index = position in its file, counted from 0).
    """

    kind = "record_spec"

    def __init__(self, detail: str, *, index: int | None = None, **where: Any) -> None:
        self.index = index
        super().__init__(detail, **where)

    def where(self) -> str:
        return f"record {self.index}" if self.index is not None and self.path else ""


class WorkerError(LoaderError):
    """A loader worker process died without reporting an error (killed, out of memory)."""

    kind = "worker"


__all__ = [
    "CloudAccessError",
    "InputError",
    "JobFailedError",
    "JobOptionsError",
    "LoaderError",
    "LoaderOptionError",
    "OutputExistsError",
    "OutputWriteError",
    "PipelineError",
    "RecordSpecError",
    "SchemaError",
    "TooManyBadRowsError",
    "WorkerError",
]
