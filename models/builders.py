"""The book's reference models as Keras 3 builders (any backend: `keras.layers`, `keras.ops` only).

Each builder takes its sizes as arguments; `build_model` fills them from the data's spec so the
same code trains on 28x28 Fashion-MNIST, 12x12 test images or CIFAR-sized RGB.
The final layers compute in float32 so the models also train under mixed precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras

from models.errors import DataSpecError
from models.registry import MODELS, ModelInfo, model_info
from models.specs import ModelInputs

__all__ = [
    "MODELS",
    "ModelInfo",
    "build_bn_mlp",
    "build_cnn",
    "build_mlp",
    "build_model",
    "build_regressor",
    "model_info",
]

_INTEGER_DTYPES = {"int64", "int32", "uint8"}


def _image_input(
    shape: Sequence[int], input_name: str | None, input_dtype: str
) -> tuple[Any, Any, Any]:
    """(model inputs, tensor, scaled tensor): pixel integers are scaled to [0, 1] as in the book."""
    tensor = keras.Input(shape=tuple(shape), name=input_name, dtype="float32")
    scaled = tensor
    if input_dtype in _INTEGER_DTYPES:
        scaled = keras.layers.Rescaling(1 / 255, name="scale_pixels")(tensor)
    inputs = {input_name: tensor} if input_name else tensor
    return inputs, tensor, scaled


def build_mlp(
    input_shape: Sequence[int] = (28, 28),
    n_classes: int = 10,
    *,
    hidden: Sequence[int] = (300, 100),
    input_name: str | None = None,
    input_dtype: str = "float32",
) -> keras.Model:
    """Chapter 10's classifier: Flatten -> Dense(300, relu) -> Dense(100, relu) -> softmax."""
    inputs, _, x = _image_input(input_shape, input_name, input_dtype)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(hidden):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name="mlp")


def build_bn_mlp(
    input_shape: Sequence[int] = (28, 28),
    n_classes: int = 10,
    *,
    hidden: Sequence[int] = (300, 100),
    input_name: str | None = None,
    input_dtype: str = "float32",
) -> keras.Model:
    """Chapter 11's batch-normalised MLP: BN after Flatten and after each hidden layer."""
    inputs, _, x = _image_input(input_shape, input_name, input_dtype)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.BatchNormalization(name="bn_input")(x)
    for i, units in enumerate(hidden):
        x = keras.layers.Dense(
            units, activation="relu", kernel_initializer="he_normal", name=f"dense_{i}"
        )(x)
        x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name="bn_mlp")


def build_cnn(
    input_shape: Sequence[int] = (28, 28, 1),
    n_classes: int = 10,
    *,
    image_shape: Sequence[int] | None = None,
    filters: Sequence[int] = (64, 128, 256),
    dense: Sequence[int] = (128, 64),
    dropout: float = 0.5,
    input_name: str | None = None,
    input_dtype: str = "float32",
) -> keras.Model:
    """Chapter 14's CNN: 64 7x7 -> pool -> 2x128 3x3 -> pool -> 2x256 3x3 -> pool -> dense head.

    `image_shape` (H, W, C) reshapes a flat stored image; it defaults to `input_shape`.
    """
    image_shape = tuple(image_shape or input_shape)
    if len(image_shape) != 3:
        raise DataSpecError(f"the CNN needs an (height, width, channels) image, got {image_shape}")
    if min(image_shape[0], image_shape[1]) < 8:
        raise DataSpecError(
            f"the CNN pools three times and needs images of at least 8x8, got {image_shape[:2]}"
        )
    inputs, tensor, x = _image_input(input_shape, input_name, input_dtype)
    if tuple(tensor.shape[1:]) != image_shape:
        x = keras.layers.Reshape(image_shape, name="to_image")(x)

    def conv(units: int, size: int, name: str) -> keras.layers.Layer:
        return keras.layers.Conv2D(
            units,
            kernel_size=size,
            padding="same",
            activation="relu",
            kernel_initializer="he_normal",
            name=name,
        )

    x = conv(filters[0], 7, "conv_0")(x)
    x = keras.layers.MaxPooling2D(2, name="pool_0")(x)
    for block, units in enumerate(filters[1:], start=1):
        x = conv(units, 3, f"conv_{block}a")(x)
        x = conv(units, 3, f"conv_{block}b")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool_{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(dense):
        x = keras.layers.Dense(
            units, activation="relu", kernel_initializer="he_normal", name=f"dense_{i}"
        )(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name="cnn")


def build_regressor(
    inputs: Mapping[str, Sequence[int]] | None = None,
    *,
    categorical: Mapping[str, int] | None = None,
    hidden: Sequence[int] = (30,),
    label_mean: float | None = None,
    label_std: float | None = None,
) -> keras.Model:
    """Chapter 13's housing regressor: transformed features -> Dense(30, relu) -> one value.

    inputs: feature name -> stored shape (() for a scalar). categorical: feature -> number of ids
    (one-hot encoded; unknown ids become zeros). label_mean/label_std put the output on the
    label's scale, so a target in dollars trains as easily as one in units of $100k.
    """
    from models.layers import OneHot

    as_dict = inputs is not None
    inputs = dict(inputs) if inputs is not None else {"features": (8,)}
    categorical = dict(categorical or {})
    tensors: dict[str, Any] = {}
    parts = []
    for name, shape in inputs.items():
        shape = tuple(shape)
        if name in categorical:
            if shape not in ((), (1,)):
                raise DataSpecError(f"categorical feature {name!r} must be one id, not {shape}")
            tensor = keras.Input(shape=shape, name=name, dtype="int32")
            parts.append(OneHot(categorical[name], name=f"{name}_onehot")(tensor))
        else:
            tensor = keras.Input(shape=shape, name=name, dtype="float32")
            if shape == ():
                parts.append(keras.layers.Reshape((1,), name=f"{name}_column")(tensor))
            elif len(shape) > 1:
                parts.append(keras.layers.Flatten(name=f"{name}_flat")(tensor))
            else:
                parts.append(tensor)
        tensors[name] = tensor
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="features")(parts)
    for i, units in enumerate(hidden):
        x = keras.layers.Dense(
            units, activation="relu", kernel_initializer="he_normal", name=f"dense_{i}"
        )(x)
    x = keras.layers.Dense(1, dtype="float32", name="value")(x)
    if label_mean is not None or label_std is not None:
        x = keras.layers.Rescaling(
            scale=float(label_std or 1.0),
            offset=float(label_mean or 0.0),
            dtype="float32",
            name="to_label_scale",
        )(x)
    model_inputs = tensors if as_dict else tensors["features"]
    return keras.Model(model_inputs, x, name="regressor")


def build_model(name: str, inputs: ModelInputs) -> keras.Model:
    """Build `name` sized by the data: input names, shapes, image geometry and class count."""
    info = model_info(name)
    if info.task != inputs.task:
        raise DataSpecError(
            f"model {info.name!r} is a {info.task} model, the data is set up for {inputs.task}"
        )
    if info.kind == "image":
        feature = inputs.features[0]
        if not inputs.n_classes or inputs.n_classes < 2:
            raise DataSpecError(
                f"a classifier needs at least 2 classes, found {inputs.n_classes}; pass classes=N",
                params=("classes",),
            )
        common: dict[str, Any] = dict(
            input_name=feature, input_dtype=inputs.dtypes[feature], n_classes=inputs.n_classes
        )
        shape = inputs.shapes[feature]
        if info.name == "mlp":
            return build_mlp(shape, **common)
        if info.name == "bn-mlp":
            return build_bn_mlp(shape, **common)
        return build_cnn(shape, image_shape=inputs.image_shape, **common)
    return build_regressor(
        inputs.shapes,
        categorical=inputs.categorical,
        label_mean=inputs.label_mean,
        label_std=inputs.label_std,
    )
