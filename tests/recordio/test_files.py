"""File arguments: folders, globs and shard names."""

from __future__ import annotations

from pathlib import Path

import pytest

from recordio import RecordIOError, expand_paths, shard_names, write_records


def test_a_folder_expands_to_its_record_files_not_the_sidecars(tmp_path: Path) -> None:
    for name in ("data-00000-of-00002.tfrecord.gz", "data-00001-of-00002.tfrecord.gz"):
        write_records(tmp_path / name, [b"x"], "GZIP")
    for sidecar in ("schema.json", "bad_rows.jsonl", "recio_job.json", ".hidden"):
        (tmp_path / sidecar).write_text("{}")
    (tmp_path / "metadata").mkdir()
    got = [Path(p).name for p in expand_paths([str(tmp_path)])]
    assert got == ["data-00000-of-00002.tfrecord.gz", "data-00001-of-00002.tfrecord.gz"]


def test_a_folder_with_only_sidecars_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text("{}")
    with pytest.raises(RecordIOError, match="no record files"):
        expand_paths([str(tmp_path)])


def test_shard_names_keep_the_record_suffix() -> None:
    assert shard_names("out/train.tfrecord.gz", 2) == [
        "out/train-00000-of-00002.tfrecord.gz",
        "out/train-00001-of-00002.tfrecord.gz",
    ]
    assert shard_names("train", 1) == ["train"]
    with pytest.raises(RecordIOError):
        shard_names("train", 0)
