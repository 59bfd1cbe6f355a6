"""The README's main job, run as a user runs it, and the README's coverage of every command."""

from __future__ import annotations

import json
import os
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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOUSING = REPO_ROOT / ".." / "shared" / "data" / "housing.csv"


def _valid_png(path: Path) -> tuple[int, int]:
    from PIL import Image

    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    with Image.open(path) as image:
        image.load()  # decodes every pixel: a truncated file fails here
        return image.size


@pytest.mark.requires_tf
@pytest.mark.requires_beam
@pytest.mark.slow
def test_demo_runs_chapter13_end_to_end_on_real_digits(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="the demo's data ships with scikit-learn (recio[demo])")
    done = _recio(
        "demo", "--workdir", "w", "--rows", "1500", "--epochs", "8", "--cnn-epochs", "5",
        "--copies", "1", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    for step in range(1, 9):
        assert f"== {step}/8 " in done.stderr  # progress while it runs
    work = tmp_path / "w"
    report = json.loads((work / "report.json").read_text())
    stages = {stage["name"]: stage for stage in report["stages"]}
    verified = {entry["name"]: entry for entry in report["verified"]}
    assert not report["skipped"]

    # every stage's counts add up, and verify found every record it should, undamaged
    assert all(entry["ok"] and not entry["issues"] for entry in report["verified"]), verified
    digits = stages["digits"]
    assert digits["rows_in"] == digits["records_out"] == 1797 == verified["digits"]["records"]
    assert stages["augment digits"]["rows_in"] == 1797
    assert stages["augment digits"]["records_out"] == 2 * 1797  # original + 1 copy
    assert verified["augmented digits"]["records"] == 2 * 1797
    assert stages["augment photos"]["records_out"] == verified["augmented photos"]["records"] == 4
    for model in ("cnn", "mlp"):  # shards 1-3 train, shard 4 (every 4th digit) is held out
        assert stages[model]["rows_in"] + stages[model]["records_out"] == 1797
        assert stages[model]["records_out"] == 449
    csv_job, transform = stages["csv job"], stages["transform job"]
    assert csv_job["rows_in"] == csv_job["records_out"] == 1500
    assert verified["csv job examples"]["records"] == 1500
    assert transform["rows_in"] == transform["records_out"] == 1500
    train_rows, eval_rows = (
        verified["transformed train"]["records"],
        verified["transformed eval"]["records"],
    )
    assert train_rows + eval_rows == 1500 and eval_rows > 200
    compared = stages["stats compare"]  # recio stats --compare on the two splits
    assert compared["rows_in"] == 1500 and f"eval {eval_rows:,}" in compared["detail"]
    assert stages["regressor"]["rows_in"] == train_rows
    assert stages["regressor"]["records_out"] == eval_rows
    assert stages["serve"]["rows_in"] == stages["serve"]["records_out"] == 1500
    assert f"{eval_rows:,} held-out rows scored" in stages["serve"]["detail"]

    # real figures: the CNN reads digits well, the regressor beats predicting the mean
    metrics = report["metrics"]
    assert metrics["cnn held-out accuracy"] >= 0.9, metrics
    assert metrics["mlp held-out accuracy"] > 0.5, metrics
    mean_rmse = metrics["predicting the mean, RMSE (dollars)"]
    assert 20_000 < mean_rmse < 200_000  # in dollars, not standard deviations
    assert metrics["regressor eval RMSE (dollars)"] < mean_rmse
    served = metrics["served RMSE on held-out rows (dollars)"]
    assert served < mean_rmse
    assert served == pytest.approx(metrics["regressor eval RMSE (dollars)"], rel=0.02)

    files = {name: tmp_path / path for name, path in report["files"].items()}  # cwd-relative
    width, height = _valid_png(files["image grid"])
    assert width > 400 and height > 300
    _valid_png(files["learning curves"])
    _valid_png(files["cnn learning curves"])
    assert list(files["TensorBoard run"].glob("train/events.out.tfevents.*"))
    assert (files["exported model"] / "saved_model.pb").is_file()
    assert (work / "report.md").read_text().startswith("# recio demo report")
    assert "cnn held-out accuracy" in done.stderr and "clean" in done.stderr


def test_demo_refuses_a_missing_housing_file(tmp_path: Path) -> None:
    done = _recio("demo", "--workdir", "w", "--housing", "nope.csv", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "--housing nope.csv" in errors[0], done.stderr
    assert not (tmp_path / "w").exists()


def test_housing_copy_keeps_the_columns_and_adds_ids(tmp_path: Path) -> None:
    import csv

    from recio.demo.housing import COLUMNS, copy_with_ids, write_housing_like

    made = tmp_path / "made.csv"
    assert write_housing_like(made, 3000) == 3000
    with open(made, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", *COLUMNS]
    assert [int(r["id"]) for r in rows] == list(range(3000))
    blanks = sum(r["total_bedrooms"] == "" for r in rows)
    assert 5 < blanks < 80  # about 1%, like the real file's 207 of 20,640
    assert {r["ocean_proximity"] for r in rows} >= {"<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY"}
    values = [float(r["median_house_value"]) for r in rows]
    assert min(values) >= 14_999 and max(values) <= 500_001
    if not HOUSING.is_file():
        pytest.skip(f"shared data not present: {HOUSING}")
    copied = tmp_path / "housing.csv"
    assert copy_with_ids(HOUSING, copied, limit=500) == 500
    with open(copied, newline="") as handle:
        kept = list(csv.DictReader(handle))
    assert len(kept) == 500 and sorted(kept[0]) == sorted(["id", *COLUMNS])
    assert len({r["ocean_proximity"] for r in kept}) >= 4  # every 41st row spans the state


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
