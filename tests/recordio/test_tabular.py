"""TFRecord <-> Parquet / CSV / JSON Lines through recordio.tabular, on real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recordio import ConvertError, decode_example, encode_example, read_records, write_records
from recordio.tabular import convert

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def canonical(n: int) -> list[bytes]:
    """Examples as encode_example writes them, with absent features but no untyped empties."""
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        row = {
            "id": i,
            "name": f"row {i} é",
            "blob": rng.bytes(int(rng.integers(1, 9))),
            "vec": rng.normal(size=4).astype(np.float32),
            "tokens": [f"t{int(t)}" for t in rng.integers(0, 5, int(rng.integers(1, 4)))],
        }
        if i % 3 == 0:
            row["maybe"] = float(i) / 7
        out.append(encode_example(row))
    return out


def test_parquet_round_trip_is_byte_identical(tmp_path: Path) -> None:
    records = canonical(300)
    src = tmp_path / "in.tfrecord"
    write_records(str(src), records)
    # Small batches: the layout of the first (no 'maybe' gaps yet...) must hold for all.
    convert([str(src)], str(tmp_path / "t.parquet"), batch_records=64)
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("name").type == pa.string()
    assert table.schema.field("blob").type == pa.binary()
    assert table.schema.field("vec").type == pa.list_(pa.float32())
    assert table.column("maybe").null_count == 200
    convert([str(tmp_path / "t.parquet")], str(tmp_path / "back.tfrecord"))
    assert list(read_records(str(tmp_path / "back.tfrecord"))) == records


def test_a_later_batch_widens_the_layout(tmp_path: Path) -> None:
    records = [encode_example({"x": 1, "s": "a"}) for _ in range(20)]
    records += [encode_example({"x": [1, 2], "s": b"\xff", "new": 2.5})]
    write_records(str(tmp_path / "in.tfrecord"), records)
    summary = convert([str(tmp_path / "in.tfrecord")], str(tmp_path / "t.parquet"), batch_records=8)
    assert summary.restarts == 1 and summary.records == 21
    schema = pq.read_schema(tmp_path / "t.parquet")
    assert schema.field("x").type == pa.list_(pa.int64())
    assert schema.field("s").type == pa.binary()
    convert([str(tmp_path / "t.parquet")], str(tmp_path / "back.tfrecord"))
    assert list(read_records(str(tmp_path / "back.tfrecord"))) == records


def test_csv_refuses_lists_unless_joined_and_writes_atomically(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    write_records(str(tmp_path / "in.tfrecord"), canonical(10))
    with pytest.raises(ConvertError, match="not UTF-8"):
        convert([str(tmp_path / "in.tfrecord")], str(out))
    lists = [encode_example({"a": 1})] * 3 + [encode_example({"a": [1, 2]})]
    write_records(str(tmp_path / "in.tfrecord"), lists)
    with pytest.raises(ConvertError, match="join"):
        convert([str(tmp_path / "in.tfrecord")], str(out), batch_records=2)
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))
    write_records(
        str(tmp_path / "in.tfrecord"),
        [encode_example({"a": [1, 2], "b": "x"}), encode_example({"b": "y"})],
    )
    convert([str(tmp_path / "in.tfrecord")], str(out), join="|")
    assert out.read_text().splitlines() == ["a,b", "1|2,x", ",y"]
    with pytest.raises(ConvertError, match="exists"):
        convert([str(tmp_path / "in.tfrecord")], str(out), join="|")
    with pytest.raises(ConvertError, match="one of the inputs"):
        convert([str(out)], str(out), overwrite=True)


def test_csv_and_jsonl_come_back_to_examples(tmp_path: Path) -> None:
    records = [encode_example({"a": i, "b": f"v{i}", "c": i / 4}) for i in range(1, 6)]
    write_records(str(tmp_path / "in.tfrecord"), records)
    for name in ("out.csv", "out.jsonl"):
        convert([str(tmp_path / "in.tfrecord")], str(tmp_path / name))
        convert([str(tmp_path / name)], str(tmp_path / f"{name}.tfrecord"))
        back = [decode_example(r) for r in read_records(str(tmp_path / f"{name}.tfrecord"))]
        assert back == [decode_example(r) for r in records]


def test_parquet_input_types(tmp_path: Path) -> None:
    table = pa.table(
        {
            "i32": pa.array([1, None], pa.int32()),
            "f64": pa.array([0.5, 1.5]),
            "flag": pa.array([True, False]),
            "tags": pa.array([["a"], []], pa.list_(pa.string())),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    convert([str(tmp_path / "in.parquet")], str(tmp_path / "out.tfrecord"))
    rows = [decode_example(r) for r in read_records(str(tmp_path / "out.tfrecord"))]
    assert rows == [
        {"i32": [1], "f64": [0.5], "flag": [1], "tags": [b"a"]},
        {"f64": [1.5], "flag": [0], "tags": []},
    ]
    pq.write_table(pa.table({"when": pa.array([1], pa.timestamp("s"))}), tmp_path / "t.parquet")
    with pytest.raises(ConvertError, match="cannot hold"):
        convert([str(tmp_path / "t.parquet")], str(tmp_path / "t.tfrecord"))
