"""recordio.convert: text rows to Examples with type inference, and Examples to JSON."""

from __future__ import annotations

import base64
import io
import json
import math
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordio import write_records
from recordio.convert import (
    ConvertError,
    bytes_for_json,
    example_for_json,
    examples_from_csv,
    examples_from_jsonl,
    float_for_json,
    text_to_tfrecords,
    tfrecords_to_json,
)
from recordio.errors import ExampleDecodeError
from recordio.example import decode_example, encode_example, encode_sequence_example


def from_jsonl(text: str) -> list[dict]:
    source = io.BytesIO(text.encode())
    return [decode_example(r) for r in examples_from_jsonl([("in.jsonl", source)])]


def from_csv(text: str) -> list[dict]:
    source = io.BytesIO(text.encode())
    return [decode_example(r) for r in examples_from_csv([("in.csv", source)])]


def as_f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


# =========================================================================== JSON Lines in


def test_jsonl_types_are_inferred_per_key_over_the_whole_input() -> None:
    rows = from_jsonl(
        '{"n": 1, "x": 1, "s": "a", "b": true, "l": [1, 2]}\n'
        "\n"
        '{"n": 2, "x": 2.5, "s": null, "l": [3.5], "raw": {"base64": "AP8="}}\n'
    )
    assert rows == [
        {"b": [1], "l": [1.0, 2.0], "n": [1], "s": [b"a"], "x": [1.0]},
        {"l": [3.5], "n": [2], "raw": [b"\x00\xff"], "x": [2.5]},
    ]
    # x holds 1 in the first line and 2.5 in the second: both are floats, so one schema parses all.
    assert all(type(row["x"][0]) is float for row in rows)


def test_jsonl_empty_list_is_an_untyped_feature() -> None:
    record = next(examples_from_jsonl([("in", io.BytesIO(b'{"e": []}\n'))]))
    assert record == encode_example({"e": []})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"a": 1}\n{"a": {"b": 1}}\n', "line 2: key 'a': a nested object"),
        ('{"a": [1, [2]]}\n', "line 1: key 'a': a list holding a nested list"),
        ('{"a": [1, null]}\n', "line 1: key 'a': a list holding null"),
        ('{"a": 1}\n{"a": "x"}\n', "line 2: key 'a': a string, but in.jsonl line 1 holds numbers"),
        (
            '{"a": "x"}\n{"a": [1]}\n',
            "line 2: key 'a': a number, but in.jsonl line 1 holds strings",
        ),
        ("[1, 2]\n", "line 1: expected a JSON object, got a nested list"),
        ('{"a": 1\n', "line 1: not valid JSON"),
        ('{"a": 9223372036854775808}\n', "line 1: key 'a': integer outside the int64 range"),
        ('{"a": "\\ud800"}\n', "line 1: key 'a': string holds a lone surrogate"),
        ('{"a": {"base64": "%%"}}\n', "line 1: key 'a': bad base64"),
    ],
)
def test_jsonl_errors_name_the_line_and_key(text: str, words: str) -> None:
    with pytest.raises(ConvertError) as caught:
        from_jsonl(text)
    assert words in str(caught.value)
    assert str(caught.value).startswith("in.jsonl: line ")


def test_int64_bounds_are_accepted() -> None:
    rows = from_jsonl('{"a": [-9223372036854775808, 9223372036854775807]}\n')
    assert rows == [{"a": [-(2**63), 2**63 - 1]}]


# =========================================================================== CSV in


def test_csv_column_types_and_empty_cells() -> None:
    rows = from_csv(
        "\ufeffi,f,s,big,blank\n"
        "1,1,x,1,\n"
        '-2, 2.5e3 ,"a,b",99999999999999999999,\n'
        '+3,nan,"multi\nline",1,\n'
        ",,,,\n"
    )
    assert rows[0] == {"big": [1.0], "f": [1.0], "i": [1], "s": [b"x"]}
    assert rows[1] == {"big": [as_f32(1e20)], "f": [2500.0], "i": [-2], "s": [b"a,b"]}
    assert rows[2]["i"] == [3] and math.isnan(rows[2]["f"][0]) and rows[2]["s"] == [b"multi\nline"]
    assert rows[3] == {}


def test_csv_text_column_keeps_numbers_as_text() -> None:
    assert from_csv("zip\n02134\nN/A\n") == [{"zip": [b"02134"]}, {"zip": [b"N/A"]}]
    assert from_csv("n\n1_000\n") == [{"n": [b"1_000"]}]  # Python's int() would take it


def test_csv_header_only_gives_no_rows() -> None:
    assert from_csv("a,b\n") == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no header row"),
        ("a,a\n1,2\n", "line 1: header names column 'a' twice"),
        ("a,\n1,2\n", "line 1: header column 2 has no name"),
        ("a,b\n1,2\n3\n", "line 3: 1 fields, but the header has 2"),
        ('a\n"open\n', "bad CSV"),
    ],
)
def test_csv_errors(text: str, words: str) -> None:
    with pytest.raises(ConvertError, match="^in.csv: ") as caught:
        from_csv(text)
    assert words in str(caught.value)


def test_housing_csv(housing_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "housing.tfrecord.gz"
    summary = text_to_tfrecords(str(out), [str(housing_csv)])
    assert summary.records == 20_640 and summary.files == [str(out)]
    rows = list(tfrecords_to_json([str(out)]))
    assert len(rows) == 20_640
    assert rows[0]["longitude"] == [-122.23] and rows[0]["ocean_proximity"] == ["NEAR BAY"]
    missing = sum("total_bedrooms" not in row for row in rows)
    assert missing == 207  # the empty cells of the data set, left out rather than made up


# =========================================================================== records out


def test_float_for_json_is_the_shortest_exact_float32() -> None:
    assert float_for_json(as_f32(0.1)) == 0.1
    assert float_for_json(as_f32(-122.23)) == -122.23
    assert json.dumps(float_for_json(3.0)) == "3.0"  # stays a float in JSON
    assert math.isinf(float_for_json(float("inf")))


@given(st.floats(width=32, allow_nan=False))
@settings(max_examples=300, deadline=None)
def test_float_for_json_round_trips(x: float) -> None:
    assert struct.pack("<f", float_for_json(x)) == struct.pack("<f", x)


def test_bytes_for_json() -> None:
    assert bytes_for_json("é".encode()) == "é"
    assert bytes_for_json(b"\xff\x00") == {"base64": "/wA="}


def test_records_that_are_not_examples_are_refused() -> None:
    with pytest.raises(ExampleDecodeError):
        example_for_json(b"hello world")
    sequence = encode_sequence_example({"c": [1]}, {"steps": [[1, 2], [3]]})
    with pytest.raises(ExampleDecodeError, match="sequence=True"):
        example_for_json(sequence)
    assert example_for_json(sequence, sequence=True) == {
        "context": {"c": [1]},
        "feature_lists": {"steps": [[1, 2], [3]]},
    }
    assert example_for_json(b"") == {}


def test_read_json_counts_skip_and_limit_over_files(tmp_path: Path) -> None:
    for name, start in (("a", 0), ("b", 3)):
        rows = "".join(json.dumps({"i": i}) + "\n" for i in range(start, start + 3))
        (tmp_path / f"{name}.jsonl").write_text(rows)
        text_to_tfrecords(str(tmp_path / f"{name}.tfrecord"), [str(tmp_path / f"{name}.jsonl")])
    files = [str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")]
    assert [r["i"] for r in tfrecords_to_json(files, skip=2, limit=3)] == [[2], [3], [4]]
    raw = list(tfrecords_to_json(files, raw=True, limit=1))
    assert raw == [base64.b64encode(encode_example({"i": [0]})).decode()]


def test_decode_error_names_file_record_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "mixed.tfrecord"
    first = encode_example({"a": [1]})
    write_records(path, [first, b"not an example"])
    with pytest.raises(ExampleDecodeError) as caught:
        list(tfrecords_to_json([str(path)]))
    offset = len(first) + 16
    assert (caught.value.index, caught.value.offset) == (1, offset)
    assert str(caught.value).startswith(f"{path}: record 1 at byte {offset}: ")


def test_failed_conversion_leaves_no_file(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"a": 1}\n{"a": "b"}\n')
    with pytest.raises(ConvertError):
        text_to_tfrecords(str(tmp_path / "out.tfrecord"), [str(tmp_path / "in.jsonl")], shards=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


# =========================================================================== the round trip

names = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
feature = st.one_of(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=4),
    st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=4),
    st.lists(st.binary(max_size=8), min_size=1, max_size=4),
)


@given(st.dictionaries(names, feature, max_size=5))
@settings(max_examples=150, deadline=None)
def test_json_form_reads_back_into_the_same_example(features: dict) -> None:
    record = encode_example(features)
    line = json.dumps(example_for_json(record), ensure_ascii=False) + "\n"
    again = list(examples_from_jsonl([("in", io.BytesIO(line.encode()))]))
    assert again == [record]
