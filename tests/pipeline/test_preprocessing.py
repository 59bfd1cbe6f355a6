"""The schema-driven preprocessing_fn on a few in-memory rows, and module-file loading."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.errors import SchemaError
from pipeline.preprocessing import (
    check_transformable,
    load_preprocessing_fn,
    schema_preprocessing_fn,
    transform_rows,
)
from pipeline.schema import parse_schema

SCHEMA = parse_schema(
    {
        "columns": [
            {"name": "a", "type": "float", "transform": "z_score"},
            {"name": "b", "type": "float", "fill": "mean", "transform": "min_max"},
            {"name": "c", "type": "string",
             "transform": {"name": "vocabulary", "output": "one_hot", "top_k": 3}},
            {"name": "t", "type": "string",
             "transform": {"name": "vocabulary", "output": "multi_hot", "top_k": 3,
                           "delimiter": "|", "num_oov_buckets": 0}},
            {"name": "d", "type": "int", "transform": {"name": "bucketize", "num_buckets": 2}},
            {"name": "g", "type": "float",
             "transform": {"name": "bucketize", "boundaries": [2.5, 5]}},
            {"name": "e", "type": "float", "transform": ["log", "z_score"], "output": "e_xf"},
            {"name": "k", "type": "int", "fill": -1},
            {"name": "gone", "type": "string", "transform": "drop"},
            {"name": "y", "type": "int"},
        ],
        "label": "y",
    }
)  # fmt: skip
ROWS = [
    {"a": 1.0, "b": 2.0, "c": "x", "t": "p|q", "d": 1, "e": 0.0, "k": 5, "gone": "g", "y": 0},
    {"a": 2.0, "b": None, "c": "y", "t": "q", "d": 5, "e": 1.0, "k": None, "gone": "g", "y": 1},
    {"a": 3.0, "b": 4.0, "c": "x", "t": "r | q", "d": 9, "e": 3.0, "k": 7, "gone": "g", "y": 1},
    {"a": 6.0, "b": 8.0, "c": "zz", "t": "q", "d": 9, "e": 7.0, "k": 8, "gone": "g", "y": 0},
]
for _row, _g in zip(ROWS, [1.0, 2.5, 3.0, 6.0], strict=True):
    _row["g"] = _g  # bucketized with the given edges 2.5 and 5


@pytest.fixture(scope="module")
def transformed() -> list[dict]:
    return transform_rows(ROWS, SCHEMA)


@pytest.mark.requires_beam
@pytest.mark.slow
def test_every_transform_on_four_rows(transformed) -> None:
    assert len(transformed) == 4
    out = {key: [row[key] for row in transformed] for key in transformed[0]}
    assert set(out) == {"a", "b", "c", "t", "d", "g", "e_xf", "k", "y"}  # 'gone' dropped
    assert out["g"] == [0, 1, 1, 2]  # given edges 2.5 and 5: [.., 2.5) [2.5, 5) [5, ..)
    a = np.array([1.0, 2.0, 3.0, 6.0])
    np.testing.assert_allclose(out["a"], (a - a.mean()) / a.std(), rtol=1e-5)
    b_mean = np.mean([2.0, 4.0, 8.0])  # the missing cell gets the mean of the present ones
    b = np.array([2.0, b_mean, 4.0, 8.0])
    np.testing.assert_allclose(out["b"], (b - 2.0) / 6.0, rtol=1e-5)
    # vocabulary ordered by frequency: x (2), then y/zz (1 each); width top_k + 1 OOV bucket
    one_hot = np.array(out["c"])
    assert one_hot.shape == (4, 4)
    np.testing.assert_array_equal(one_hot.sum(axis=1), [1, 1, 1, 1])
    assert (one_hot[0] == one_hot[2]).all() and one_hot[0][0] == 1.0
    multi = np.array(out["t"])  # q appears 4 times: id 0; tokens are stripped
    assert multi.shape == (4, 3)
    np.testing.assert_array_equal(multi[:, 0], [1, 1, 1, 1])
    assert multi[0].sum() == 2 and multi[2].sum() == 2 and multi[1].sum() == 1
    assert out["d"][0] == 0 and out["d"][3] == 1
    e = np.log1p([0.0, 1.0, 3.0, 7.0])
    np.testing.assert_allclose(out["e_xf"], (e - e.mean()) / e.std(), rtol=1e-5)
    assert out["k"] == [5, -1, 7, 8]  # constant fill
    assert out["y"] == [0, 1, 1, 0]


def test_optional_column_with_transform_needs_a_fill() -> None:
    schema = parse_schema(
        {"columns": [{"name": "x", "type": "float", "required": False, "transform": "z_score"}]}
    )
    with pytest.raises(SchemaError, match="no fill"):
        check_transformable(schema)


def test_module_file_loading(tmp_path) -> None:
    good = tmp_path / "my_module.py"
    good.write_text("def preprocessing_fn(inputs):\n    return dict(inputs)\n")
    fn = load_preprocessing_fn(str(good))
    assert fn({"x": 1}) == {"x": 1}
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(SchemaError, match="no top-level function named preprocessing_fn"):
        load_preprocessing_fn(str(empty))
    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_module_anywhere\n")
    with pytest.raises(SchemaError, match="importing the module failed: ModuleNotFoundError"):
        load_preprocessing_fn(str(broken))
    failing = tmp_path / "failing.py"  # a bug in the user's function is reported as theirs
    failing.write_text("def preprocessing_fn(inputs):\n    return {'y': inputs['nope']}\n")
    with pytest.raises(
        SchemaError, match=r"failing\.py: preprocessing_fn failed: KeyError: 'nope'"
    ):
        load_preprocessing_fn(str(failing))({"x": 1})


def test_schema_fn_is_a_plain_function_of_tensors() -> None:
    tf = pytest.importorskip("tensorflow")
    schema = parse_schema({"columns": [{"name": "x", "type": "float", "transform": "log"}]})
    out = schema_preprocessing_fn({"x": tf.constant([0.0, math.e - 1])}, schema=schema)
    np.testing.assert_allclose(out["x"].numpy(), [0.0, 1.0], rtol=1e-6)
