"""Run folders: refused without overwrite, replaced atomically, untouched on failure (no Keras)."""

from __future__ import annotations

import json
import os

import pytest

from models.errors import ModelError, RunExistsError, TrainingOptionError
from models.export import load_manifest, resolve_transform_dir
from models.run_folder import MANIFEST, staged_run


def _finish(stage, tag: str) -> None:
    (stage / MANIFEST).write_text(json.dumps({"tag": tag}))
    (stage / "model.keras").write_text(tag)


def test_new_run_appears_whole_and_an_existing_one_needs_overwrite(tmp_path):
    out = tmp_path / "run"
    with staged_run(out) as stage:
        assert stage.name.startswith(".run.tmp-") and not out.exists()
        _finish(stage, "first")
    assert (out / "model.keras").read_text() == "first"
    with (
        pytest.raises(RunExistsError, match="already holds a training run; pass overwrite=True"),
        staged_run(out),
    ):
        pass
    with staged_run(out, overwrite=True) as stage:
        assert (out / "model.keras").read_text() == "first"  # old run stays meanwhile
        _finish(stage, "second")
    assert (out / "model.keras").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("failure", [RuntimeError("nan loss"), KeyboardInterrupt()])
def test_a_failed_or_interrupted_run_leaves_the_old_one(tmp_path, failure):
    out = tmp_path / "run"
    with staged_run(out) as stage:
        _finish(stage, "old")
    with pytest.raises(type(failure)), staged_run(out, overwrite=True) as stage:
        _finish(stage, "new")
        raise failure
    assert (out / "model.keras").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_folders_that_are_not_runs(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with (
        pytest.raises(TrainingOptionError, match="not a recio training run"),
        staged_run(tmp_path / "mine", overwrite=True),
    ):
        pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(TrainingOptionError, match="is a file"), staged_run(tmp_path / "file"):
        pass
    with (
        pytest.raises(ModelError, match="file is a file, not a folder"),
        staged_run(tmp_path / "file" / "run"),
    ):
        pass
    empty = tmp_path / "empty"
    empty.mkdir()
    with staged_run(empty) as stage:  # an empty folder is a new run
        _finish(stage, "x")
    assert (empty / MANIFEST).is_file()


def test_old_relative_transform_paths_resolve_from_the_run(tmp_path, monkeypatch):
    """Runs used to record the transform folder relative to where they were trained."""
    project = tmp_path / "project"
    (project / "out" / "xf" / "transform_fn").mkdir(parents=True)
    run = project / "runs" / "housing"
    run.mkdir(parents=True)
    (run / MANIFEST).write_text(json.dumps({"transform_dir": "out/xf"}))
    monkeypatch.chdir(tmp_path)  # somewhere else entirely
    assert load_manifest(run)["transform_dir"] == str(project / "out" / "xf")
    assert resolve_transform_dir("/abs/xf", run) == "/abs/xf"
    assert os.path.isabs(resolve_transform_dir("gone/xf", run))
