"""`recio write`, `recio read`, `recio verify` as a user runs them: subprocesses, real files."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from recordio import read_records, write_records
from recordio.example import encode_example

ROWS = [
    {"id": 1, "price": 2.5, "name": "café", "tags": ["a", "b"], "ok": True},
    {"id": 2, "price": 3, "name": "x", "note": None, "blob": {"base64": "AP8="}},
    {"id": 3, "price": -0.1, "name": "", "tags": []},
]
# What `recio read` prints for ROWS: every feature a list, floats always floats, bool as int64.
ROWS_READ = [
    {"id": [1], "name": ["café"], "ok": [1], "price": [2.5], "tags": ["a", "b"]},
    {"blob": [{"base64": "AP8="}], "id": [2], "name": ["x"], "price": [3.0]},
    {"id": [3], "name": [""], "price": [-0.1], "tags": []},
]


def recio(
    *args: str, cwd: Path, env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "recio", *args],
        cwd=cwd,
        env=env,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    assert result.returncode == 0, result.stderr.decode()
    assert b"Traceback" not in result.stderr
    return result


def lines(result: subprocess.CompletedProcess[bytes]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def by_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: row["id"])


@pytest.fixture
def run(tmp_path: Path, python_env: dict[str, str]):
    def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return recio(*args, cwd=tmp_path, env=python_env, stdin=stdin)

    return _run


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS) + "\n", encoding="utf-8")
    return path


# =========================================================================== write -> read


def test_jsonl_round_trip(run, jsonl: Path, tmp_path: Path) -> None:
    written = ok(run("write", "out.tfrecord", jsonl.name))
    assert written.stderr.decode().startswith("Wrote 3 records to out.tfrecord: ")
    assert lines(ok(run("read", "out.tfrecord"))) == ROWS_READ
    # The JSON form reads back into the same records, byte for byte.
    again = ok(run("read", "out.tfrecord")).stdout
    ok(run("write", "copy.tfrecord", "-", stdin=again))
    assert (tmp_path / "copy.tfrecord").read_bytes() == (tmp_path / "out.tfrecord").read_bytes()


def test_read_skip_limit_and_table(run, jsonl: Path) -> None:
    ok(run("write", "out.tfrecord", jsonl.name))
    assert lines(ok(run("read", "out.tfrecord", "--skip", "1", "--limit", "1"))) == ROWS_READ[1:2]
    table = ok(run("read", "out.tfrecord", "--format", "TABLE")).stdout.decode()
    assert "café" in table and "price" in table and "a, b" in table


def test_csv_round_trip(run, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        'n,x,label,empty\n1,0.5,"a, ""quoted""\nline",\n2,,b,\n,3,,\n', encoding="utf-8"
    )
    ok(run("write", "t.tfrecord", "t.csv"))
    assert lines(ok(run("read", "t.tfrecord"))) == [
        {"label": ['a, "quoted"\nline'], "n": [1], "x": [0.5]},
        {"label": ["b"], "n": [2]},
        {"x": [3.0]},
    ]


def test_csv_header_only_writes_an_empty_file(run, tmp_path: Path) -> None:
    (tmp_path / "h.txt").write_text("a,b\n", encoding="utf-8")
    ok(run("write", "h.tfrecord", "h.txt", "--format", "csv"))
    assert (tmp_path / "h.tfrecord").read_bytes() == b""
    assert ok(run("read", "h.tfrecord")).stdout == b""


def test_raw_and_base64_lines(run, tmp_path: Path) -> None:
    (tmp_path / "lines.txt").write_bytes(b"first\n\nthird \xff\nlast")
    ok(run("write", "raw.tfrecord", "lines.txt", "--raw"))
    assert list(read_records(tmp_path / "raw.tfrecord")) == [b"first", b"", b"third \xff", b"last"]
    printed = ok(run("read", "raw.tfrecord", "--raw")).stdout
    assert printed.decode().splitlines() == [
        base64.b64encode(r).decode() for r in [b"first", b"", b"third \xff", b"last"]
    ]
    ok(run("write", "copy.tfrecord", "--base64", stdin=printed))
    assert (tmp_path / "copy.tfrecord").read_bytes() == (tmp_path / "raw.tfrecord").read_bytes()


def test_stdin_to_stdout_pipe(run, jsonl: Path) -> None:
    framed = ok(run("write", "-", "-", stdin=jsonl.read_bytes())).stdout
    assert ok(run("write", "-", "-", "-c", "gzip", stdin=jsonl.read_bytes())).stdout[:2] == (
        b"\x1f\x8b"
    )
    assert lines(ok(run("read", "-", stdin=framed))) == ROWS_READ
    assert "to <stdout>" in ok(run("write", "-", stdin=jsonl.read_bytes())).stderr.decode()


def test_shards_globs_and_compression(run, jsonl: Path, tmp_path: Path) -> None:
    ok(run("write", "s.tfrecord.gz", jsonl.name, "--shards", "2"))
    names = sorted(p.name for p in tmp_path.glob("s*.tfrecord.gz"))
    assert names == ["s-00000-of-00002.tfrecord.gz", "s-00001-of-00002.tfrecord.gz"]
    for name in names:
        assert gzip.decompress((tmp_path / name).read_bytes())  # really GZIP, and complete
    assert [len(list(read_records(tmp_path / n))) for n in names] == [2, 1]  # round robin
    assert by_id(lines(ok(run("read", "s-*-of-00002.tfrecord.gz")))) == ROWS_READ
    ok(run("write", "z.tfrecord", jsonl.name, "--compression", "ZLIB", "--level", "9"))
    assert (tmp_path / "z.tfrecord").read_bytes()[:1] == b"\x78"
    assert lines(ok(run("read", "z.tfrecord", "--compression", "zlib"))) == ROWS_READ
    verified = ok(run("verify", "*.tfrecord*"))
    assert b"in 3 files: all ok" in verified.stdout


def test_failed_input_publishes_no_shard(run, tmp_path: Path) -> None:
    rows = "".join(json.dumps({"i": i}) + "\n" for i in range(10)) + '{"i": "text"}\n'
    (tmp_path / "bad.jsonl").write_text(rows, encoding="utf-8")
    result = run("write", "out.tfrecord", "bad.jsonl", "--shards", "3")
    assert result.returncode == 1
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.jsonl"]  # no shard, no temp file


@pytest.mark.requires_tf
def test_tensorflow_reads_what_recio_writes(run, jsonl: Path, tmp_path: Path) -> None:
    import tensorflow as tf

    ok(run("write", "tf.tfrecord.gz", jsonl.name, "--shards", "2"))
    spec = {
        "id": tf.io.FixedLenFeature([], tf.int64),
        "price": tf.io.FixedLenFeature([], tf.float32),
        "name": tf.io.FixedLenFeature([], tf.string),
        "tags": tf.io.VarLenFeature(tf.string),
    }
    files = sorted(str(p) for p in tmp_path.glob("tf-*.tfrecord.gz"))
    got = {}
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        parsed = tf.io.parse_single_example(record, spec)
        got[int(parsed["id"])] = (
            float(parsed["price"]),
            parsed["name"].numpy().decode(),
            [t.decode() for t in parsed["tags"].values.numpy()],
        )
    assert got == {
        1: (2.5, "café", ["a", "b"]),
        2: (3.0, "x", []),
        3: (pytest.approx(-0.1), "", []),
    }


# =========================================================================== verify


def damaged_file(path: Path) -> None:
    """Five 20-byte records (36 bytes framed) with data bytes of records 1 and 3 flipped."""
    write_records(path, [bytes([65 + i]) * 20 for i in range(5)])
    data = bytearray(path.read_bytes())
    for index in (1, 3):
        data[36 * index + 12 + 5] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_reports_every_damaged_region(run, tmp_path: Path) -> None:
    damaged_file(tmp_path / "bad.tfrecord")
    write_records(tmp_path / "good.tfrecord", [b"fine"] * 4)
    result = run("verify", "good.tfrecord", "bad.tfrecord", "--json")
    assert result.returncode == 3, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["damaged_files"] == 1
    good, bad = report["files"]
    assert (good["ok"], good["records"], good["payload_bytes"]) == (True, 4, 16)
    assert (bad["records"], bad["payload_bytes"], bad["file_bytes"]) == (3, 60, 180)
    regions = [(d["index"], d["offset"], d["end"], d["kind"]) for d in bad["issues"]]
    assert regions == [(1, 36, 72, "corrupt_data_crc"), (3, 108, 144, "corrupt_data_crc")]
    human = run("verify", "good.tfrecord", "bad.tfrecord")
    assert human.returncode == 3
    text = human.stdout.decode()
    assert "DAMAGED (2)" in text and "in 2 files: 1 damaged" in text and "108" in text
    # `read` prints the records before the damage, then one error line.
    partial = run("read", "bad.tfrecord", "--raw")
    assert partial.returncode == 3 and partial.stderr.decode().startswith("Error: bad.tfrecord: ")
    assert base64.b64decode(partial.stdout.splitlines()[0]) == b"A" * 20
    clean = ok(run("verify", "good.tfrecord"))
    assert b"in 1 file: all ok" in clean.stdout


# =========================================================================== bad input


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    write_records(tmp_path / "plain.tfrecord", [encode_example({"a": [1]})])
    write_records(tmp_path / "text.tfrecord", [b"hello world"])
    damaged_file(tmp_path / "bad.tfrecord")
    data = (tmp_path / "plain.tfrecord").read_bytes()
    (tmp_path / "cut.tfrecord").write_bytes(data[:-3])
    (tmp_path / "rows.jsonl").write_text('{"a": 1}\n{"a": {"b": 2}}\n', encoding="utf-8")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n", encoding="utf-8")
    (tmp_path / "doc.txt").write_text("not a tfrecord at all\n", encoding="utf-8")
    return tmp_path


BAD_INPUT = [
    # (arguments, exit code, words the one line must contain)
    (["read", "missing.tfrecord"], 1, "no such file"),
    (["read", "nothing-*.tfrecord"], 1, "no file matches"),
    (["verify", "missing.tfrecord"], 1, "no such file"),
    (["read", "doc.txt"], 3, "text file, not TFRecords"),
    (["read", "plain.tfrecord", "-c", "gzip"], 1, "uncompressed TFRecord"),
    (["read", "plain.tfrecord", "-c", "lz4"], 2, "--compression must be NONE, GZIP or ZLIB"),
    (["verify", "plain.tfrecord", "-c", "lz4"], 2, "--compression must be NONE, GZIP or ZLIB"),
    (["read", "bad.tfrecord", "--raw"], 3, "data CRC mismatch"),
    (["read", "cut.tfrecord"], 3, "file ends inside a record"),
    (["read", "text.tfrecord"], 1, "--raw"),
    (["read", "plain.tfrecord", "--limit", "many"], 2, "--limit"),
    (["read", "plain.tfrecord", "--format", "xml"], 2, "--format"),
    (["read", "plain.tfrecord", "--no-such-option"], 2, "No such option"),
    (["read"], 2, "Missing argument"),
    (["write", "o.tfrecord", "rows.jsonl"], 1, "line 2: key 'a': a nested object"),
    (["write", "o.tfrecord", "ragged.csv"], 1, "line 3: 1 fields, but the header has 2"),
    (["write", "o.tfrecord", "rows.jsonl", "-c", "brotli"], 2, "got 'brotli'"),
    (["write", "o.tfrecord", "rows.jsonl", "--level", "5"], 2, "give --compression GZIP or ZLIB"),
    (["write", "-", "rows.jsonl", "--shards", "2"], 2, "--shards needs an output file"),
    (["write", "no/such/dir/o.tfrecord", "doc.txt", "--raw"], 1, "does not exist"),
    (["write", "o.tfrecord", "doc.txt", "--base64"], 1, "line 1: bad base64"),
    (["write", "o.tfrecord", "gone.jsonl"], 1, "no such file"),
]


@pytest.mark.parametrize(("args", "code", "words"), BAD_INPUT, ids=lambda v: str(v)[:40])
def test_bad_input_is_one_error_line(run, inputs: Path, args, code, words) -> None:
    result = run(*args)
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err
    assert words in err
    assert "Traceback" not in err and not (inputs / "o.tfrecord").exists()


# =========================================================================== the CLI itself


def test_every_command_has_help_with_an_example() -> None:
    import typer.main

    from recio.cli import app

    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert {"write", "read", "verify"} <= set(commands)
    for name, command in commands.items():
        assert command.help and "Example" in command.help, f"recio {name} has no example"


@pytest.mark.parametrize("command", ["write", "read", "verify"])
def test_help_runs(run, command: str) -> None:
    text = ok(run(command, "--help")).stdout.decode()
    assert "Example: recio " + command in text


def test_cli_import_stays_light(python_env: dict[str, str]) -> None:
    # `recio --help` and `recio verify` must start fast: nothing heavy at import time.
    heavy = ["rich", "numpy", "tensorflow", "keras", "apache_beam", "torch", "jax"]
    code = f"import sys, recio.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], env=python_env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_expand_paths_globs_folders_and_literal_names(tmp_path: Path) -> None:
    from recordio import RecordIOError, expand_paths

    for name in ("b.tfrecord", "a.tfrecord", "x[1].tfrecord", ".hidden"):
        (tmp_path / name).write_bytes(b"")
    folder = str(tmp_path)
    visible = [f"{folder}/a.tfrecord", f"{folder}/b.tfrecord", f"{folder}/x[1].tfrecord"]
    assert expand_paths([f"{folder}/*.tfrecord", "-"]) == [*visible, "-"]
    assert expand_paths([folder]) == visible
    # A name the shell already expanded is used as it is, brackets and all.
    assert expand_paths([f"{folder}/x[1].tfrecord"]) == [f"{folder}/x[1].tfrecord"]
    for missing in (f"{folder}/none-*.tfrecord", f"{folder}/none.tfrecord"):
        with pytest.raises(RecordIOError):
            expand_paths([missing])


def test_write_reads_a_named_pipe_in_two_passes(run, tmp_path: Path) -> None:
    # `recio write out.tfrecord <(head data.csv)`: a pipe cannot be rewound for type inference.
    import os
    import threading

    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w", encoding="utf-8") as out:
            out.write("a,b\n1,x\n2,\n")

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        ok(run("write", "out.tfrecord", str(fifo), "--format", "csv"))
    finally:
        feeder.join(timeout=10)
    assert lines(ok(run("read", "out.tfrecord"))) == [{"a": [1], "b": ["x"]}, {"a": [2]}]
