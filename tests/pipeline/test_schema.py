"""Schema files: parsing, validation messages, round trips, and the TF/Arrow views."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import SchemaError
from pipeline.schema import (
    Schema,
    load_schema,
    parse_schema,
    save_schema,
    transformed_name,
    with_default_transforms,
)

FULL = {
    "columns": [
        {"name": "id", "type": "int"},
        {"name": "age", "type": "float", "transform": "z_score"},
        {"name": "rooms", "type": "float", "fill": "mean", "transform": ["log", "z_score"]},
        {"name": "income", "type": "double", "transform": {"name": "bucketize", "num_buckets": 4}},
        {
            "name": "city",
            "type": "string",
            "transform": {"name": "vocabulary", "output": "one_hot", "top_k": 10},
            "output": "city_onehot",
        },
        {"name": "note", "type": "str", "required": False},
        {"name": "y", "type": "int64"},
    ],
    "label": "y",
    "key": "id",
}


def test_full_schema_parses_with_defaults_and_aliases() -> None:
    schema = parse_schema(FULL, source="s.json")
    assert schema.names == ["id", "age", "rooms", "income", "city", "note", "y"]
    assert schema.column("income").type == "float"
    assert schema.column("note").type == "bytes"
    assert schema.column("rooms").required is False  # a fill implies optional
    assert schema.column("note").required is False
    vocab = schema.column("city").transform[0]
    assert (vocab.get("num_oov_buckets"), vocab.get("top_k"), vocab.get("output")) == (
        1,
        10,
        "one_hot",
    )
    assert schema.column("income").transform[0].get("epsilon") == 0.01
    assert schema.column("city").output_name == "city_onehot"
    assert (schema.label, schema.key) == ("y", "id")
    assert schema.has_transforms


def test_round_trip_through_json_file(tmp_path) -> None:
    schema = parse_schema(FULL)
    path = tmp_path / "schema.json"
    save_schema(schema, str(path))
    again = load_schema(str(path))
    assert again == schema
    assert json.loads(path.read_text())["columns"][2]["transform"] == ["log", "z_score"]


def test_yaml_schema(tmp_path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "schema.yaml"
    path.write_text(
        "columns:\n"
        "  - {name: a, type: float, transform: min_max}\n"
        "  - {name: b, type: string}\n"
        "label: b\n"
    )
    schema = load_schema(str(path))
    assert schema.column("a").transform[0].name == "min_max" and schema.label == "b"


@pytest.mark.parametrize(
    ("columns", "extra", "message"),
    [
        ([{"name": "a", "type": "float", "transform": "zscor"}], {}, "unknown transform 'zscor'"),
        ([{"name": "a", "type": "decimal"}], {}, "unknown type 'decimal'"),
        ([{"name": "a", "type": "string", "transform": "z_score"}], {}, "needs a numeric column"),
        ([{"name": "a", "type": "float", "transform": {"name": "bucketize"}}], {},
         "needs 'num_buckets'"),
        ([{"name": "a", "type": "float",
           "transform": {"name": "bucketize", "boundaries": [3, 1]}}], {}, "must increase"),
        ([{"name": "a", "type": "float",
           "transform": {"name": "bucketize", "boundaries": [1], "num_buckets": 3}}], {},
         "not both"),
        ([{"name": "a", "type": "float",
           "transform": {"name": "bucketize", "boundaries": "1,2"}}], {}, "must be a list"),
        (
            [{"name": "a", "type": "string",
              "transform": {"name": "vocabulary", "output": "one_hot"}}],
            {},
            "needs 'top_k'",
        ),
        (
            [{"name": "a", "type": "float", "transform": ["bucketize", "log"]}],
            {},
            "needs 'num_buckets'",
        ),
        (
            [{"name": "a", "type": "float",
              "transform": [{"name": "bucketize", "num_buckets": 3}, "log"]}],
            {},
            "'bucketize' must be the last transform",
        ),
        ([{"name": "a", "type": "float"}, {"name": "a", "type": "int"}], {}, "repeat: a"),
        ([{"name": "a", "type": "float"}], {"label": "b"}, "label column 'b' is not a column"),
        ([{"name": "a", "type": "float", "fill": "median"}], {}, 'a number or "mean"'),
        ([{"name": "a", "type": "float", "fill": 1, "required": True}], {}, "cannot be required"),
        ([{"name": "a", "type": "float", "colour": "red"}], {}, "unknown field 'colour'"),
        (
            [{"name": "a", "type": "float", "transform": {"name": "z_score", "mean": 3}}],
            {},
            "has no parameter 'mean'",
        ),
        ([], {}, "no columns"),
    ],
)  # fmt: skip
def test_bad_schemas_name_the_problem(columns, extra, message) -> None:
    with pytest.raises(SchemaError, match="s.json") as info:
        parse_schema({"columns": columns, **extra}, source="s.json")
    assert message in str(info.value)


def test_invalid_json_reports_line_and_column(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"columns": [\n  {"name": "a",, "type": "int"}]}')
    with pytest.raises(SchemaError, match=r"bad.json: not valid JSON at line 2 column"):
        load_schema(str(path))


def test_missing_schema_file_is_an_input_error(tmp_path) -> None:
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="schema file not found"):
        load_schema(str(tmp_path / "nope.json"))


def test_default_transforms_leave_label_and_key_alone() -> None:
    schema = parse_schema(
        {
            "columns": [
                {"name": "id", "type": "int"},
                {"name": "x", "type": "float", "required": False},
                {"name": "c", "type": "string", "required": False},
                {"name": "y", "type": "float"},
            ],
            "label": "y",
            "key": "id",
        }
    )
    filled = with_default_transforms(schema)
    assert filled.column("id").transform == () and filled.column("y").transform == ()
    assert filled.column("x").transform[0].name == "z_score" and filled.column("x").fill == "mean"
    assert filled.column("c").transform[0].name == "vocabulary"
    assert filled.column("c").fill == "__missing__"


def test_feature_spec_and_arrow_views() -> None:
    tf = pytest.importorskip("tensorflow")
    schema = parse_schema(FULL)
    spec = schema.raw_feature_spec()
    assert spec["age"] == tf.io.FixedLenFeature([], tf.float32)
    assert spec["note"] == tf.io.VarLenFeature(tf.string)
    assert spec["id"] == tf.io.FixedLenFeature([], tf.int64)
    arrow = schema.arrow_schema()
    assert arrow.names == schema.names
    assert str(arrow.field("city").type) == "large_list<item: large_binary>"
    assert transformed_name("age") == "age_xf"


def test_schema_is_picklable() -> None:
    import pickle

    schema = parse_schema(FULL)
    assert pickle.loads(pickle.dumps(schema)) == schema
    assert isinstance(schema, Schema)


def test_bucketize_boundaries_parse_and_round_trip() -> None:
    column = {
        "name": "a",
        "type": "float",
        "transform": {"name": "bucketize", "boundaries": [0, 2.5]},
    }
    schema = parse_schema({"columns": [column]})
    assert schema.column("a").transform[0].get("boundaries") == (0.0, 2.5)
    assert parse_schema(json.loads(schema.to_json())) == schema


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"values": 0}, "values must be"),
        ({"values": "many"}, "values must be"),
        ({"values": "var", "fill": 0.0}, "no fill"),
        ({"values": "var", "transform": {"name": "bucketize", "num_buckets": 3}}, "one value"),
        ({"transform": {"name": "pad", "length": 3}}, "pad takes a list column"),
        ({"values": "var", "transform": {"name": "pad", "length": 0}}, "pad.length"),
    ],
)
def test_list_columns_are_checked(column: dict, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse_schema({"columns": [{"name": "a", "type": "float", **column}]})


def test_list_columns_round_trip_and_give_their_feature_spec() -> None:
    data = {"columns": [
        {"name": "t", "type": "bytes", "values": "var", "transform": "vocabulary"},
        {"name": "v", "type": "float", "values": 4, "transform": "z_score"},
        {"name": "s", "type": "int64", "values": "var", "transform": {"name": "pad", "length": 2}},
    ]}  # fmt: skip
    schema = parse_schema(data)
    assert parse_schema(json.loads(schema.to_json())) == schema
    assert [c.values for c in schema.columns] == ["var", 4, "var"]
