"""The book's Keras 3 models and the training loop that feeds them from recio's loaders.

Importing this package is cheap: Keras (and with it a backend) loads on first use of a name
that needs it, through the module-level `__getattr__` below.
"""

from __future__ import annotations

import importlib
from typing import Any

from models.errors import (
    DataSpecError,
    ExportError,
    ModelError,
    PredictError,
    PredictOptionError,
    RunExistsError,
    TrainingOptionError,
    UnknownModelError,
)

_LAZY = {
    "MODELS": "models.registry",
    "build_bn_mlp": "models.builders",
    "build_cnn": "models.builders",
    "build_mlp": "models.builders",
    "build_model": "models.builders",
    "build_regressor": "models.builders",
    "model_info": "models.registry",
    "HuberLoss": "models.losses",
    "OneHot": "models.layers",
    "OneCycle": "models.schedules",
    "ModelInputs": "models.specs",
    "model_inputs": "models.specs",
    "DataPlan": "models.data",
    "TrainingData": "models.data",
    "open_loaders": "models.data",
    "open_training_data": "models.data",
    "plan_data": "models.data",
    "TrainOptions": "models.training",
    "TrainResult": "models.training",
    "fit": "models.training",
    "train": "models.training",
    "export_run": "models.export",
    "load_keras_model": "models.export",
    "predict_records": "models.predict",
}

__all__ = [
    "DataSpecError",
    "ExportError",
    "ModelError",
    "PredictError",
    "PredictOptionError",
    "RunExistsError",
    "TrainingOptionError",
    "UnknownModelError",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
