"""The model names `recio train` accepts, without importing Keras (so bad options fail fast)."""

from __future__ import annotations

from dataclasses import dataclass

from models.errors import UnknownModelError
from models.specs import CLASSIFICATION, REGRESSION

SCHEDULES = ("constant", "exponential", "piecewise", "1cycle", "plateau")


@dataclass(frozen=True)
class ModelInfo:
    """A name the CLI accepts, what it learns and the optimizer the book trains it with."""

    name: str
    task: str
    kind: str  # "image" or "tabular"
    optimizer: str
    learning_rate: float
    summary: str


MODELS: dict[str, ModelInfo] = {
    "mlp": ModelInfo(
        "mlp", CLASSIFICATION, "image", "sgd", 0.01, "ch.10 MLP 300-100 (266,610 on 28x28x10)"
    ),
    "bn-mlp": ModelInfo(
        "bn-mlp", CLASSIFICATION, "image", "sgd", 0.01, "ch.11 batch-normalised MLP (271,346)"
    ),
    "cnn": ModelInfo("cnn", CLASSIFICATION, "image", "nadam", 1e-3, "ch.14 CNN (1,413,834)"),
    "housing": ModelInfo(
        "housing", REGRESSION, "tabular", "adam", 1e-3, "ch.13 housing regressor n-30-1"
    ),
}


def model_info(name: str) -> ModelInfo:
    """The registry entry for `name` ('bn_mlp' and 'bn-mlp' both work)."""
    key = name.strip().lower().replace("_", "-")
    if key not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[key]
