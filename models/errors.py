"""The models package's exception tree."""

from __future__ import annotations


class ModelError(Exception):
    """Base of every error the models package raises on bad input or options."""

    user_facing = True


class UnknownModelError(ModelError):
    """A model name that no builder answers to."""


class DataSpecError(ModelError):
    """The data's features or label do not fit the chosen model (wrong count, type or shape)."""


class TrainingOptionError(ModelError):
    """A training option out of range or contradicting another one."""


class ExportError(ModelError):
    """The trained model could not be turned into a serving SavedModel."""


class PredictError(ModelError):
    """A model directory that cannot be loaded, or records that do not match its signature."""
