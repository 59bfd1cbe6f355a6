"""Each model trains from each of recio's loaders on small synthetic Example TFRecords."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("keras")

from models import DataSpecError, TrainingOptionError  # noqa: E402
from models.training import TrainOptions, train  # noqa: E402
from recordio import write_records  # noqa: E402
from recordio.example import encode_example  # noqa: E402

from .conftest import housing_task, image_task  # noqa: E402


def write_shards(folder, rows, shards=2, compression=None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".tfrecord.gz" if compression else ".tfrecord"
    for i in range(shards):
        part = [encode_example(r) for r in rows[i::shards]]
        write_records(str(folder / f"part-{i:05d}-of-{shards:05d}{suffix}"), part, compression)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    pixels, labels = image_task(n=384)
    rows = [{"pixels": p, "label": int(k)} for p, k in zip(pixels, labels, strict=True)]
    write_shards(root / "images" / "train", rows[:288], compression="GZIP")
    write_shards(root / "images" / "eval", rows[288:], shards=1)
    raw = [
        {"img": p.astype(np.uint8).tobytes(), "label": int(k)}
        for p, k in zip(pixels, labels, strict=True)
    ]
    write_shards(root / "raw", raw[:288])
    features, target = housing_task(n=384)
    table = [
        {"a": float(features["a"][i]), "b": float(features["b"][i]), "c": float(features["c"][i]),
         "value": float(target[i])}
        for i in range(384)
    ]  # fmt: skip
    write_shards(root / "housing" / "train", table[:288])
    write_shards(root / "housing" / "eval", table[288:], shards=1)
    bad = [{"pixels": p, "label": float(k)} for p, k in zip(pixels, labels, strict=True)]
    write_shards(root / "float_label", bad[:32], shards=1)
    pairs = [{"a": p, "b": p, "label": int(k)} for p, k in zip(pixels, labels, strict=True)]
    write_shards(root / "two_images", pairs[:32], shards=1)
    return root


QUIET = dict(tensorboard=False, export=False)


@pytest.mark.requires_tf
@pytest.mark.parametrize("loader", ["tf", "numpy"])
@pytest.mark.parametrize("name", ["mlp", "bn-mlp", "cnn"])
def test_classifiers_learn_from_each_loader(name, loader, datasets, tmp_path):
    options = TrainOptions(
        epochs=1 if name == "cnn" else 2, optimizer="adam", learning_rate=1e-3, **QUIET
    )
    result = train(
        name, str(datasets / "images" / "train"), tmp_path / "run",
        eval_data=str(datasets / "images" / "eval"), loader=loader, options=options,
        emit=lambda _: None,
    )  # fmt: skip
    assert result.evaluation["loss"] < 0.8 * math.log(3)
    assert result.evaluation["accuracy"] > 0.6


@pytest.mark.requires_tf
@pytest.mark.parametrize("loader", ["tf", "numpy"])
def test_regressor_learns_from_each_loader(loader, datasets, tmp_path):
    options = TrainOptions(epochs=3, learning_rate=0.01, **QUIET)
    result = train(
        "housing", str(datasets / "housing" / "train"), tmp_path / "run", label="value",
        eval_data=str(datasets / "housing" / "eval"), loader=loader, options=options,
        emit=lambda _: None,
    )  # fmt: skip
    assert result.history["rmse"][-1] < 0.6 * result.history["rmse"][0]


@pytest.mark.requires_tf
@pytest.mark.parametrize("loader", ["tf", "numpy"])
def test_raw_pixel_bytes_are_decoded_for_the_model(loader, datasets, tmp_path):
    options = TrainOptions(epochs=2, optimizer="adam", learning_rate=1e-3, **QUIET)
    result = train(
        "mlp",
        str(datasets / "raw"),
        tmp_path / "run",
        loader=loader,
        options=options,
        emit=lambda _: None,
    )
    assert result.history["loss"][-1] < result.history["loss"][0]
    import json

    manifest = json.loads((result.output / "recio_model.json").read_text())
    assert manifest["inputs"]["raw_bytes"] == ["img"]
    assert manifest["inputs"]["image_shape"] == [12, 12, 1]


def test_bad_data_paths_and_mismatched_specs_fail_clearly(datasets, tmp_path):
    with pytest.raises(DataSpecError, match="no such file or directory"):
        train("mlp", str(tmp_path / "nothing"), tmp_path / "out")
    with pytest.raises(DataSpecError, match="pattern matches no file"):
        train("mlp", str(tmp_path / "*.tfrecord"), tmp_path / "out")
    with pytest.raises(DataSpecError, match="integer class ids"):
        train("mlp", str(datasets / "float_label"), tmp_path / "out")
    with pytest.raises(DataSpecError, match="label 'price' is not in the data"):
        train("housing", str(datasets / "housing" / "train"), tmp_path / "out", label="price")
    with pytest.raises(DataSpecError, match="exactly one image feature"):
        train("cnn", str(datasets / "two_images"), tmp_path / "out")
    with pytest.raises(DataSpecError, match="classes=2 but label 'label' holds class id 2"):
        train("mlp", str(datasets / "images" / "train"), tmp_path / "out", classes=2)
    with pytest.raises(DataSpecError, match="lacks pixels"):
        train(
            "mlp", str(datasets / "images" / "train"), tmp_path / "out",
            eval_data=str(datasets / "housing" / "eval"),
        )  # fmt: skip
    with pytest.raises(TrainingOptionError, match="loader must be one of"):
        train("mlp", str(datasets / "images" / "train"), tmp_path / "out", loader="torch")
    assert not (tmp_path / "out").exists()  # nothing was created on the way to the error
