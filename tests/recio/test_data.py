"""`recio schema`, `recio stats`, `recio convert` as a user runs them: subprocesses, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from recordio import encode_example, write_records


def recio(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "recio", *args],
        cwd=cwd,
        env=env,
        input=b"",
        capture_output=True,
        timeout=120,
    )


def examples(path: Path, n: int, *, shift: float = 0.0, extra: str | None = None) -> Path:
    rng = np.random.default_rng(int(shift * 10) + n)
    rows = []
    for i in range(n):
        color = ["red", "blue"][i % 2] if extra is None or i % 5 else extra
        rows.append(
            encode_example(
                {"x": float(rng.normal(shift)), "color": color, "tags": ["a", "b"][: i % 3]}
            )
        )
    write_records(str(path), rows)
    return path


def test_schema_writes_once_and_refuses_to_overwrite(
    tmp_path: Path, repo_root: Path, python_env: dict[str, str]
) -> None:
    data = examples(tmp_path / "d.tfrecord", 50)
    out = tmp_path / "schema.json"
    first = recio("schema", str(data), "-f", "json", "-o", str(out), cwd=repo_root, env=python_env)
    assert first.returncode == 0, first.stderr.decode()
    columns = json.loads(out.read_text())["columns"]
    assert [c["name"] for c in columns] == ["color", "tags", "x"]
    assert columns[1]["values"] == "var"
    again = recio("schema", str(data), "-o", str(out), cwd=repo_root, env=python_env)
    assert again.returncode == 1 and b"--overwrite" in again.stderr
    over_input = recio(
        "schema", str(data), "-o", str(data), "--overwrite", cwd=repo_root, env=python_env
    )
    assert over_input.returncode == 1 and b"is one of the inputs" in over_input.stderr
    python = recio("schema", str(data), "-f", "python", cwd=repo_root, env=python_env)
    assert b"'tags': tf.io.VarLenFeature(tf.string)" in python.stdout


def test_stats_json_plot_and_compare(
    tmp_path: Path, repo_root: Path, python_env: dict[str, str]
) -> None:
    train = examples(tmp_path / "train.tfrecord", 400)
    clean = examples(tmp_path / "eval.tfrecord", 200)
    drift = examples(tmp_path / "drift.tfrecord", 200, shift=3.0, extra="green")
    png = tmp_path / "stats.png"
    result = recio("stats", str(train), "--json", "--plot", str(png), cwd=repo_root, env=python_env)
    assert result.returncode == 0, result.stderr.decode()
    doc = json.loads(result.stdout)
    assert doc["records"] == 400 and doc["features"]["color"]["distinct"]["exact"] == 2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = recio("stats", str(train), cwd=repo_root, env=python_env)
    assert b"400 records" in table.stdout and b"color" in table.stdout
    ok = recio("stats", "--compare", str(train), str(clean), cwd=repo_root, env=python_env)
    assert ok.returncode == 0, ok.stdout.decode() + ok.stderr.decode()
    bad = recio(
        "stats", "--compare", str(train), str(drift), "--json", cwd=repo_root, env=python_env
    )
    assert bad.returncode == 3, bad.stderr.decode()
    kinds = {(a["feature"], a["kind"]) for a in json.loads(bad.stdout)["anomalies"]}
    assert {("color", "unseen_values"), ("x", "mean")} <= kinds


def test_convert_round_trip_and_refusals(
    tmp_path: Path, repo_root: Path, python_env: dict[str, str]
) -> None:
    from recordio import read_records

    src = tmp_path / "d.tfrecord"
    write_records(str(src), [encode_example({"x": [1, 2], "s": "a"})] * 3)
    pq = tmp_path / "d.parquet"
    first = recio("convert", str(src), str(pq), cwd=repo_root, env=python_env)
    assert first.returncode == 0, first.stderr.decode()
    assert b"Converted 3 records" in first.stderr
    again = recio("convert", str(src), str(pq), cwd=repo_root, env=python_env)
    assert again.returncode == 1 and b"--overwrite" in again.stderr
    back = tmp_path / "back.tfrecord"
    ok = recio("convert", str(pq), str(back), cwd=repo_root, env=python_env)
    assert ok.returncode == 0 and list(read_records(str(back))) == list(read_records(str(src)))
    csv = recio("convert", str(src), str(tmp_path / "d.csv"), cwd=repo_root, env=python_env)
    assert csv.returncode == 1 and b"--join" in csv.stderr and b"Traceback" not in csv.stderr
    joined = recio(
        "convert", str(src), str(tmp_path / "d.csv"), "--join", ";", cwd=repo_root, env=python_env
    )
    assert joined.returncode == 0 and (tmp_path / "d.csv").read_text().startswith("s,x\na,1;2")


def test_convert_with_a_schema_fixes_kinds_and_adds_absent_columns(
    tmp_path: Path, repo_root: Path, python_env: dict[str, str]
) -> None:
    """A schema says `n` is a list (the data only ever holds one value) and names a feature,
    `weight`, that no record has: both shape the Parquet and CSV columns."""
    import pyarrow.parquet as parquet

    src = tmp_path / "d.tfrecord"
    write_records(str(src), [encode_example({"n": [i], "s": f"r{i}"}) for i in range(4)])
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"columns": [
        {"name": "n", "type": "int64", "values": "var"},
        {"name": "s", "type": "bytes"},
        {"name": "weight", "type": "float", "required": False},
    ]}))  # fmt: skip
    out = tmp_path / "d.parquet"
    done = recio("convert", str(src), str(out), "--schema", str(schema), cwd=repo_root,
                 env=python_env)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    table = parquet.read_table(out)
    assert str(table.schema.field("n").type) == "list<element: int64>"
    assert str(table.schema.field("weight").type) == "float"
    assert table.column("weight").null_count == 4 and table.column("n").to_pylist()[3] == [3]
    plain = recio("convert", str(src), str(tmp_path / "p.parquet"), cwd=repo_root, env=python_env)
    assert plain.returncode == 0
    assert str(parquet.read_table(tmp_path / "p.parquet").schema.field("n").type) == "int64"
    csv_out = tmp_path / "d.csv"
    done = recio("convert", str(src), str(csv_out), "--schema", str(schema), "--join", "|",
                 cwd=repo_root, env=python_env)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert csv_out.read_text().splitlines()[:2] == ["n,s,weight", "0,r0,"]
    wrong = recio("convert", str(out), str(tmp_path / "x.tfrecord"), "--schema", str(schema),
                  cwd=repo_root, env=python_env)  # fmt: skip
    assert wrong.returncode == 2 and b"--schema" in wrong.stderr, wrong.stderr


def test_stats_and_schema_sample_draws_seeded_records_from_all_files(
    tmp_path: Path, repo_root: Path, python_env: dict[str, str]
) -> None:
    """--sample N --seed S: N records drawn at random from all the files, the same ones for
    the same seed. Each record's `i` is its index over both files, so the draw is visible."""
    first, second = tmp_path / "a.tfrecord", tmp_path / "b.tfrecord.gz"
    write_records(str(first), [encode_example({"i": i}) for i in range(300)])
    write_records(str(second), [encode_example({"i": i}) for i in range(300, 500)], "GZIP")

    def stats(*args: str) -> dict:
        done = recio("stats", str(first), str(second), "--json", *args, cwd=repo_root,
                     env=python_env)  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    doc = stats("--sample", "40", "--seed", "5")
    assert (
        doc["records"] == 40 and doc["sampled"] and doc["features"]["i"]["distinct"]["exact"] == 40
    )
    numbers = doc["features"]["i"]["numbers"]
    assert numbers["max"] >= 300 and numbers["min"] < 300  # from both files
    assert stats("--sample", "40", "--seed", "5") == doc
    assert stats("--sample", "40", "--seed", "6")["features"]["i"]["numbers"] != numbers
    # The default seed is fixed: reproducible too.
    assert stats("--sample", "40") == stats("--sample", "40", "--seed", "0")
    everything = stats("--sample", "500")
    assert everything["records"] == 500 and not everything["sampled"]
    table = recio("stats", str(first), str(second), "-n", "40", cwd=repo_root, env=python_env)
    assert b"40 records (sample) in 2 files" in table.stdout
    schema = recio("schema", str(first), str(second), "-f", "json", "--sample", "10", "--seed",
                   "2", cwd=repo_root, env=python_env)  # fmt: skip
    assert schema.returncode == 0, schema.stderr.decode()
    assert [c["name"] for c in json.loads(schema.stdout)["columns"]] == ["i"]
    bad = recio("stats", str(first), "--sample", "5", "--seed", "-1", cwd=repo_root,
                env=python_env)  # fmt: skip
    assert bad.returncode == 2 and b"--seed" in bad.stderr
    helped = recio("stats", "--help", cwd=repo_root, env=python_env).stdout.decode()
    assert "--seed" in helped and "same seed draws the same records" in " ".join(helped.split())
