"""The models package's one exception tree, shaped like recordio's.

Every error is a `ModelError`: one line from `str()`, a stable `kind` for reports, and `params`,
the Python parameters the message names (a command-line front end shows them as its flags).
"""

from __future__ import annotations

from recordio.errors import StructuredError


class ModelError(StructuredError):
    """Base of every error the models package raises on bad input, options or data."""

    kind = "model"


class UnknownModelError(ModelError):
    """A model name that no builder answers to."""

    kind = "unknown_model"


class DataSpecError(ModelError):
    """The data's features or label do not fit the chosen model (wrong count, type or shape)."""

    kind = "data_spec"


class VariableLengthError(DataSpecError):
    """A feature the model needs at a fixed size holds a varying number of values (or is missing
    from some records); `feature` names it."""

    kind = "variable_length"

    def __init__(self, detail: str, *, feature: str, **where: object) -> None:
        self.feature = feature
        super().__init__(detail, **where)  # type: ignore[arg-type]


class TrainingOptionError(ModelError):
    """A training option out of range or contradicting another one."""

    kind = "training_option"


class RunExistsError(ModelError):
    """The output folder already holds a training run, and replacing it was not asked for."""

    kind = "run_exists"


class ExportError(ModelError):
    """The trained model could not be turned into a serving SavedModel."""

    kind = "export"


class PredictError(ModelError):
    """A model directory that cannot be loaded, or records that do not match its signature."""

    kind = "predict"


class PredictOptionError(PredictError):
    """A prediction option out of range (batch size, output format)."""

    kind = "predict_option"


__all__ = [
    "DataSpecError",
    "ExportError",
    "ModelError",
    "PredictError",
    "PredictOptionError",
    "RunExistsError",
    "TrainingOptionError",
    "UnknownModelError",
    "VariableLengthError",
]
