"""List-valued features through `run_transform_job` on Example TFRecords, and TFTransformOutput.

One small Beam run: token lists (vocabulary ids and multi-hot), a fixed-size vector (z-score over
its values), a variable-length int list padded to a length.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from recordio import encode_example, write_records

pytestmark = pytest.mark.requires_beam

SCHEMA = {
    "columns": [
        {"name": "id", "type": "int64"},
        {"name": "tokens", "type": "bytes", "values": "var",
         "transform": {"name": "vocabulary", "output": "multi_hot", "top_k": 3}},
        {"name": "words", "type": "bytes", "values": "var", "transform": "vocabulary"},
        {"name": "vec", "type": "float", "values": 3, "transform": "z_score"},
        {"name": "seq", "type": "int64", "values": "var",
         "transform": {"name": "pad", "length": 3}},
    ],
    "key": "id",
}  # fmt: skip


def rows(n: int) -> list[dict]:
    rng = np.random.default_rng(4)
    out = []
    for i in range(n):
        tokens = [str(t) for t in rng.choice(["a", "b", "c", "d"], int(rng.integers(1, 4)))]
        out.append(
            {
                "id": i,
                "tokens": tokens,
                "words": tokens,
                "vec": rng.normal(size=3).astype(np.float32),
                "seq": [int(v) for v in rng.integers(1, 9, int(rng.integers(1, 6)))],
            }
        )
    return out


def test_list_features_through_the_job_and_tftransformoutput(tmp_path: Path) -> None:
    import tensorflow as tf
    import tensorflow_transform as tft

    from pipeline import TransformJobOptions, run_transform_job

    data = rows(120)
    write_records(str(tmp_path / "in.tfrecord"), [encode_example(r) for r in data])
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    result = run_transform_job(
        TransformJobOptions(
            inputs=(str(tmp_path / "in.tfrecord"),),
            output=str(tmp_path / "out"),
            schema=str(tmp_path / "schema.json"),
            eval_fraction=0.0,
        )
    )
    assert result.splits["train"].rows == 120 and result.bad_rows == 0
    output = tft.TFTransformOutput(result.output)
    spec = output.transformed_feature_spec()
    assert spec["tokens"] == tf.io.FixedLenFeature([4], tf.float32)
    assert spec["seq"] == tf.io.FixedLenFeature([3], tf.int64)
    assert spec["vec"] == tf.io.FixedLenFeature([3], tf.float32)
    assert isinstance(spec["words"], tf.io.VarLenFeature)
    files = [os.path.join(result.output, f) for f in result.splits["train"].files]
    written = tf.io.parse_example(
        next(iter(tf.data.TFRecordDataset(files, compression_type="GZIP").batch(1000))), spec
    )
    by_id = {int(i): n for n, i in enumerate(written["id"].numpy())}
    vec = np.stack([r["vec"] for r in data]).astype(np.float64)
    for r in data[:20]:
        n = by_id[r["id"]]
        np.testing.assert_allclose(
            written["vec"][n].numpy(), (r["vec"] - vec.mean()) / vec.std(), rtol=1e-4, atol=1e-5
        )
        padded = (r["seq"] + [0, 0, 0])[:3]
        assert written["seq"][n].numpy().tolist() == padded
        assert written["tokens"][n].numpy().sum() == len(set(r["tokens"]))
    # The saved transform reproduces the written values from raw Examples.
    raw_spec = output.raw_feature_spec()
    raw = tf.io.parse_example([encode_example(r) for r in data[:20]], raw_spec)
    again = output.transform_raw_features(raw)
    for name in ("vec", "seq", "tokens"):
        want = np.stack([written[name][by_id[r["id"]]].numpy() for r in data[:20]])
        np.testing.assert_allclose(again[name].numpy(), want, rtol=1e-6)
    words = tf.sparse.to_dense(again["words"], default_value=-1).numpy()
    vocab = [w.decode() for w in output.vocabulary_by_name("words")]
    for row, r in zip(words, data[:20], strict=True):
        assert [vocab[i] for i in row if i >= 0] == r["words"]


def test_parquet_input_with_list_columns(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from pipeline import TransformJobOptions, run_transform_job
    from recordio.tabular import convert

    data = rows(40)
    write_records(str(tmp_path / "in.tfrecord"), [encode_example(r) for r in data])
    convert([str(tmp_path / "in.tfrecord")], str(tmp_path / "in.parquet"))
    assert pq.read_schema(tmp_path / "in.parquet").field("seq").type.num_fields == 1  # a list
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    result = run_transform_job(
        TransformJobOptions(
            inputs=(str(tmp_path / "in.parquet"),),
            output=str(tmp_path / "out"),
            schema=str(tmp_path / "schema.json"),
            eval_fraction=0.0,
        )
    )
    assert result.splits["train"].rows == 40 and result.bad_rows == 0
    stats = json.loads((tmp_path / "out" / "stats" / "train.json").read_text())
    assert stats["features"]["seq"]["lengths"] == {"min": 3, "max": 3, "mean": 3.0,
                                                   "counts": {"3": 40}}  # fmt: skip
