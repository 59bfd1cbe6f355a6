"""`recio head/cat/split/merge/sample` as a user runs them: real subprocesses, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recordio import read_records, write_records
from recordio.example import encode_example
from recordio.manifest import check_folder, read_manifest

N = 50


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "recio", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.fixture
def recio(tmp_path: Path, python_env: dict[str, str]):
    def _run(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        result = run(tmp_path, python_env, *args)
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr
        return result

    records = [encode_example({"id": i}) for i in range(N)]
    write_records(tmp_path / "a.tfrecord", records[:30])
    write_records(tmp_path / "b.tfrecord.gz", records[30:], "GZIP")
    _run.records = records  # type: ignore[attr-defined]
    return _run


def ids(path: Path) -> list[int]:
    from recordio import decode_example

    return [decode_example(r)["id"][0] for r in read_records(path)]


def test_head_prints_the_first_records(recio) -> None:
    out = recio("head", "a.tfrecord", "b.tfrecord.gz", "-n", "3").stdout.splitlines()
    assert [json.loads(line) for line in out] == [{"id": [0]}, {"id": [1]}, {"id": [2]}]
    assert "Example:" in recio("head", "--help").stdout


def test_cat_and_its_refusals(recio, tmp_path: Path) -> None:
    recio("cat", "a.tfrecord", "b.tfrecord.gz", "all.tfrecord")
    assert ids(tmp_path / "all.tfrecord") == list(range(N))
    refused = recio("cat", "a.tfrecord", "all.tfrecord", code=1)
    assert "already exists" in refused.stderr and "--overwrite" in refused.stderr
    own = recio("cat", "a.tfrecord", "a.tfrecord", "--overwrite", code=1)
    assert "is also an input" in own.stderr
    assert ids(tmp_path / "a.tfrecord") == list(range(30))  # untouched


@pytest.mark.parametrize(
    ("how", "sizes"),
    [(["--shards", "3"], [16, 17, 17]), (["--records", "20"], [20, 20, 10]),
     (["--bytes", "400"], None)],
)  # fmt: skip
def test_split_publishes_a_set(recio, tmp_path: Path, how: list[str], sizes) -> None:
    recio("cat", "a.tfrecord", "b.tfrecord.gz", "all.tfrecord")
    (tmp_path / "parts").mkdir()
    recio("split", "all.tfrecord", "parts/p.tfrecord", *how)
    manifest = read_manifest(str(tmp_path / "parts" / "p.manifest.json"))
    got = [s.records for s in manifest.shards]
    if sizes is not None:
        assert got == sizes
    else:
        assert all(s.bytes <= 400 for s in manifest.shards) and sum(got) == N
    assert [i for p in manifest.paths() for i in ids(Path(p))] == list(range(N))
    assert check_folder(str(tmp_path / "parts")).ok
    assert recio("verify", "parts").returncode == 0
    again = recio("split", "all.tfrecord", "parts/p.tfrecord", *how, code=1)
    assert "--overwrite" in again.stderr


def test_split_needs_one_way(recio) -> None:
    result = recio("split", "a.tfrecord", "p.tfrecord", "--shards", "2", "--records", "3", code=2)
    assert "--shards" in result.stderr


def test_merge_in_order_and_shuffled(recio, tmp_path: Path) -> None:
    recio("merge", "a.tfrecord", "b.tfrecord.gz", "m.tfrecord")
    assert ids(tmp_path / "m.tfrecord") == list(range(N))
    recio("merge", "a.tfrecord", "b.tfrecord.gz", "s1.tfrecord", "--shuffle", "7")
    recio("merge", "a.tfrecord", "b.tfrecord.gz", "s2.tfrecord", "--shuffle", "7")
    shuffled = ids(tmp_path / "s1.tfrecord")
    assert sorted(shuffled) == list(range(N)) and shuffled != list(range(N))
    assert ids(tmp_path / "s2.tfrecord") == shuffled  # the seed fixes the order


def test_sample_draws_n_in_input_order(recio, tmp_path: Path) -> None:
    recio("sample", "10", "a.tfrecord", "b.tfrecord.gz", "s.tfrecord", "--seed", "3")
    got = ids(tmp_path / "s.tfrecord")
    assert len(got) == 10 and got == sorted(got) and len(set(got)) == 10
    recio("sample", "10", "a.tfrecord", "b.tfrecord.gz", "t.tfrecord", "--seed", "3")
    assert ids(tmp_path / "t.tfrecord") == got
    recio("sample", "999", "a.tfrecord", "all.tfrecord")
    assert ids(tmp_path / "all.tfrecord") == list(range(30))
