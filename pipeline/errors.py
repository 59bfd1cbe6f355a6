"""The pipeline package's exception tree."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline package raises on bad input or options."""

    user_facing = True
