"""The pipeline package's exception tree."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline package raises on bad input or options."""

    user_facing = True


class SchemaError(PipelineError):
    """A schema file is malformed, or does not fit the data (unknown column, bad transform)."""


class JobOptionsError(PipelineError):
    """Job or runner options that cannot work together (e.g. Dataflow without a project)."""


class InputError(PipelineError):
    """Input files are missing, empty or unreadable (no match, bad header, no images)."""


class TooManyBadRowsError(PipelineError):
    """More rows failed to decode than --max-bad-rows allows; the dead-letter file names them."""


class JobFailedError(PipelineError):
    """The Beam job itself failed; the message carries the first line of the worker's error."""
