"""The README's main job, run as a user runs it, and the README's coverage of every command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _recio(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "recio", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_recordio_only_demo_needs_no_tensorflow(tmp_path: Path) -> None:
    done = _recio("demo", "--recordio-only", "--records", "500", "--workdir", "w", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "verify clean" in done.stderr
    shards = sorted((tmp_path / "w" / "data").glob("fashion-*-of-00004.tfrecord.gz"))
    assert len(shards) == 4


@pytest.mark.requires_tf
@pytest.mark.requires_beam
@pytest.mark.slow
def test_demo_runs_chapter13_end_to_end(tmp_path: Path) -> None:
    done = _recio(
        "demo", "--workdir", "w", "--records", "600", "--rows", "600", "--epochs", "2", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for step in ("1/4", "2/4", "3/4", "4/4"):
        assert f"== {step}" in done.stderr
    work = tmp_path / "w"
    assert (work / "people" / "transform_fn").is_dir()
    assert sorted((work / "people" / "data").glob("train-*.tfrecord.gz"))
    for run in ("mlp", "regressor"):
        metrics = json.loads((work / "runs" / run / "metrics.json").read_text())
        assert metrics["epochs_run"] >= 1
        assert (work / "runs" / run / "model.keras").is_file()
    assert (work / "runs" / "regressor" / "serving" / "saved_model.pb").is_file()
    assert "600 raw records scored" in done.stderr
    mlp = json.loads((work / "runs" / "mlp" / "metrics.json").read_text())
    assert mlp["train_records"] == 450 and "val_loss" in mlp["history"]  # shard 4 held out
    assert "held-out eval rows" in done.stderr
    assert re.search(r"MLP held-out accuracy [01]\.\d{3}, regressor eval RMSE \d", done.stderr)


def test_demo_never_clears_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from recio.demo.chapter13 import MARKER, check_workdir
    from recio.demo.errors import DemoError

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "mine.csv").write_text("keep me")
    done = _recio("demo", "--workdir", str(project), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "did not write (data)" in errors[0], done.stderr
    assert (project / "data" / "mine.csv").read_text() == "keep me"

    check_workdir(tmp_path / "new")  # absent: fine
    (project / "data" / "mine.csv").unlink()
    (project / "data" / "fashion-00000-of-00004.tfrecord.gz").write_bytes(b"")
    check_workdir(project)  # what `recio demo --recordio-only` leaves: fine
    (project / "runs").mkdir()
    with pytest.raises(DemoError, match="did not write"):
        check_workdir(project)
    (project / MARKER).touch()
    check_workdir(project)  # an earlier full demo: fine
    with pytest.raises(DemoError, match="is a file"):
        check_workdir(project / MARKER)


def test_readme_shows_every_command() -> None:
    from typer.main import get_command

    from recio.cli import app

    readme = (REPO_ROOT / "README.md").read_text()
    root = get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names += [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
    missing = [name for name in names if f"recio {name}" not in readme]
    assert not missing, f"README does not show: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "python3 dev.py test" in readme
    assert "python3 dev.py test" in ci
    assert "python3 dev.py demo" in readme
