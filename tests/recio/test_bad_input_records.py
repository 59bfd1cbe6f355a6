"""The bad-input catalog for the record commands (`recio write`, `read`, `verify`).

Each case runs the real command in a folder of real files and checks what a user sees: the
documented exit code, one `Error:` line that names the thing and says what to do, no
traceback, and that no file the user had was changed (an output appears only on success).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from recordio import read_records, write_records
from recordio.example import encode_example

RECORDS = [encode_example({"id": [i], "name": [f"n{i}".encode()]}) for i in range(50)]


def _files(folder: Path) -> None:
    """The user's folder: good and bad inputs of every kind the catalog needs."""
    write_records(folder / "good.tfrecord", RECORDS)
    write_records(folder / "good.tfrecord.gz", RECORDS, "GZIP")
    data = (folder / "good.tfrecord").read_bytes()
    (folder / "cut.tfrecord").write_bytes(data[: len(data) - 7])
    (folder / "cut.tfrecord.gz").write_bytes((folder / "good.tfrecord.gz").read_bytes()[:-30])
    flipped = bytearray(data)
    flipped[40] ^= 0x10
    (folder / "flipped.tfrecord").write_bytes(bytes(flipped))
    (folder / "empty.tfrecord").write_bytes(b"")
    (folder / "rows.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    (folder / "rows.csv").write_text("a,b\n1,x\n2,y\n")
    (folder / "empty.jsonl").write_text("")
    (folder / "empty.csv").write_text("")
    (folder / "ragged.csv").write_text("a,b\n1,2\n3\n")
    (folder / "bom.csv").write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
    (folder / "semi.csv").write_text("a;b;c\n1;2;3\n")
    (folder / "mixed.jsonl").write_text('{"a": 1}\n{"a": "x"}\n')
    (folder / "huge.jsonl").write_text('{"a": 1180591620717411303424}\n')
    (folder / "broken.jsonl").write_text('{"a": 1}\n{"a":\n')
    (folder / "array.jsonl").write_text("[1, 2]\n")
    (folder / "latin1.csv").write_bytes(b"a,b\n1,caf\xe9\n")
    (folder / "dup.csv").write_text("a,a\n1,2\n")
    (folder / "notes.txt").write_text("hello\n")
    (folder / "zeros.tfrecord").write_bytes(b"\0" * 100)
    (folder / "sub").mkdir()
    with gzip.open(folder / "text.gz", "wb") as f:
        f.write(b"just text, compressed\n" * 20)


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...] = ()  # words the one error line must hold (case-insensitive)
    creates: tuple[str, ...] = ()  # outputs that may appear (only on success)
    stdin: bytes | None = b""
    shell: str | None = None  # run through bash instead (pipes, closed descriptors)
    changes: tuple[str, ...] = field(default=())  # files the command may replace


W, R, V = "write", "read", "verify"
CASES = [
    # --- recio write: outputs a user owns
    Case(
        "existing output", (W, "good.tfrecord", "rows.jsonl"), 1, ("good.tfrecord", "--overwrite")
    ),
    Case("swapped arguments", (W, "rows.csv", "rows.jsonl"), 1, ("rows.csv", "output comes first")),
    Case("output is the input", (W, "rows.jsonl", "rows.jsonl"), 1, ("also an input",)),
    Case(
        "output is the input, --overwrite",
        (W, "rows.jsonl", "rows.jsonl", "--overwrite"),
        1,
        ("also an input",),
    ),
    Case(
        "output is a glob's input", (W, "rows.csv", "*.csv", "--overwrite"), 1, ("also an input",)
    ),
    Case("output is a folder", (W, "sub", "rows.jsonl"), 1, ("sub", "folder")),
    Case(
        "output in a missing folder",
        (W, "nope/o.tfrecord", "rows.jsonl"),
        1,
        ("nope", "does not exist"),
    ),
    Case(
        "output under a file",
        (W, "rows.csv/o.tfrecord", "rows.jsonl"),
        1,
        ("rows.csv", "not a folder"),
    ),
    Case(
        "output name too long",
        (W, "a" * 300 + ".tfrecord", "rows.jsonl"),
        1,
        ("too long", "aaaa.tfrecord", "shorten"),
    ),
    Case(
        "bad data keeps the old output",
        (W, "good.tfrecord", "mixed.jsonl", "--overwrite"),
        1,
        ("mixed.jsonl", "line 2"),
    ),
    # --- recio write: inputs
    Case("missing input", (W, "o.tfrecord", "nope.jsonl"), 1, ("nope.jsonl", "no such file")),
    Case("glob matching nothing", (W, "o.tfrecord", "nope*.jsonl"), 1, ("nope*.jsonl", "matches")),
    Case("input is a folder", (W, "o.tfrecord", "sub"), 1, ("sub", "is a folder")),
    Case("empty CSV", (W, "o.tfrecord", "empty.csv"), 1, ("empty.csv", "no header")),
    Case("ragged CSV", (W, "o.tfrecord", "ragged.csv"), 1, ("ragged.csv", "line 3", "fields")),
    Case("semicolon CSV", (W, "o.tfrecord", "semi.csv"), 1, ("semi.csv", "--delimiter")),
    Case("duplicate CSV column", (W, "o.tfrecord", "dup.csv"), 1, ("dup.csv", "twice")),
    Case("CSV not UTF-8", (W, "o.tfrecord", "latin1.csv"), 1, ("latin1.csv", "utf-8")),
    Case("mixed JSON types", (W, "o.tfrecord", "mixed.jsonl"), 1, ("mixed.jsonl", "line 2", "'a'")),
    Case("int beyond int64", (W, "o.tfrecord", "huge.jsonl"), 1, ("huge.jsonl", "int64")),
    Case("broken JSON", (W, "o.tfrecord", "broken.jsonl"), 1, ("broken.jsonl", "line 2", "json")),
    Case("JSON not an object", (W, "o.tfrecord", "array.jsonl"), 1, ("array.jsonl", "object")),
    Case("records given to write", (W, "o.tfrecord", "good.tfrecord"), 1, ("good.tfrecord",)),
    # --- recio write: usage
    Case("unknown option", (W, "o.tfrecord", "rows.jsonl", "--bogus"), 2, ("--bogus", "--help")),
    Case(
        "level without compression",
        (W, "o.tfrecord", "rows.jsonl", "--level", "3"),
        2,
        ("--level", "--compression"),
    ),
    Case("unknown compression", (W, "o.tfrecord", "rows.jsonl", "-c", "lz4"), 2, ("lz4",)),
    Case("bad delimiter", (W, "o.tfrecord", "rows.csv", "--delimiter", ";;"), 2, ("--delimiter",)),
    Case("raw with a format", (W, "o.tfrecord", "rows.jsonl", "--raw", "-f", "csv"), 1, ("--raw",)),
    # --- recio read / verify: inputs
    Case("read missing", (R, "nope.tfrecord"), 1, ("nope.tfrecord", "no such file")),
    Case("read truncated", (R, "cut.tfrecord"), 3, ("cut.tfrecord", "record 49")),
    Case("read truncated gzip", (R, "cut.tfrecord.gz"), 3, ("cut.tfrecord.gz",)),
    Case("read flipped bit", (R, "flipped.tfrecord"), 3, ("flipped.tfrecord", "record")),
    Case("read a CSV", (R, "rows.csv"), 3, ("rows.csv",)),
    Case("read zeros", (R, "zeros.tfrecord"), 3, ("zeros.tfrecord",)),
    Case("read gzip text", (R, "text.gz"), 3, ("text.gz",)),
    Case(
        "read with the wrong codec",
        (R, "good.tfrecord", "-c", "gzip"),
        1,
        ("good.tfrecord", "uncompressed"),
    ),
    Case("read a folder without records", (R, "sub"), 1, ("sub", "no record files")),
    Case("read unknown option", (R, "good.tfrecord", "--bogus"), 2, ("--bogus",)),
    Case("read bad limit", (R, "good.tfrecord", "--limit", "-1"), 2, ("--limit",)),
    Case("verify truncated", (V, "cut.tfrecord"), 3, ()),
    Case("verify missing", (V, "nope.tfrecord"), 1, ("nope.tfrecord",)),
    Case("verify a folder without records", (V, "sub"), 1, ("sub", "no record files")),
    # --- closed streams and pipes
    Case(
        "read to a closed stdout",
        (),
        1,
        ("standard output is closed",),
        shell="{recio} read good.tfrecord >&-",
    ),
    Case(
        "write from a closed stdin",
        (),
        1,
        ("standard input is closed",),
        shell="{recio} write o.tfrecord - <&-",
    ),
    Case(
        "write - into a closed pipe",
        (),
        0,
        shell="yes '{{\"a\": 1}}' | head -n 300000 | "
        "{recio} write - - | head -c 1 >/dev/null; exit ${{PIPESTATUS[2]}}",
    ),
    Case(
        "read into a closed pipe",
        (),
        0,
        shell="{recio} read good.tfrecord | head -n 1 >/dev/null; exit ${{PIPESTATUS[0]}}",
    ),
    Case(
        "write binary to a terminal-less stdout",
        (),
        0,
        creates=(),
        shell="{recio} write - rows.jsonl > /dev/null",
    ),
]


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    _files(tmp_path)
    return tmp_path


def _run(case: Case, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    if case.shell is not None:
        recio = f"{sys.executable} -m recio"
        return subprocess.run(
            ["bash", "-c", case.shell.format(recio=recio)],
            cwd=folder, env=env, capture_output=True, timeout=60,
        )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "recio", *case.args],
        cwd=folder, env=env, input=case.stdin, capture_output=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, user_folder: Path, python_env: dict[str, str]) -> None:
    before = _snapshot(user_folder)
    done = _run(case, user_folder, python_env)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == case.code, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    if case.code in (1, 2):
        errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, stderr
        for word in case.says:
            assert word.lower() in errors[0].lower(), (word, errors[0])
    after = _snapshot(user_folder)
    assert {k: v for k, v in after.items() if k in before} == before, "a user file changed"
    new = set(after) - set(before)
    assert new <= set(case.creates) if case.code else True, new
    leftovers = [p for p in os.listdir(user_folder) if ".tmp-" in p]
    assert not leftovers, leftovers


def test_bom_csv_header_is_clean(user_folder: Path, python_env: dict[str, str]) -> None:
    done = _run(Case("bom", (W, "o.tfrecord", "bom.csv"), 0), user_folder, python_env)
    assert done.returncode == 0, done.stderr
    from recordio.example import decode_example

    (record,) = read_records(user_folder / "o.tfrecord")
    assert set(decode_example(record)) == {"a", "b"}


def test_semicolon_csv_with_delimiter(user_folder: Path, python_env: dict[str, str]) -> None:
    case = Case("semi", (W, "o.tfrecord", "semi.csv", "--delimiter", ";"), 0)
    assert _run(case, user_folder, python_env).returncode == 0
    from recordio.example import decode_example

    (record,) = read_records(user_folder / "o.tfrecord")
    assert decode_example(record) == {"a": [1], "b": [2], "c": [3]}


def test_overwrite_replaces_atomically(user_folder: Path, python_env: dict[str, str]) -> None:
    case = Case("overwrite", (W, "good.tfrecord", "rows.jsonl", "--overwrite"), 0)
    assert _run(case, user_folder, python_env).returncode == 0
    assert len(list(read_records(user_folder / "good.tfrecord"))) == 2


def _big_input(folder: Path) -> Path:
    path = folder / "big.jsonl"
    with path.open("w") as f:
        for i in range(300_000):
            f.write(f'{{"id": {i}, "text": "{"x" * 40}"}}\n')
    return path


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_signal_leaves_no_debris(
    tmp_path: Path, python_env: dict[str, str], sig: int, code: int, existing: bool
) -> None:
    _big_input(tmp_path)
    out = tmp_path / "out.tfrecord.gz"
    if existing:
        write_records(out, RECORDS, "GZIP")
    before = _snapshot(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "recio", "write", out.name, "big.jsonl", "--overwrite"],
        cwd=tmp_path, env=python_env, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not any(".tmp-" in p for p in os.listdir(tmp_path)):  # writing has begun
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == code, stderr
    assert b"Traceback" not in stderr
    assert _snapshot(tmp_path) == before  # no temp file; the old output untouched
    if existing:
        assert list(read_records(out)) == RECORDS


def test_nul_in_path_is_a_typed_error(tmp_path: Path) -> None:
    from recordio import TFRecordReader, TFRecordWriter, UnsafePathError

    with pytest.raises(UnsafePathError, match="NUL"):
        TFRecordWriter(str(tmp_path / "a\0b.tfrecord"))
    with pytest.raises(UnsafePathError, match="NUL"):
        TFRecordReader(str(tmp_path / "a\0b.tfrecord"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("length", [200, 240, 250, 255])
def test_any_name_the_filesystem_takes_works(tmp_path: Path, length: int) -> None:
    name = "é" * ((length - 9) // 2) + "x" * ((length - 9) % 2) + ".tfrecord"
    assert len(os.fsencode(name)) == length
    write_records(tmp_path / name, RECORDS[:3])
    assert list(read_records(tmp_path / name)) == RECORDS[:3]
    assert os.listdir(tmp_path) == [name]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root")
def test_unwritable_folder_as_another_user(python_env: dict[str, str]) -> None:
    """Run as `nobody`: root may write anywhere, so only another user meets the permission."""
    folder = Path(tempfile.mkdtemp(prefix="recio-perm-"))  # /tmp: searchable by everyone
    try:
        folder.chmod(0o755)
        (folder / "rows.jsonl").write_text('{"a": 1}\n')
        (folder / "rows.jsonl").chmod(0o644)
        (folder / "locked").mkdir(mode=0o555)
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
             "-m", "recio", "write", "locked/o.tfrecord", "rows.jsonl"],
            cwd=folder, env=python_env, capture_output=True, timeout=60,
        )  # fmt: skip
        stderr = done.stderr.decode()
        if "Permission denied" in stderr and "python" in stderr.split("Error:")[0]:
            pytest.skip("nobody cannot run this Python")
        assert done.returncode == 1, stderr
        assert "locked/o.tfrecord" in stderr and "Permission denied" in stderr, stderr
        assert ".tmp-" not in stderr
        assert os.listdir(folder / "locked") == []
    finally:
        shutil.rmtree(folder)
