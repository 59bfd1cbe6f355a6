"""Bad input to `recio job`, `train`, `predict` and `export`, as a user would type it.

Every case runs the real CLI in a subprocess and asserts the documented exit code (1 bad data,
2 usage, 3 damage, 143/130 for SIGTERM/SIGINT), exactly one `Error:` line naming the thing and
what to do, no traceback, and that no file in the user's folder changed or appeared (every
entry hashed before and after). Signals go to running `recio train` and `recio job csv`
processes once their staging folder exists; nothing may be left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from recordio import write_records
from recordio.example import encode_example

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ["id", "rooms", "age", "total_bedrooms", "ocean", "price"]


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), out.get("PYTHONPATH")]))
    out["TF_CPP_MIN_LOG_LEVEL"] = "2"
    out.pop("RECIO_DEBUG", None)
    out.update(extra)
    return out


def recio(*args: str, cwd: Path = REPO, timeout: int = 300, **extra: str):
    return subprocess.run(
        [sys.executable, "-m", "recio", *args],
        capture_output=True, text=True, env=env(**extra), timeout=timeout, cwd=cwd,
    )  # fmt: skip


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root (hidden ones too): a file's sha256, or 'dir'."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def rows(n: int, seed: int = 0, hole: int | None = None) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rooms = rng.uniform(2, 9)
        row: dict[str, object] = {
            "id": i,
            "rooms": round(rooms, 3),
            "age": rng.randint(1, 50),
            "total_bedrooms": round(rooms / 3, 3),
            "ocean": rng.choice(["NEAR BAY", "INLAND", "ISLAND"]),
            "price": round(50 + 30 * rooms + rng.gauss(0, 5), 2),
        }
        if i == hole:
            row["total_bedrooms"] = ""
        out.append(row)
    return out


def write_csv(path: Path, table: list[dict[str, object]]) -> Path:
    lines = [",".join(COLUMNS)] + [",".join(str(r[c]) for c in COLUMNS) for r in table]
    path.write_text("\n".join(lines) + "\n")
    return path


def example(row: dict[str, object]) -> bytes:
    features = {k: v for k, v in row.items() if k not in ("ocean", "id") and v != ""}
    return encode_example({k: float(v) for k, v in features.items()})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def area(tmp_path_factory) -> Path:
    """The user's folder: good and bad inputs, a trained run, a file and a non-run folder."""
    root = tmp_path_factory.mktemp("user")
    write_csv(root / "good.csv", rows(80))
    write_csv(root / "holes.csv", rows(80, hole=37))
    (root / "empty.csv").write_text("")
    (root / "header.csv").write_text(",".join(COLUMNS) + "\n")
    (root / "notes.txt").write_text("not a TFRecord file, just some words\n" * 10)
    write_records(str(root / "good.tfrecord"), [example(r) for r in rows(80)])
    write_records(str(root / "holes.tfrecord"), [example(r) for r in rows(80, hole=37)])
    write_records(str(root / "eleven.tfrecord"), [example(r) for r in rows(11, seed=1, hole=7)])
    (root / "empty_dir").mkdir()
    (root / "other").mkdir()
    (root / "other" / "mine.txt").write_text("keep me")
    (root / "job").mkdir()
    (root / "job" / "recio_job.json").write_text("{}")  # an earlier job's output
    (root / "bad_run").mkdir()
    (root / "bad_run" / "recio_model.json").write_text("{not json")
    return root


@pytest.fixture(scope="module")
def run(area) -> Path:
    """A finished tiny run in area/run (housing regressor on raw Examples, one epoch)."""
    done = recio(
        "train", "housing", "--data", str(area / "good.tfrecord"), "--label", "price",
        "--epochs", "1", "--output", str(area / "run"), "--no-tensorboard",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return area / "run"


def check(area: Path, args: tuple[str, ...], code: int, words: tuple[str, ...], cwd: Path = REPO):
    before = snapshot(area)
    done = recio(*args, cwd=cwd)
    assert done.returncode == code, (args, done.returncode, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, (args, done.stderr)
    for word in words:
        assert word in errors[0], (args, word, errors[0])
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert snapshot(area) == before, (args, "the user's folder changed")
    return errors[0]


# (case id, arguments with {A} for the user's folder, exit code, words the one line must hold)
FAST_CASES = [
    # recio train: usage (2) and bad data (1), all before TensorFlow loads
    ("train-missing-data", ("train", "housing", "--data", "{A}/nope"), 1, ("--data", "no such")),
    ("train-empty-dir", ("train", "housing", "--data", "{A}/empty_dir"), 1, ("empty",)),
    ("train-no-match", ("train", "housing", "--data", "{A}/*.nothing"), 1, ("matches no file",)),
    ("train-epochs-0", ("train", "housing", "--data", "{A}/good.tfrecord", "--epochs", "0"), 2,
     ("--epochs", "at least 1")),
    ("train-unknown-model", ("train", "resnet", "--data", "{A}/good.tfrecord"), 2,
     ("unknown model 'resnet'", "choose one of")),
    ("train-unknown-schedule",
     ("train", "housing", "--data", "{A}/good.tfrecord", "--schedule", "cosine"), 2,
     ("unknown schedule", "1cycle")),
    ("train-loader", ("train", "housing", "--data", "{A}/good.tfrecord", "--loader", "x"), 2,
     ("--loader",)),
    ("train-loss", ("train", "housing", "--data", "{A}/good.tfrecord", "--loss", "l1"), 2,
     ("--loss",)),
    ("train-batch-0", ("train", "housing", "--data", "{A}/good.tfrecord", "--label", "price",
                       "--batch-size", "0"), 2, ("--batch-size",)),
    ("train-output-file", ("train", "housing", "--data", "{A}/good.tfrecord",
                           "--output", "{A}/good.csv"), 2, ("good.csv is a file", "folder")),
    ("train-output-under-file", ("train", "housing", "--data", "{A}/good.tfrecord",
                                 "--output", "{A}/good.csv/run"), 1,
     ("good.csv is a file, not a folder",)),
    ("train-output-not-a-run", ("train", "housing", "--data", "{A}/good.tfrecord",
                                "--output", "{A}/other"), 2, ("not a recio training run",)),
    ("train-not-tfrecord", ("train", "housing", "--data", "{A}/notes.txt", "--label", "x"), 3,
     ("notes.txt", "TFRecord")),
    ("train-no-label", ("train", "housing", "--data", "{A}/good.tfrecord"), 1, ("--label",)),
    ("train-unknown-flag", ("train", "housing", "--data", "{A}/good.tfrecord", "--epoch", "2"),
     2, ("--epoch",)),
    # recio predict
    ("predict-no-run", ("predict", "{A}/nope", "{A}/good.tfrecord"), 1, ("no such directory",)),
    ("predict-run-is-file", ("predict", "{A}/good.csv", "{A}/good.tfrecord"), 1,
     ("is a file, not a folder", "training run")),
    ("predict-not-a-run", ("predict", "{A}/other", "{A}/good.tfrecord"), 1,
     ("not a trained model",)),
    # recio export
    ("export-missing", ("export", "{A}/nope"), 1, ("recio_model.json", "training run")),
    ("export-file", ("export", "{A}/good.csv"), 1, ("is a file, not a folder",)),
    ("export-not-a-run", ("export", "{A}/other"), 1, ("no recio_model.json",)),
    ("export-bad-manifest", ("export", "{A}/bad_run"), 1, ("unreadable", "recio train")),
    # recio job csv / transform: checked before Beam and TensorFlow load
    ("job-missing-input", ("job", "csv", "{A}/nope.csv", "-o", "{A}/out"), 1, ("nope.csv",)),
    ("job-empty-csv", ("job", "csv", "{A}/empty.csv", "-o", "{A}/out"), 1, ("empty",)),
    ("job-header-only", ("job", "csv", "{A}/header.csv", "-o", "{A}/out"), 1, ("no data rows",)),
    ("job-output-file", ("job", "csv", "{A}/good.csv", "-o", "{A}/good.csv"), 2,
     ("is a file, not a folder",)),
    ("job-output-under-file", ("job", "csv", "{A}/good.csv", "-o", "{A}/good.csv/out"), 1,
     ("good.csv is a file, not a folder",)),
    ("job-existing-output", ("job", "csv", "{A}/good.csv", "-o", "{A}/job"), 1,
     ("already holds recio_job.json", "--overwrite")),
    ("job-non-finite", ("job", "csv", "{A}/good.csv", "-o", "{A}/out", "--non-finite", "zero"), 2,
     ("--non-finite", "missing or bad_row")),
    ("job-fraction", ("job", "csv", "{A}/good.csv", "-o", "{A}/out",
                      "--non-numeric-fraction", "1.5"), 2, ("--non-numeric-fraction",)),
    ("job-delimiter", ("job", "csv", "{A}/good.csv", "-o", "{A}/out", "--delimiter", ";;"), 2,
     ("--delimiter", "one character")),
    ("job-eval-fraction", ("job", "transform", "{A}/good.csv", "-o", "{A}/out",
                           "--eval-fraction", "1"), 2, ("--eval-fraction",)),
    ("job-unknown-flag", ("job", "csv", "{A}/good.csv", "-o", "{A}/out", "--lable", "price"), 2,
     ("--lable",)),
    ("job-bad-label", ("job", "transform", "{A}/good.csv", "-o", "{A}/out", "--label", "cost"),
     1, ("cost",)),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "words"), [c[1:] for c in FAST_CASES],
                         ids=[c[0] for c in FAST_CASES])  # fmt: skip
def test_bad_input_is_one_line_and_changes_nothing(area, args, code, words):
    check(area, tuple(a.replace("{A}", str(area)) for a in args), code, words)


# -- cases that need a trained run -----------------------------------------------------------
def test_existing_run_is_refused_without_overwrite(area, run):
    check(area, ("train", "housing", "--data", str(area / "good.tfrecord"), "--label", "price",
                 "--output", str(run)), 1, (str(run), "--overwrite"))  # fmt: skip


def test_predict_usage_errors_exit_2(area, run):
    tf = str(area / "good.tfrecord")
    check(area, ("predict", str(run), tf, "--format", "csv"), 2, ("--format", "jsonl or table"))
    check(area, ("predict", str(run), tf, "--batch-size", "0"), 2, ("--batch-size",))
    check(area, ("predict", str(run), str(area / "none*.tfrecord")), 1, ("matches no file",))
    check(area, ("predict", str(run), str(area / "none.tfrecord")), 1, ("no such file",))


@pytest.mark.requires_tf
@pytest.mark.slow
def test_predict_names_the_record_and_the_feature(area, run):
    """11 records, record 7 lacks total_bedrooms: the line names both, not 'records 0-10'."""
    line = check(area, ("predict", str(run), str(area / "eleven.tfrecord")), 1,
                 ("eleven.tfrecord: record 7:", "'total_bedrooms'", "missing"))  # fmt: skip
    assert "Graph execution error" not in line and "0-10" not in line


@pytest.mark.requires_tf
@pytest.mark.slow
def test_training_names_the_record_and_the_feature(area, run):
    """Was: exit 70, 'internal error: InvalidArgumentError: Graph execution error:'."""
    args = ("train", "housing", "--data", str(area / "holes.tfrecord"), "--label", "price",
            "--epochs", "1", "--output", str(area / "new_run"))  # fmt: skip
    words = ("holes.tfrecord: record 37:", "'total_bedrooms' is missing", "--features")
    line = check(area, args, 1, words)
    assert "Graph execution error" not in line


@pytest.mark.requires_tf
@pytest.mark.slow
def test_export_works_from_any_folder_and_manifest_paths_are_absolute(area, run, tmp_path):
    manifest = json.loads((run / "recio_model.json").read_text())
    assert os.path.isabs(manifest["data"])
    done = recio("export", str(run), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (run / "serving" / "saved_model.pb").is_file()
    assert not [p for p in run.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


@pytest.mark.requires_tf
@pytest.mark.slow
def test_overwrite_replaces_the_run_atomically(area, run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run, target)  # a one-epoch run
    data = str(area / "good.tfrecord")
    common = ("train", "housing", "--data", data, "--label", "price", "--no-tensorboard")
    again = recio(*common, "--epochs", "2", "--output", str(target), "--overwrite")
    assert again.returncode == 0, again.stderr
    metrics = json.loads((target / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging or old folder


# -- the catalog's numeric-column decisions, end to end --------------------------------------
@pytest.mark.requires_beam
@pytest.mark.slow
def test_one_stray_cell_is_a_bad_row_and_the_summary_says_why(tmp_path):
    table = rows(60)
    table[10]["age"] = "x"
    table[20]["rooms"] = "nan"
    source = write_csv(tmp_path / "stray.csv", table)
    done = recio("job", "csv", str(source), "-o", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 0, done.stderr
    bad = [
        json.loads(line) for line in (tmp_path / "out" / "bad_rows.jsonl").read_text().splitlines()
    ]
    assert [b["cells"]["id"] for b in bad] == ["10"] and "'x' is not" in bad[0]["reason"]
    schema = json.loads((tmp_path / "out" / "schema.json").read_text())
    kinds = {c["name"]: (c["type"], c.get("required", True)) for c in schema["columns"]}
    assert kinds["age"] == ("int64", True)  # one 'x' did not make it a string column
    assert kinds["rooms"] == ("float", False)  # nan reads as missing: optional, never NaN
    assert "note: column 'age' inferred as int64: 1 of 60 cells" in done.stderr
    assert "--non-numeric-fraction" in done.stderr
    assert "note: column 'ocean' inferred as bytes (strings): no cell is a number" in done.stderr
    job = json.loads((tmp_path / "out" / "recio_job.json").read_text())
    assert job["rows_in"] == 59 and len(job["notes"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "stray.csv"]


# -- signals ----------------------------------------------------------------------------------
def _start(args: tuple[str, ...], scratch: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "recio", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env=env(TMPDIR=str(scratch)),
    )  # fmt: skip


def _wait_for(condition, proc: subprocess.Popen, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert proc.poll() is None, f"finished before the signal: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "the command never started writing"
        time.sleep(0.05)


@pytest.mark.requires_tf
@pytest.mark.slow
def test_sigterm_during_train_leaves_the_old_run_and_no_debris(area, run, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = snapshot(area)
    proc = _start(("train", "housing", "--data", str(area / "good.tfrecord"), "--label", "price",
                   "--epochs", "500", "--output", str(run), "--overwrite"), scratch)  # fmt: skip
    stages = lambda: [p for p in area.iterdir() if p.name.startswith(".run.tmp-")]  # noqa: E731
    _wait_for(lambda: any((s / "recio_model.json").exists() for s in stages()), proc)
    time.sleep(0.5)  # inside model.fit
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Terminated." in err and "Traceback" not in err
    assert snapshot(area) == before  # the old run untouched, no staging folder
    assert not list(scratch.iterdir())


@pytest.mark.requires_beam
@pytest.mark.slow
def test_sigint_during_a_csv_job_leaves_nothing_and_the_rerun_works(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    source = write_csv(tmp_path / "big.csv", rows(30_000) * 20)  # the pipeline runs for seconds
    out = tmp_path / "out"
    proc = _start(("job", "csv", str(source), "-o", str(out)), scratch)
    # Beam's own temporary folder appears once the pipeline runs: signal then, not after a sleep
    # that a fast machine outruns.
    _wait_for(lambda: any(p.name.startswith("beam-") for p in scratch.iterdir()), proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted." in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "tmp"]
    assert not list(scratch.iterdir())  # no beam-pipeline-temp, no tf.Transform scratch
    small = write_csv(tmp_path / "small.csv", rows(20))
    again = recio("job", "csv", str(small), "-o", str(out), "--quiet")
    assert again.returncode == 0, again.stderr  # no --overwrite needed


# -- a folder the user cannot write to ---------------------------------------------------------
def test_unwritable_output_names_the_users_folder(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="recio-ro-"))
    try:
        base.chmod(0o755)
        write_csv(base / "in.csv", rows(5))
        write_records(str(base / "in.tfrecord"), [example(r) for r in rows(5)])
        locked = base / "locked"
        locked.mkdir()
        prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv to drop privileges")
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        else:
            locked.chmod(0o555)
        before = snapshot(base)
        for args in (
            ("job", "csv", str(base / "in.csv"), "-o", str(locked / "out")),
            (
                "train",
                "housing",
                "--data",
                str(base / "in.tfrecord"),
                "--label",
                "price",
                "--output",
                str(locked / "r"),
            ),
        ):
            done = subprocess.run(
                [*prefix, sys.executable, "-m", "recio", *args],
                capture_output=True, text=True, env=env(), cwd=REPO, timeout=120,
            )  # fmt: skip
            errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
            assert done.returncode == 1 and len(errors) == 1, (args, done.stderr)
            assert str(locked) in errors[0] and ".tmp-" not in errors[0], errors[0]
            assert "Permission denied" in errors[0] and "Traceback" not in done.stderr
        assert snapshot(base) == before
    finally:
        shutil.rmtree(base, ignore_errors=True)
