"""Errors the loaders raise; all are `pipeline.PipelineError`, so the CLI prints one line."""

from __future__ import annotations

from pipeline.errors import PipelineError


class LoaderError(PipelineError):
    """Bad loader options or data that does not fit the feature spec."""


class RecordSpecError(LoaderError):
    """A record does not hold what the feature spec says (missing feature, wrong kind or count).

    `path` and `index` name the record (index = position in its file, counted from 0).
    """

    def __init__(self, detail: str, *, path: str | None = None, index: int | None = None) -> None:
        self.detail = detail
        self.path = path
        self.index = index
        super().__init__(detail)

    def __str__(self) -> str:
        if self.path is None:
            return self.detail
        where = f"record {self.index}: " if self.index is not None else ""
        return f"{self.path}: {where}{self.detail}"


class WorkerError(LoaderError):
    """A loader worker process died without reporting an error (killed, out of memory)."""


__all__ = ["LoaderError", "RecordSpecError", "WorkerError"]
