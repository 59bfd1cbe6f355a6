"""The book's parameter counts, sizing from the data's spec, and clear refusals of misfits."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from models import DataSpecError, UnknownModelError  # noqa: E402
from models.builders import (  # noqa: E402
    build_bn_mlp,
    build_cnn,
    build_mlp,
    build_model,
    build_regressor,
    model_info,
)
from models.specs import (  # noqa: E402
    CLASSIFICATION,
    REGRESSION,
    ModelInputs,
    image_shape_for,
    model_inputs,
    pick_label,
)
from pipeline.loaders import FeatureSpec  # noqa: E402


def spec(**features: tuple[str, tuple[int, ...] | None]) -> dict[str, FeatureSpec]:
    return {name: FeatureSpec(name, kind, shape) for name, (kind, shape) in features.items()}


def non_trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.non_trainable_weights))


def test_book_parameter_counts():
    assert build_mlp().count_params() == 266_610
    bn = build_bn_mlp()
    assert bn.count_params() == 271_346
    assert non_trainable(bn) == 2_368
    assert build_cnn().count_params() == 1_413_834
    assert build_regressor().count_params() == 301  # ch.13: 8 features -> 30 -> 1


def test_first_hidden_kernel_is_784_by_300():
    assert tuple(build_mlp().get_layer("dense_0").kernel.shape) == (784, 300)


FASHION = spec(image=("int64", (784,)), label=("int64", ()))


@pytest.mark.parametrize(
    ("name", "params", "frozen"),
    [
        ("mlp", 266_610, 0),
        ("bn-mlp", 271_346, 2_368),
        ("bn_mlp", 271_346, 2_368),
        ("cnn", 1_413_834, 0),
    ],
)
def test_sized_from_a_flat_fashion_mnist_spec(name, params, frozen):
    info = model_info(name)
    inputs = model_inputs(FASHION, task=info.task, kind=info.kind, label="label", n_classes=10)
    assert inputs.image_shape == (28, 28, 1)
    model = build_model(name, inputs)
    assert model.count_params() == params
    assert non_trainable(model) == frozen
    out = model({"image": np.full((2, 784), 255.0, np.float32)})
    assert tuple(out.shape) == (2, 10)
    np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-5)


def test_class_count_and_image_geometry_come_from_the_data():
    rgb = spec(pixels=("float32", (32, 32, 3)), label=("int64", ()))
    inputs = model_inputs(rgb, task=CLASSIFICATION, kind="image", label="label", n_classes=5)
    model = build_model("cnn", inputs)
    assert tuple(model.output.shape) == (None, 5)
    assert tuple(model.get_layer("conv_0").kernel.shape) == (7, 7, 3, 64)
    flat_rgb = spec(pixels=("float32", (12 * 12 * 3,)), label=("int64", ()))
    assert model_inputs(
        flat_rgb, task=CLASSIFICATION, kind="image", label="label", n_classes=2
    ).image_shape == (12, 12, 3)


def test_raw_bytes_images_are_sized_by_their_length():
    raw = spec(img=("bytes", ()), label=("int64", ()))
    inputs = model_inputs(
        raw,
        task=CLASSIFICATION,
        kind="image",
        label="label",
        n_classes=10,
        raw_bytes_lengths={"img": 784},
    )
    assert inputs.raw_bytes == ("img",)
    assert inputs.shapes["img"] == (784,) and inputs.image_shape == (28, 28, 1)
    with pytest.raises(DataSpecError, match="unknown length"):
        model_inputs(raw, task=CLASSIFICATION, kind="image", label="label", n_classes=10)


def test_regressor_sized_from_transformed_features():
    data = spec(
        a=("float32", ()),
        b=("float32", ()),
        pair=("float32", (2,)),
        ocean=("int64", ()),
        name=("bytes", ()),
        value=("float32", ()),
    )
    inputs = model_inputs(
        data, task=REGRESSION, kind="tabular", label="value", categorical={"ocean": 6}
    )
    assert inputs.features == ("a", "b", "pair", "ocean")  # the bytes column is left out
    inputs = ModelInputs(**{**inputs.__dict__, "label_mean": 2.0, "label_std": 3.0})
    model = build_model("housing", inputs)
    # 1 + 1 + 2 numeric columns + a 6-wide one-hot = 10 inputs -> 30 -> 1
    assert model.count_params() == 10 * 30 + 30 + 31
    batch = {
        "a": np.zeros(2, np.float32),
        "b": np.zeros(2, np.float32),
        "pair": np.zeros((2, 2), np.float32),
        "ocean": np.array([1, -1]),
    }
    assert np.asarray(model(batch)).shape == (2, 1)


def test_one_hot_zeroes_unknown_ids():
    from models.layers import OneHot

    out = np.asarray(OneHot(3)(np.array([0, 2, -1, 7])))
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])


def test_model_inputs_round_trip_through_json():
    inputs = model_inputs(FASHION, task=CLASSIFICATION, kind="image", label="label", n_classes=10)
    assert ModelInputs.from_json(inputs.to_json()) == inputs


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (
            spec(a=("int64", (784,)), b=("int64", (784,)), label=("int64", ())),
            {},
            "exactly one image feature",
        ),
        (spec(image=("int64", (784,)), label=("float32", ())), {}, "integer class ids"),
        (spec(image=("int64", (785,)), label=("int64", ())), {}, "not a square image"),
        (spec(image=("int64", None), label=("int64", ())), {}, "variable length"),
        (spec(image=("int64", (784,)), label=("int64", (3,))), {}, "one value per record"),
        (FASHION, {"features": ["pixels"]}, "'pixels' is not in the data"),
        (FASHION, {"label": "target"}, "label 'target' is not in the data"),
    ],
)
def test_mismatched_specs_are_refused_clearly(data, kwargs, message):
    options = {"task": CLASSIFICATION, "kind": "image", "label": "label", "n_classes": 10}
    options.update(kwargs)
    with pytest.raises(DataSpecError, match=message):
        model_inputs(data, **options)


def test_cnn_refuses_images_too_small_to_pool_three_times():
    tiny = spec(image=("float32", (6, 6)), label=("int64", ()))
    inputs = model_inputs(tiny, task=CLASSIFICATION, kind="image", label="label", n_classes=3)
    with pytest.raises(DataSpecError, match="at least 8x8"):
        build_model("cnn", inputs)


def test_label_choice_and_unknown_model():
    data = spec(x=("float32", ()), price=("float32", ()), label=("int64", ()))
    assert pick_label(data, None, "price") == "price"
    assert pick_label(data, None, None) == "label"
    with pytest.raises(DataSpecError, match="pass label=NAME"):
        pick_label(spec(x=("float32", ())), None, None)
    with pytest.raises(UnknownModelError, match="choose one of: mlp, bn-mlp, cnn, housing"):
        model_info("resnet")
    with pytest.raises(DataSpecError, match="square"):
        image_shape_for("x", (10,))


@pytest.mark.parametrize("name", ["mlp", "bn-mlp", "cnn", "housing"])
def test_outputs_stay_float32_under_mixed_precision(name):
    """What the GPU runs: float16 compute inside, float32 probabilities and values out."""
    import keras

    info = model_info(name)
    if info.kind == "image":
        inputs = model_inputs(FASHION, task=info.task, kind="image", label="label", n_classes=10)
    else:
        data = spec(a=("float32", ()), b=("float32", (3,)), value=("float32", ()))
        inputs = model_inputs(data, task=info.task, kind="tabular", label="value")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_model(name, inputs)
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.layers[-1].compute_dtype == "float32"
    hidden = [layer for layer in model.layers if layer.name.startswith(("dense_", "conv_"))]
    assert hidden and all(layer.compute_dtype == "float16" for layer in hidden)


def test_prediction_output_formats():
    from models.predict import format_rows

    rows = [
        {"file": "a.tfrecord", "record": 0, "class_id": 2, "probability": 0.75,
         "probabilities": [0.25, 0.0, 0.75]},
    ]  # fmt: skip
    assert list(format_rows(iter(rows), "jsonl")) == [
        '{"file": "a.tfrecord", "record": 0, "class_id": 2, "probability": 0.75, '
        '"probabilities": [0.25, 0.0, 0.75]}'
    ]
    table = list(format_rows(iter(rows), "table"))
    assert table[0].split() == ["record", "class_id", "probability", "file"]
    assert table[1].split() == ["0", "2", "0.7500", "a.tfrecord"]
    values = [{"file": "b", "record": 7, "prediction": 206855.5}]
    assert list(format_rows(iter(values), "table"))[1].split() == ["7", "206856", "b"]
    from models import PredictError

    with pytest.raises(PredictError, match="jsonl or table"):
        list(format_rows(iter(rows), "csv"))
