"""`recio job csv` and `recio job transform` end to end on generated CSV (real Beam + TFT).

Three pipelines run once per module and are shared by the tests: the CSV job, the transform
job on the CSV with a schema exercising every transform, and the transform job on the CSV
job's Example TFRecords with the schema it inferred and a user module file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.requires_beam, pytest.mark.requires_tf, pytest.mark.slow]

ROWS = 400
CITIES = ["paris", "oslo", "lima", "rome", "kyiv", "bern"]
TRANSFORM_SCHEMA = {
    "columns": [
        {"name": "id", "type": "int"},
        {"name": "num", "type": "float", "transform": "z_score"},
        {"name": "opt", "type": "float", "fill": "mean", "transform": "min_max"},
        {"name": "cnt", "type": "int", "transform": [{"name": "bucketize", "num_buckets": 4}]},
        {"name": "pos", "type": "float", "transform": ["log", "z_score"], "output": "pos_log_z"},
        {"name": "city", "type": "string",
         "transform": {"name": "vocabulary", "num_oov_buckets": 2}},
        {"name": "tags", "type": "string",
         "transform": {"name": "vocabulary", "output": "multi_hot", "top_k": 4, "delimiter": ";"}},
        {"name": "label", "type": "int"},
    ],
    "label": "label",
    "key": "id",
}  # fmt: skip
MODULE = """
import tensorflow as tf
import tensorflow_transform as tft


def preprocessing_fn(inputs):
    return {
        "num_scaled": tft.scale_to_0_1(inputs["num"]),
        "city_id": tft.compute_and_apply_vocabulary(inputs["city"], vocab_filename="city_vocab"),
        "label": inputs["label"],
    }
"""


def _make_rows(rng: np.random.Generator) -> list[dict]:
    rows = []
    for i in range(ROWS):
        rows.append(
            {
                "id": i,
                "num": round(float(rng.normal(10, 3)), 4),
                "opt": None if i % 7 == 3 else round(float(rng.uniform(-5, 5)), 4),
                "cnt": int(rng.integers(0, 100)),
                "pos": round(float(rng.exponential(20)), 4),
                "city": CITIES[int(rng.choice(6, p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04]))],
                "tags": ";".join(
                    sorted({"a", "b", "c", "d", "e"} & set(rng.choice(list("abcde"), 2)))
                ),
                "label": int(rng.integers(0, 2)),
            }
        )
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    return f'"{text}"' if ";" in text or "," in text else text


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tabular")
    rows = _make_rows(np.random.default_rng(7))
    names = list(rows[0])
    lines = [",".join(names)] + [",".join(_cell(r[n]) for n in names) for r in rows]
    lines.insert(50, "999,1.5,1,2,3,paris,a,0,extra")  # bad: a cell too many
    lines.insert(120, "998,1.0,1,2")  # bad: too few cells
    (root / "people.csv").write_text("\n".join(lines) + "\n")
    schema_path = root / "schema.json"
    schema_path.write_text(json.dumps(TRANSFORM_SCHEMA))
    module = root / "my_preprocessing.py"
    module.write_text(MODULE)
    return {"root": root, "rows": rows, "csv": root / "people.csv", "schema": schema_path,
            "module": module}  # fmt: skip


@pytest.fixture(scope="module")
def csv_result(data):
    from pipeline import CsvJobOptions, run_csv_job

    return run_csv_job(
        CsvJobOptions(inputs=(str(data["csv"]),), output=str(data["root"] / "csv_out"), shards=2)
    )


@pytest.fixture(scope="module")
def transform_result(data):
    from pipeline import TransformJobOptions, run_transform_job

    seen: list[int] = []
    result = run_transform_job(
        TransformJobOptions(
            inputs=(str(data["csv"]),),
            output=str(data["root"] / "tft_out"),
            schema=str(data["schema"]),
            eval_fraction=0.25,
        ),
        on_progress=seen.append,
    )
    return result


@pytest.fixture(scope="module")
def module_result(data, csv_result):
    from pipeline import TransformJobOptions, run_transform_job

    files = [os.path.join(csv_result.output, f) for f in csv_result.splits["data"].files]
    return run_transform_job(
        TransformJobOptions(
            inputs=tuple(files),
            output=str(data["root"] / "module_out"),
            schema=csv_result.schema_file,
            module_file=str(data["module"]),
            eval_fraction=0.0,
        )
    )


def _read_examples(paths) -> list[dict]:
    """Decode with TensorFlow's reader and with recordio; both must agree."""
    import tensorflow as tf

    from recordio import read_records

    via_tf = [r.numpy() for r in tf.data.TFRecordDataset(paths, compression_type="GZIP")]
    via_recio = [r for p in paths for r in read_records(p)]
    assert sorted(via_tf) == sorted(via_recio)
    rows = []
    for record in via_recio:
        feature = tf.train.Example.FromString(record).features.feature
        row = {}
        for name, value in feature.items():
            kind = value.WhichOneof("kind")
            row[name] = list(getattr(value, kind).value) if kind else []
        rows.append(row)
    return rows


def _good_rows(data) -> list[dict]:
    return data["rows"]


# -- csv job -----------------------------------------------------------------------------------
def test_csv_job_writes_examples_schema_and_dead_letters(data, csv_result) -> None:
    out = csv_result.output
    assert csv_result.rows_in == ROWS and csv_result.bad_rows == 2
    files = csv_result.splits["data"].files
    assert all(f.endswith(".tfrecord.gz") and "-of-" in f for f in files)
    examples = _read_examples([os.path.join(out, f) for f in files])
    assert len(examples) == ROWS == csv_result.splits["data"].rows
    # The shards are published as a set: their manifest comes last and vouches for each.
    from recordio.manifest import check_folder

    folder = os.path.dirname(os.path.join(out, files[0]))
    sets = check_folder(folder)
    assert sets.ok and len(sets.manifests) == 1, sets.issues
    by_id = {e["id"][0]: e for e in examples}
    for row in _good_rows(data)[:60]:
        got = by_id[row["id"]]
        assert got["city"] == [row["city"].encode()]
        assert got["cnt"] == [row["cnt"]]
        assert got["opt"] == ([] if row["opt"] is None else [pytest.approx(row["opt"], rel=1e-6)])
    bad = [json.loads(line) for line in Path(out, "bad_rows.jsonl").read_text().splitlines()]
    assert sorted(b["reason"] for b in bad) == [
        "expected 8 cells, found 4",
        "expected 8 cells, found 9",
    ]
    assert "999,1.5,1,2,3,paris,a,0,extra" in [b["text"] for b in bad]
    inferred = json.loads(Path(out, "schema.json").read_text())
    types = {c["name"]: (c["type"], c.get("required", True)) for c in inferred["columns"]}
    assert types["opt"] == ("float", False) and types["cnt"] == ("int64", True)
    assert types["city"] == ("bytes", True)
    job = json.loads(Path(out, "recio_job.json").read_text())
    assert job["job"] == "csv" and job["splits"]["data"]["rows"] == ROWS
    assert job["bad_rows"]["count"] == 2


# -- transform job -----------------------------------------------------------------------------
def test_transform_output_is_what_tftransformoutput_expects(transform_result) -> None:
    import tensorflow as tf
    import tensorflow_transform as tft

    output = tft.TFTransformOutput(transform_result.output)
    spec = output.transformed_feature_spec()
    assert spec["num"] == tf.io.FixedLenFeature([], tf.float32)
    assert spec["pos_log_z"] == tf.io.FixedLenFeature([], tf.float32)
    assert spec["city"] == tf.io.FixedLenFeature([], tf.int64)
    assert spec["tags"] == tf.io.FixedLenFeature([5], tf.float32)  # top_k 4 + 1 OOV
    assert spec["cnt"].dtype == tf.int64
    assert set(output.raw_feature_spec()) == {c["name"] for c in TRANSFORM_SCHEMA["columns"]}
    assert output.vocabulary_size_by_name("city") == len(CITIES)
    for name in ("train", "eval"):
        files = transform_result.splits[name].files
        assert files and all(f.startswith(f"data/{name}-") for f in files)


def test_split_is_by_key_and_counts_add_up(data, transform_result) -> None:
    from pipeline.split import int_key_fractions

    out = transform_result.output
    train = _read_examples([os.path.join(out, f) for f in transform_result.splits["train"].files])
    evals = _read_examples([os.path.join(out, f) for f in transform_result.splits["eval"].files])
    assert transform_result.rows_in == ROWS and transform_result.bad_rows == 2
    assert len(train) + len(evals) == ROWS
    assert (len(train), len(evals)) == (
        transform_result.splits["train"].rows,
        transform_result.splits["eval"].rows,
    )
    ids = np.array([r["id"] for r in _good_rows(data)])
    expect_eval = set(ids[int_key_fractions(ids) < 0.25].tolist())
    assert {e["id"][0] for e in evals} == expect_eval
    assert 0.15 < len(evals) / ROWS < 0.35


def test_split_statistics_are_written_next_to_the_data(transform_result) -> None:
    import json

    out = transform_result.output
    for name in ("train", "eval"):
        stats = json.loads((Path(out) / "stats" / f"{name}.json").read_text())
        assert stats["records"] == transform_result.splits[name].rows
        assert stats["files"] == list(transform_result.splits[name].files)
        assert stats["features"] and all(f["presence"] > 0 for f in stats["features"].values())


def test_encoded_examples_have_one_feature_order() -> None:
    """tfx_bsl serializes the feature map in hash order (it differs between processes);
    the jobs' encoder writes encode_example's order, so equal data give equal bytes."""
    import pyarrow as pa

    from pipeline.beam_io import EncodeExamplesFn
    from recordio import decode_example, encode_example

    names = [f"feature_{i}" for i in range(12)]
    batch = pa.record_batch(
        [pa.array([[i], [i + 1]], pa.large_list(pa.int64())) for i in range(12)], names=names
    )
    (records,) = list(EncodeExamplesFn("test_rows").process(batch))
    assert records == [encode_example(decode_example(r)) for r in records]


def test_a_second_run_writes_identical_bytes(data, transform_result) -> None:
    """Byte-reproducible output: same input and options, same files, byte for byte."""
    from pipeline import TransformJobOptions, run_transform_job

    again = run_transform_job(
        TransformJobOptions(
            inputs=(str(data["csv"]),),
            output=str(data["root"] / "tft_again"),
            schema=str(data["schema"]),
            eval_fraction=0.25,
        )
    )
    for name in ("train", "eval"):
        first = transform_result.splits[name].files
        assert again.splits[name].files == first
        for f in first:
            a = (Path(transform_result.output) / f).read_bytes()
            assert a == (Path(again.output) / f).read_bytes(), f


def test_named_splits_by_key_hash(data) -> None:
    from pipeline import TransformJobOptions, run_transform_job
    from pipeline.split import int_key_fractions

    result = run_transform_job(
        TransformJobOptions(
            inputs=(str(data["csv"]),),
            output=str(data["root"] / "tft_splits"),
            schema=str(data["schema"]),
            splits=(("train", 0.6), ("eval", 0.2), ("test", 0.2)),
        )
    )
    assert set(result.splits) == {"train", "eval", "test"}
    out = result.output
    rows = {
        name: _read_examples([os.path.join(out, f) for f in result.splits[name].files])
        for name in result.splits
    }
    assert sum(len(r) for r in rows.values()) == ROWS  # the good rows, each in one split
    ids = np.array([r["id"] for r in _good_rows(data)])
    fractions = int_key_fractions(ids)
    want_test = set(ids[(fractions >= 0.2) & (fractions < 0.4)].tolist())
    assert {e["id"][0] for e in rows["test"]} == want_test
    assert (Path(out) / "stats" / "test.json").is_file()


def test_analyzer_statistics_match_numpy_on_the_train_split(data, transform_result) -> None:
    from pipeline.split import int_key_fractions

    rows = _good_rows(data)
    ids = np.array([r["id"] for r in rows])
    train = [r for r, f in zip(rows, int_key_fractions(ids), strict=True) if f >= 0.25]
    stats = transform_result.stats["analyzers"]
    num = np.array([r["num"] for r in train], dtype=np.float32)
    assert stats["num"]["mean"] == pytest.approx(float(num.mean()), rel=1e-4)
    assert stats["num"]["std"] == pytest.approx(float(num.std()), rel=1e-3)
    opt = np.array([r["opt"] for r in train if r["opt"] is not None], dtype=np.float32)
    assert stats["opt"]["fill_mean"] == pytest.approx(float(opt.mean()), rel=1e-4, abs=1e-5)
    # min_max runs after the fill, so the fill value (the mean) is inside the range
    assert stats["opt"]["min"] == pytest.approx(float(opt.min()))
    assert stats["opt"]["max"] == pytest.approx(float(opt.max()))
    logs = np.log1p(np.array([r["pos"] for r in train], dtype=np.float32))
    assert stats["pos_log_z"]["mean"] == pytest.approx(float(logs.mean()), rel=1e-4)
    bounds = stats["cnt"]["boundaries"]
    assert len(bounds) == 3 and bounds == sorted(bounds)
    quartiles = np.quantile([r["cnt"] for r in train], [0.25, 0.5, 0.75])
    np.testing.assert_allclose(bounds, quartiles, atol=6)
    vocab = transform_result.stats["vocabularies"]["city"]
    counts = {c: sum(r["city"] == c for r in train) for c in CITIES}
    assert vocab["size"] == len(CITIES)
    assert vocab["top"][0] == max(counts, key=counts.get)
    assert set(vocab["top"]) == set(CITIES)


def test_transformed_values_use_those_statistics(data, transform_result) -> None:
    out = transform_result.output
    stats = transform_result.stats["analyzers"]
    train = _read_examples([os.path.join(out, f) for f in transform_result.splits["train"].files])
    evals = _read_examples([os.path.join(out, f) for f in transform_result.splits["eval"].files])
    z = np.array([r["num"][0] for r in train])
    assert abs(z.mean()) < 1e-4 and abs(z.std() - 1) < 1e-3
    raw = {r["id"]: r for r in _good_rows(data)}
    for example in evals[:20]:  # eval rows use the train statistics
        row = raw[example["id"][0]]
        expected = (row["num"] - stats["num"]["mean"]) / stats["num"]["std"]
        assert example["num"][0] == pytest.approx(expected, rel=1e-4, abs=1e-4)
        if row["opt"] is None:
            fill = stats["opt"]["fill_mean"]
            expected = (fill - stats["opt"]["min"]) / (stats["opt"]["max"] - stats["opt"]["min"])
            assert example["opt"][0] == pytest.approx(expected, rel=1e-4)
        assert sum(example["tags"]) == len(row["tags"].split(";"))
    assert transform_result.label == "label"
    job = json.loads(Path(out, "recio_job.json").read_text())
    assert job["label"] == "label" and set(job["splits"]) == {"train", "eval"}
    assert job["stats"]["analyzers"]["num"]["mean"] == stats["num"]["mean"]
    summary = transform_result.summary()
    assert "train" in summary and "vocabulary of 6" in summary and "mean" in summary


def test_module_file_on_example_tfrecords(module_result) -> None:
    import tensorflow_transform as tft

    assert module_result.rows_in == ROWS and set(module_result.splits) == {"train"}
    output = tft.TFTransformOutput(module_result.output)
    assert set(output.transformed_feature_spec()) == {"num_scaled", "city_id", "label"}
    assert output.vocabulary_size_by_name("city_vocab") == len(CITIES)
    rows = _read_examples(
        [os.path.join(module_result.output, f) for f in module_result.splits["train"].files]
    )
    scaled = np.array([r["num_scaled"][0] for r in rows])
    assert len(rows) == ROWS and scaled.min() == 0.0 and scaled.max() == 1.0
    assert module_result.stats["vocabularies"]["city_vocab"]["size"] == len(CITIES)


def test_existing_output_needs_overwrite(data, csv_result) -> None:
    from pipeline import CsvJobOptions, OutputExistsError, run_csv_job

    with pytest.raises(OutputExistsError, match="pass overwrite=True"):
        run_csv_job(CsvJobOptions(inputs=(str(data["csv"]),), output=csv_result.output))


def test_remote_outputs_publish_their_manifest_through_beam_filesystems(tmp_path) -> None:
    from pipeline.sinks import publish_manifest
    from recordio.manifest import read_manifest
    from recordio.shards import ShardedWriter

    with ShardedWriter(str(tmp_path / "a.tfrecord.gz"), 3, manifest=False) as writer:
        writer.write_many(b"r%d" % i for i in range(10))
    prefix = str(tmp_path / "a")
    path = publish_manifest(prefix, writer.names, via_beam=True)  # as on gs://
    beam_made = read_manifest(path)
    assert [s.records for s in beam_made.shards] == [4, 3, 3]
    assert check_folder_ok(tmp_path)


def check_folder_ok(folder) -> bool:
    from recordio.manifest import check_folder

    return check_folder(str(folder)).ok
