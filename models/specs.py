"""What a model needs to know about the data, worked out from the loader's spec without Keras or TF.

Input shapes, the image geometry, the class count and categorical sizes all come from here, so the
builders never hard-code Fashion-MNIST's 28x28x10 and a mismatch is reported before Keras starts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from models.errors import DataSpecError, VariableLengthError

CLASSIFICATION = "classification"
REGRESSION = "regression"


class FeatureLike(Protocol):
    """The parts of `pipeline.loaders.FeatureSpec` used here: its `recordio.Kind`, the numpy
    dtype of its decoded values, and its shape."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def dtype(self) -> str: ...

    @property
    def shape(self) -> tuple[int, ...] | None: ...


@dataclass(frozen=True)
class ModelInputs:
    """Everything a builder and the export need: one JSON-able record per trained model."""

    task: str
    label: str
    features: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, str]
    image_shape: tuple[int, int, int] | None = None
    n_classes: int | None = None
    categorical: dict[str, int] = field(default_factory=dict)
    raw_bytes: tuple[str, ...] = ()
    label_dtype: str = "int64"
    label_mean: float | None = None
    label_std: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["features"] = list(self.features)
        data["raw_bytes"] = list(self.raw_bytes)
        data["shapes"] = {k: list(v) for k, v in self.shapes.items()}
        data["image_shape"] = list(self.image_shape) if self.image_shape else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelInputs:
        return cls(
            task=data["task"],
            label=data["label"],
            features=tuple(data["features"]),
            shapes={k: tuple(v) for k, v in data["shapes"].items()},
            dtypes=dict(data["dtypes"]),
            image_shape=tuple(data["image_shape"]) if data.get("image_shape") else None,
            n_classes=data.get("n_classes"),
            categorical=dict(data.get("categorical") or {}),
            raw_bytes=tuple(data.get("raw_bytes") or ()),
            label_dtype=data.get("label_dtype", "int64"),
            label_mean=data.get("label_mean"),
            label_std=data.get("label_std"),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)


def image_shape_for(name: str, shape: Sequence[int]) -> tuple[int, int, int]:
    """(H, W, C) for an image stored as (H, W, C), (H, W) or a flat H*W or H*W*3 vector."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 3:
        return shape[0], shape[1], shape[2]
    if len(shape) == 2:
        return (shape[0], shape[1], 1)
    if len(shape) == 1:
        size = shape[0]
        for channels in (1, 3):
            side = math.isqrt(size // channels) if size % channels == 0 else 0
            if side and side * side * channels == size:
                return (side, side, channels)
        raise DataSpecError(
            f"feature {name!r} holds {size} values, which is not a square image (H*H or H*H*3); "
            "store it with a (height, width[, channels]) shape"
        )
    raise DataSpecError(f"feature {name!r} has shape {shape}; an image needs 1 to 3 dimensions")


def _describe(spec: Mapping[str, FeatureLike]) -> str:
    parts = []
    for name, feature in spec.items():
        shape = "var" if feature.shape is None else list(feature.shape)
        parts.append(f"{name}:{feature.kind}{shape}")
    return ", ".join(parts)


def pick_label(spec: Mapping[str, FeatureLike], label: str | None, job_label: str | None) -> str:
    """The label column: the one given, else the transform job's, else a feature named 'label'."""
    if label is not None:
        if label not in spec:
            raise DataSpecError(
                f"label {label!r} is not in the data; its features are: {_describe(spec)}"
            )
        return label
    for candidate in (job_label, "label"):
        if candidate and candidate in spec:
            return candidate
    raise DataSpecError(
        f"no label column found (features: {_describe(spec)}); pass label=NAME", params=("label",)
    )


def model_inputs(
    spec: Mapping[str, FeatureLike],
    *,
    task: str,
    kind: str,
    label: str,
    features: Sequence[str] | None = None,
    n_classes: int | None = None,
    categorical: Mapping[str, int] | None = None,
    raw_bytes_lengths: Mapping[str, int] | None = None,
) -> ModelInputs:
    """Check the spec against a model family ('image' or 'tabular') and size its inputs.

    raw_bytes_lengths: for bytes features holding raw uint8 pixels, their length in bytes (found
    by the data layer from the first record); they are decoded to uint8 vectors before the model.
    """
    if label not in spec:
        raise DataSpecError(f"label {label!r} is not in the data; features: {_describe(spec)}")
    label_spec = spec[label]
    if label_spec.shape not in ((), (1,)):
        raise DataSpecError(
            f"label {label!r} must hold one value per record, not shape {label_spec.shape}"
        )
    if task == CLASSIFICATION and label_spec.dtype != "int64":
        raise DataSpecError(
            f"a classifier needs integer class ids, but label {label!r} is {label_spec.kind}; "
            "use the housing regressor for real-valued targets or map classes to ids"
        )
    if label_spec.kind == "bytes":
        raise DataSpecError(
            f"label {label!r} is bytes; map it to numbers first (e.g. a vocabulary)"
        )

    names = list(features) if features else [n for n in spec if n != label]
    for name in names:
        if name not in spec:
            raise DataSpecError(f"feature {name!r} is not in the data; it has: {_describe(spec)}")
        if name == label:
            raise DataSpecError(f"feature {name!r} is the label; it cannot also be an input")
    raw_bytes_lengths = dict(raw_bytes_lengths or {})
    categorical = dict(categorical or {})

    if kind == "image":
        if len(names) != 1:
            raise DataSpecError(
                f"an image model takes exactly one image feature, but {len(names)} were offered "
                f"({', '.join(names) or 'none'}); pass features=[NAME, ...]",
                params=("features",),
            )
        name = names[0]
        feature = spec[name]
        if feature.kind == "bytes":
            if name not in raw_bytes_lengths:
                raise DataSpecError(
                    f"image feature {name!r} is bytes of unknown length; store raw pixels"
                )
            shape: tuple[int, ...] = (raw_bytes_lengths[name],)
            dtype = "uint8"
        elif feature.shape is None:
            raise VariableLengthError(
                f"image feature {name!r} has a variable length; images need a fixed shape",
                feature=name,
            )
        else:
            shape, dtype = tuple(feature.shape), feature.dtype
        image = image_shape_for(name, shape)
        if min(image[0], image[1]) < 1:
            raise DataSpecError(f"image feature {name!r} has an empty shape {shape}")
        return ModelInputs(
            task=task,
            label=label,
            features=(name,),
            shapes={name: shape},
            dtypes={name: dtype},
            image_shape=image,
            n_classes=n_classes,
            raw_bytes=(name,) if feature.kind == "bytes" else (),
            label_dtype=label_spec.dtype,
        )

    shapes: dict[str, tuple[int, ...]] = {}
    dtypes: dict[str, str] = {}
    for name in names:
        feature = spec[name]
        if feature.kind == "bytes":
            if features:
                raise DataSpecError(
                    f"feature {name!r} is bytes; the regressor takes numbers (transform it first)"
                )
            continue  # not offered explicitly: strings are left out, and the caller says so
        if feature.shape is None:
            raise VariableLengthError(
                f"feature {name!r} has a variable length; the regressor needs fixed-size features",
                feature=name,
            )
        shapes[name] = tuple(feature.shape)
        dtypes[name] = feature.dtype
    if not shapes:
        raise DataSpecError(f"no numeric feature to learn from; the data has: {_describe(spec)}")
    return ModelInputs(
        task=task,
        label=label,
        features=tuple(shapes),
        shapes=shapes,
        dtypes=dtypes,
        categorical={k: v for k, v in categorical.items() if k in shapes and dtypes[k] == "int64"},
        label_dtype=label_spec.dtype,
    )
