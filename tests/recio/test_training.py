"""`recio train` and `recio predict` as a user runs them: real subprocesses, real files.

End to end on the shared housing data: `recio job transform` -> `recio train housing` ->
`recio predict` on raw rows, cross-checked against the Keras model applied to the rows the Beam
job transformed (tf.Transform in Beam vs the same graph inside the serving SavedModel).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recordio import read_records, write_records
from recordio.example import decode_example, encode_example

REPO = Path(__file__).resolve().parents[2]
STRIDE = 52  # every 52nd row: 397 rows from all over California
ROWS = 397


def recio(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return subprocess.run(
        [sys.executable, "-m", "recio", *args],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO,
    )  # fmt: skip


def raw_example(row: dict[str, str]) -> bytes:
    """A CSV row as the raw tf.Example a user would score (empty cells left out)."""
    features: dict[str, object] = {"id": int(row["id"])}
    for name, cell in row.items():
        if name == "id" or cell == "":
            continue
        features[name] = cell if name == "ocean_proximity" else float(cell)
    return encode_example(features)


@pytest.fixture(scope="module")
def housing_run(tmp_path_factory, housing_csv):
    root = tmp_path_factory.mktemp("housing")
    with open(housing_csv, newline="") as handle:
        rows = [dict(r) for r in csv.DictReader(handle)][::STRIDE]
    assert len(rows) == ROWS
    for i, row in enumerate(rows):
        row["id"] = str(i)
    small = root / "housing.csv"
    with open(small, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", *rows[0].keys() - {"id"}])
        writer.writeheader()
        writer.writerows(rows)
    job = recio(
        "job", "transform", str(small), "--output", str(root / "xf"),
        "--label", "median_house_value", "--key", "id", "--quiet",
    )  # fmt: skip
    assert job.returncode == 0, job.stderr
    # No library chatter: tf.Transform's analyzer warnings, TF's native start-up lines.
    assert "WARNING" not in job.stderr and "I0000" not in job.stderr, job.stderr
    run = root / "run"
    trained = recio(
        "train", "housing", "--data", str(root / "xf"), "--output", str(run),
        "--epochs", "3", "--lr", "0.01", "--schedule", "piecewise",
    )  # fmt: skip
    raw = root / "raw.tfrecord"
    write_records(str(raw), [raw_example(r) for r in rows])
    return root, run, trained, raw


@pytest.mark.requires_tf
@pytest.mark.requires_beam
@pytest.mark.slow
def test_train_on_transform_output_reports_and_exports(housing_run):
    root, run, trained, _ = housing_run
    assert trained.returncode == 0, trained.stderr
    lines = trained.stderr.splitlines()
    assert any(line.startswith("training housing (") and "tf.data" in line for line in lines)
    epochs = [line.split("  ")[0] for line in lines if line.startswith("epoch ")]
    assert epochs == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert "I0000" not in trained.stderr and "Traceback" not in trained.stderr
    for name in ("best.keras", "model.keras", "metrics.json", "learning_curves.png"):
        assert (run / name).is_file(), name
    assert (run / "serving" / "saved_model.pb").is_file()
    assert list((run / "logs").glob("run_*/validation/events.out.tfevents.*"))
    manifest = json.loads((run / "recio_model.json").read_text())
    inputs = manifest["inputs"]
    assert inputs["label"] == "median_house_value"
    assert "id" not in inputs["features"]  # the job's key is not a feature
    assert len(inputs["features"]) == 9
    # one-hot over the vocabulary the job learnt from the train split, plus its OOV bucket
    stats = json.loads((root / "xf" / "recio_job.json").read_text())["stats"]
    words = stats["vocabularies"]["ocean_proximity"]["size"]
    assert words >= 4  # the sample spans the state, not just the Bay Area
    assert inputs["categorical"] == {"ocean_proximity": words + 1}
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["history"]["rmse"][-1] < metrics["history"]["rmse"][0]
    assert metrics["train_records"] + 0 < ROWS  # the eval split was held out


@pytest.mark.requires_tf
@pytest.mark.requires_beam
@pytest.mark.slow
def test_predict_on_raw_rows_matches_the_model_on_transformed_rows(housing_run):
    root, run, trained, raw = housing_run
    assert trained.returncode == 0, trained.stderr
    scored = recio("predict", str(run), str(raw))
    assert scored.returncode == 0, scored.stderr
    served = [json.loads(line)["prediction"] for line in scored.stdout.splitlines()]
    assert len(served) == ROWS and all(np.isfinite(served))

    from models.export import load_keras_model

    model = load_keras_model(run / "model.keras")
    names = json.loads((run / "recio_model.json").read_text())["inputs"]["features"]
    ids, columns = [], {n: [] for n in names}
    for path in sorted((root / "xf" / "data").glob("*.tfrecord.gz")):
        for record in read_records(str(path)):
            values = decode_example(record, numpy=True)
            ids.append(int(values["id"][0]))
            for n in names:
                columns[n].append(values[n][0])
    batch = {n: np.asarray(v, np.int32 if n == "ocean_proximity" else np.float32)
             for n, v in columns.items()}  # fmt: skip
    memory = model.predict(batch, verbose=0).reshape(-1)
    assert sorted(ids) == list(range(ROWS))
    np.testing.assert_allclose(np.asarray(served)[ids], memory, rtol=1e-4)


def test_commands_fail_with_one_clear_line(tmp_path):
    for args, code, message in [
        (("train", "mlp", "--data", str(tmp_path / "missing")), 1, "--data"),
        (("train", "resnet", "--data", str(tmp_path)), 2, "unknown model 'resnet'"),
        (("train", "mlp", "--data", str(tmp_path), "--schedule", "cosine"), 2, "unknown schedule"),
        (("predict", str(tmp_path / "no-run"), "x.tfrecord"), 1, "no such directory"),
        (("predict", str(tmp_path), "x.tfrecord"), 1, "not a trained model"),
    ]:
        done = recio(*args)
        assert done.returncode == code, (args, done.stderr)
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1 and message in errors[0], (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_importing_models_loads_no_framework():
    code = (
        "import sys, models, models.training, models.data, models.predict, models.registry\n"
        "heavy = {'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert models.model_info('bn_mlp').name == 'bn-mlp'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
