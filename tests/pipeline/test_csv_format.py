"""CSV decoding without Beam: quoting, missing cells, bad rows and type inference."""

from __future__ import annotations

import gzip

import pytest

from pipeline.csv_format import CsvFormat, decode_csv_file, file_columns, infer_csv_schema
from pipeline.errors import InputError, JobOptionsError
from pipeline.schema import parse_schema

SCHEMA = parse_schema(
    {
        "columns": [
            {"name": "id", "type": "int"},
            {"name": "x", "type": "float", "required": False},
            {"name": "s", "type": "string"},
        ]
    }
)
MESSY = (
    "id,x,s\n"
    "1,2.5,a\n"
    "2,,b\n"  # missing optional float
    "3,4,5,6\n"  # one cell too many
    "4,abc,c\n"  # not a number
    '5, 7.5 ,"d, e"\n'  # padded number, quoted delimiter
    "6\n"  # too few cells
    '7,nan,""\n'  # nan, quoted empty string
    ",1,z\n"  # required int missing
    '9,1e3,"unterminated\n'  # unbalanced quote swallows the rest
    "10,1,zz\n"
)


def _decode(path, schema=SCHEMA, fmt=CsvFormat()):
    batches, bad = [], []
    for batch, rows in decode_csv_file(
        str(path), schema, fmt, schema.arrow_schema(), file_columns(str(path), schema, fmt)
    ):
        if batch is not None:
            batches.append(batch)
        bad += rows
    return batches, bad


def test_messy_file_good_rows_and_reasons(tmp_path) -> None:
    path = tmp_path / "messy.csv"
    path.write_text(MESSY)
    batches, bad = _decode(path)
    good = {k: sum((b.column(k).to_pylist() for b in batches), []) for k in SCHEMA.names}
    assert good["id"] == [[1], [2], [5], [7]]
    assert good["x"][:3] == [[2.5], [], [7.5]]
    assert good["x"][3] == []  # nan reads as an empty cell (non_finite="missing")
    assert good["s"] == [[b"a"], [b"b"], [b"d, e"], [b""]]
    reasons = sorted(r["reason"] for r in bad)
    assert len(bad) == 5, bad
    assert "expected 3 cells, found 4" in reasons
    assert "expected 3 cells, found 1" in reasons
    assert "column 'x': 'abc' is not a number" in reasons
    assert "column 'id' is empty but required" in reasons
    assert any("line break" in r for r in reasons)
    assert all(r["file"] == str(path) for r in bad)
    texts = [r.get("text") or r["cells"] for r in bad]
    assert "3,4,5,6" in texts and {"id": "4", "x": "abc", "s": "c"} in texts


def test_multiline_cells_allowed_when_asked(tmp_path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('id,x,s\n1,1,"two\nlines"\n2,2,b\n')
    batches, bad = _decode(path, fmt=CsvFormat(multiline=True))
    assert not bad
    assert batches[0].column("s").to_pylist() == [[b"two\nlines"], [b"b"]]
    _, bad = _decode(path)
    assert len(bad) == 1 and "line break" in bad[0]["reason"]


def test_header_order_can_differ_and_extra_columns_are_ignored(tmp_path) -> None:
    path = tmp_path / "reordered.csv.gz"
    with gzip.open(path, "wt") as out:
        out.write("s,extra,id,x\nq,zzz,7,0.5\n")
    batches, bad = _decode(path)
    assert not bad
    assert batches[0].column("id").to_pylist() == [[7]]
    assert batches[0].column("s").to_pylist() == [[b"q"]]


def test_header_missing_a_schema_column_fails_early(tmp_path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("id,s\n1,a\n")
    with pytest.raises(InputError, match="lacks column 'x'"):
        file_columns(str(path), SCHEMA, CsvFormat())


def test_headerless_file_uses_schema_order(tmp_path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text("1,2,a\n2,,b\n")
    batches, bad = _decode(path, fmt=CsvFormat(header=False))
    assert not bad and batches[0].column("id").to_pylist() == [[1], [2]]
    with pytest.raises(InputError, match="no header"):
        file_columns(str(path), None, CsvFormat(header=False))


def test_infer_types_and_optional_columns(tmp_path) -> None:
    path = tmp_path / "infer.csv"
    path.write_text("a,b,c,d,e\n1,1.5,x, 3 ,\n2,,y,4,\n-3,2e3,z,5,\n")
    schema = infer_csv_schema([str(path)], CsvFormat(), label="c")
    types = {c.name: (c.type, c.required) for c in schema.columns}
    assert types == {
        "a": ("int64", True),
        "b": ("float", False),
        "c": ("bytes", True),
        "d": ("int64", True),
        "e": ("bytes", False),
    }
    assert schema.label == "c"


def test_a_few_stray_cells_keep_a_column_numeric(tmp_path) -> None:
    """One `x` among numbers is a bad row, not a string column; past the threshold it is one,
    and both decisions are explained."""
    from pipeline.csv_format import infer_csv_columns

    path = tmp_path / "stray.csv"
    rows = [f"{i},{i}.5,{i % 7},w{i}" for i in range(99)]
    rows.insert(40, "x,nan,oops,w")
    path.write_text("age,rate,half,word\n" + "\n".join(rows) + "\n")
    schema, decided = infer_csv_columns([str(path)], CsvFormat())
    types = {c.name: (c.type, c.required) for c in schema.columns}
    # nan reads as missing by default: the float column becomes optional
    assert types == {
        "age": ("int64", True),
        "rate": ("float", False),
        "half": ("int64", True),
        "word": ("bytes", True),
    }
    notes = [c.note(0.05) for c in decided]
    assert "1 of 100 cells (1%) are not numbers" in notes[0] and "bad rows" in notes[0]
    assert notes[1] is None and "'half' inferred as int64" in notes[2]
    assert notes[3] == "column 'word' inferred as bytes (strings): no cell is a number"
    strict, _ = infer_csv_columns([str(path)], CsvFormat(non_numeric_fraction=0))
    assert strict.column("age").type == "bytes"
    batches = list(decode_csv_file(str(path), schema, CsvFormat(), schema.arrow_schema(),
                                   schema.names))  # fmt: skip
    bad = [row for _, rows in batches for row in rows]
    assert len(bad) == 1 and "'x' is not a whole number" in bad[0]["reason"]
    good = sum(b.num_rows for b, _ in batches if b is not None)
    assert good == 99


def test_non_finite_cells_follow_the_policy(tmp_path) -> None:
    path = tmp_path / "nan.csv"
    path.write_text("a,b\n1.5,1\nnan,2\n-inf,3\n1e39,4\n")
    schema = parse_schema(
        {"columns": [{"name": "a", "type": "float"}, {"name": "b", "type": "int64"}]}
    )
    for policy, good in (("missing", 1), ("bad_row", 1)):
        fmt = CsvFormat(non_finite=policy)
        batches = list(decode_csv_file(str(path), schema, fmt, schema.arrow_schema(), schema.names))
        bad = [row for _, rows in batches for row in rows]
        assert sum(b.num_rows for b, _ in batches if b is not None) == good
        assert len(bad) == 3 and all("is not a finite number" in r["reason"] for r in bad), bad
    optional = parse_schema({"columns": [{"name": "a", "type": "float", "required": False},
                                         {"name": "b", "type": "int64"}]})  # fmt: skip
    batches = list(decode_csv_file(str(path), optional, CsvFormat(), optional.arrow_schema(),
                                   optional.names))  # fmt: skip
    assert not [row for _, rows in batches for row in rows]
    values = [v for b, _ in batches if b is not None for v in b.column("a").to_pylist()]
    assert values == [[1.5], [], [], []]  # missing, never NaN
    with pytest.raises(JobOptionsError, match="non_finite"):
        CsvFormat(non_finite="zero")
    with pytest.raises(JobOptionsError, match="non_numeric_fraction"):
        CsvFormat(non_numeric_fraction=1.0)


def test_empty_file_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="empty"):
        infer_csv_schema([str(path)], CsvFormat())


COLUMNS = {
    "ints": ["1", " 2 ", "+3", "-4", ""],
    "big_ints": ["9223372036854775807", "-9223372036854775808"],
    "too_big": ["9223372036854775808", "1"],
    "floats": ["1.5", "2", "1e5", ".5", "5.", "-inf", "NaN", "Infinity"],
    "padded_floats": [" 1.5", "2 "],
    "strings": ["1", "x"],
    "hex": ["0x10"],
    "underscored": ["1_000"],
}


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_csv_jobs_and_recio_write_give_a_column_the_same_kind(name: str) -> None:
    """One cell classifier: recordio.cells decides for `recio write`, the job's vectorised
    inference must agree with it on every column."""
    import pyarrow as pa

    from pipeline.csv_format import infer_column
    from recordio.cells import cell_kind, widen

    cells = COLUMNS[name]
    expected = None
    for cell in cells:
        expected = widen(expected, cell_kind(cell))
    strings = pa.array([c if c.strip() else None for c in cells], type=pa.string())
    strict = CsvFormat(non_numeric_fraction=0)  # recio write has no threshold
    assert infer_column(name, strings, strict).type == expected
