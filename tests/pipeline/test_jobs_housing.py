"""`recio job transform` from the CLI on the California housing CSV (20,640 rows, 207 blanks).

The analyzers' statistics printed and saved by the job are compared with numpy / pyarrow on
the same file; TensorFlow and recordio both read the transformed output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.requires_beam, pytest.mark.requires_tf, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
HOUSING = REPO / ".." / "shared" / "data" / "housing.csv"
SCHEMA = {
    "columns": [
        {"name": "longitude", "type": "float", "transform": "z_score"},
        {"name": "latitude", "type": "float", "transform": "z_score"},
        {"name": "housing_median_age", "type": "float",
         "transform": {"name": "bucketize", "num_buckets": 4}},
        {"name": "total_rooms", "type": "float", "transform": ["log", "z_score"]},
        {"name": "total_bedrooms", "type": "float", "fill": "mean", "transform": "z_score"},
        {"name": "population", "type": "float", "transform": "min_max"},
        {"name": "households", "type": "float", "transform": "z_score"},
        {"name": "median_income", "type": "float", "transform": "min_max"},
        {"name": "median_house_value", "type": "float"},
        {"name": "ocean_proximity", "type": "string",
         "transform": {"name": "vocabulary", "output": "one_hot", "top_k": 5}},
    ],
    "label": "median_house_value",
}  # fmt: skip


@pytest.fixture(scope="module")
def housing_job(tmp_path_factory):
    if not HOUSING.is_file():
        pytest.skip(f"shared data not present: {HOUSING} (CI provides ../shared/data)")
    root = tmp_path_factory.mktemp("housing")
    schema = root / "housing_schema.json"
    schema.write_text(json.dumps(SCHEMA))
    out = root / "out"
    done = subprocess.run(
        [sys.executable, "-m", "recio", "job", "transform", str(HOUSING), "--output",
         str(out), "--schema", str(schema), "--eval-fraction", "0"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    job = json.loads((out / "recio_job.json").read_text())
    return out, job, done.stderr


@pytest.fixture(scope="module")
def table():
    import pyarrow.csv as pacsv

    return pacsv.read_csv(str(HOUSING)).to_pydict()


def test_counts_and_summary(housing_job) -> None:
    _, job, stderr = housing_job
    assert job["rows_in"] == 20_640 and job["bad_rows"]["count"] == 0
    assert job["splits"]["train"]["rows"] == 20_640 and "eval" not in job["splits"]
    assert job["label"] == "median_house_value"
    assert "rows processed" in stderr  # progress while running
    assert "recio job transform: finished" in stderr and "vocabulary of 5" in stderr


def test_statistics_match_numpy(housing_job, table) -> None:
    _, job, _ = housing_job
    stats = job["stats"]["analyzers"]
    for name in ("longitude", "latitude", "households"):
        values = np.array(table[name], dtype=np.float32)
        assert stats[name]["mean"] == pytest.approx(float(values.mean()), rel=1e-4)
        assert stats[name]["std"] == pytest.approx(float(values.std()), rel=1e-3)
    for name in ("population", "median_income"):
        values = np.array(table[name], dtype=np.float32)
        assert stats[name]["min"] == pytest.approx(float(values.min()))
        assert stats[name]["max"] == pytest.approx(float(values.max()))
    bedrooms = np.array([v for v in table["total_bedrooms"] if v is not None], dtype=np.float64)
    assert len(bedrooms) == 20_640 - 207
    assert stats["total_bedrooms"]["fill_mean"] == pytest.approx(bedrooms.mean(), rel=1e-4)
    filled = np.array(
        [stats["total_bedrooms"]["fill_mean"] if v is None else v for v in table["total_bedrooms"]]
    )
    assert stats["total_bedrooms"]["mean"] == pytest.approx(filled.mean(), rel=1e-4)
    logs = np.log1p(np.array(table["total_rooms"], dtype=np.float32))
    assert stats["total_rooms"]["mean"] == pytest.approx(float(logs.mean()), rel=1e-4)
    ages = np.array(table["housing_median_age"])
    np.testing.assert_allclose(
        stats["housing_median_age"]["boundaries"], np.quantile(ages, [0.25, 0.5, 0.75]), atol=1.0
    )


def test_vocabulary_matches_pyarrow(housing_job, table) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    _, job, _ = housing_job
    counts = pc.value_counts(pa.array(table["ocean_proximity"])).to_pylist()
    by_frequency = [c["values"] for c in sorted(counts, key=lambda c: -c["counts"])]
    vocab = job["stats"]["vocabularies"]["ocean_proximity"]
    assert vocab["size"] == 5
    assert vocab["top"] == by_frequency  # counts are all distinct, so the order is fixed


def test_outputs_read_with_tensorflow_and_recordio(housing_job, table) -> None:
    import tensorflow as tf
    import tensorflow_transform as tft

    from recordio import read_records

    out, job, _ = housing_job
    files = [os.path.join(out, f) for f in job["splits"]["train"]["files"]]
    spec = tft.TFTransformOutput(str(out)).transformed_feature_spec()
    assert spec["ocean_proximity"] == tf.io.FixedLenFeature([6], tf.float32)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(4096)
    parsed = [tf.io.parse_example(b, spec) for b in dataset]
    bedrooms = np.concatenate([p["total_bedrooms"].numpy() for p in parsed])
    assert len(bedrooms) == 20_640 and np.isfinite(bedrooms).all()  # blanks were filled
    assert abs(bedrooms.mean()) < 1e-3
    one_hot = np.concatenate([p["ocean_proximity"].numpy() for p in parsed])
    np.testing.assert_array_equal(one_hot.sum(axis=1), np.ones(20_640))
    records = [r for f in files for r in read_records(f)]
    assert len(records) == 20_640
    labels = sorted(tf.train.Example.FromString(r).features.feature["median_house_value"]
                    .float_list.value[0] for r in records)  # fmt: skip
    np.testing.assert_allclose(labels, sorted(np.array(table["median_house_value"], np.float32)))
