"""Job output folders: staged in a hidden sibling, moved in whole, nothing left on failure."""

from __future__ import annotations

import os

import pytest

from pipeline.errors import JobOptionsError, OutputExistsError, OutputWriteError
from pipeline.job_schema import dropped_columns, label_notes
from pipeline.outputs import blocking_file, staged_output
from pipeline.schema import parse_schema

MANAGED = ("data-*-of-*", "recio_job.json", "metadata")


def _write_outputs(folder: str, tag: str) -> None:
    with open(os.path.join(folder, "data-00000-of-00001.tfrecord.gz"), "w") as handle:
        handle.write(tag)
    with open(os.path.join(folder, "recio_job.json"), "w") as handle:
        handle.write(tag)


def test_a_new_folder_appears_only_when_the_job_completes(tmp_path):
    out = tmp_path / "out"
    with staged_output(str(out), MANAGED, overwrite=False) as stage:
        assert os.path.basename(stage).startswith(".out.tmp-") and not out.exists()
        _write_outputs(stage, "new")
    assert sorted(os.listdir(out)) == ["data-00000-of-00001.tfrecord.gz", "recio_job.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("failure", [RuntimeError("job failed"), KeyboardInterrupt()])
def test_a_failed_or_interrupted_job_leaves_the_old_outputs(tmp_path, failure):
    out = tmp_path / "out"
    out.mkdir()
    _write_outputs(str(out), "old")
    (out / "mine.txt").write_text("keep")
    with pytest.raises(type(failure)), staged_output(str(out), MANAGED, overwrite=True) as stage:
        _write_outputs(stage, "new")
        os.mkdir(os.path.join(stage, "beam-temp-x"))
        raise failure
    assert (out / "recio_job.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_overwrite_replaces_only_the_jobs_entries(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _write_outputs(str(out), "old")
    (out / "mine.txt").write_text("keep")
    with (
        pytest.raises(OutputExistsError, match="overwrite=True"),
        staged_output(str(out), MANAGED, overwrite=False),
    ):
        pass
    with staged_output(str(out), MANAGED, overwrite=True) as stage:
        _write_outputs(stage, "new")
    assert (out / "recio_job.json").read_text() == "new"
    assert (out / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_file_in_the_way_is_named(tmp_path):
    (tmp_path / "f.csv").write_text("x")
    with (
        pytest.raises(JobOptionsError, match="is a file, not a folder"),
        staged_output(str(tmp_path / "f.csv"), MANAGED, overwrite=False),
    ):
        pass
    with (
        pytest.raises(OutputWriteError, match=r"f\.csv is a file, not a folder") as caught,
        staged_output(str(tmp_path / "f.csv" / "out"), MANAGED, overwrite=False),
    ):
        pass
    assert ".tmp-" not in str(caught.value)
    assert blocking_file(str(tmp_path / "f.csv" / "a" / "b")) == str(tmp_path / "f.csv")
    assert blocking_file(str(tmp_path / "new" / "out")) is None


def test_summary_notes_for_columns_and_label():
    schema = parse_schema(
        {
            "columns": [
                {"name": "x", "type": "float", "transform": "z_score"},
                {"name": "y", "type": "float", "transform": "z_score"},
            ],
            "label": "y",
        }
    )
    assert dropped_columns({"a.csv": ["x", "y", "extra", "id"]}, schema) == [
        "columns not in the schema, left out: extra, id"
    ]
    assert dropped_columns({"a.csv": ["x", "y"]}, schema) == []
    assert "target 'y' is transformed (z_score)" in label_notes(schema)[0]
    unlabelled = parse_schema({"columns": [{"name": "x", "type": "float"}]})
    assert "no label given" in label_notes(unlabelled)[0]
    assert label_notes(unlabelled, module_file="prep.py") == []
