"""Both loaders on a real `recio job transform` output (and raw records through its transform).

Runs in a child Python: importing tensorflow_transform switches tf.keras to Keras 2 for the whole
process, which must not leak into other tests of this worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.requires_beam, pytest.mark.slow]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from recordio import TFRecordWriter
    from recordio.example import encode_example
    from pipeline.options import TransformJobOptions
    from pipeline.transform_job import run_transform_job
    from pipeline.loaders import NumpyLoader, OrderOptions, WorkerOptions, load_spec, tf_dataset

    root = sys.argv[1]
    rng = np.random.default_rng(0)
    rows = [(float(np.float32(rng.normal())), float(np.float32(rng.uniform())),
             ["red", "green", "blue"][i % 3], i % 2) for i in range(300)]
    with open(os.path.join(root, "in.csv"), "w") as f:
        f.write("x,y,color,label\\n")
        f.writelines(f"{x!r},{y!r},{c},{l}\\n" for x, y, c, l in rows)
    os.makedirs(os.path.join(root, "raw"))
    with TFRecordWriter(os.path.join(root, "raw", "raw.tfrecord.gz"), "GZIP") as w:
        for x, y, c, l in rows:
            w.write(encode_example({"x": x, "y": y, "color": c, "label": l}))
    out = os.path.join(root, "out")
    run_transform_job(TransformJobOptions(inputs=(os.path.join(root, "in.csv"),), output=out,
                                          label="label"))
    job = json.load(open(os.path.join(out, "recio_job.json")))

    def cols(batches):
        got = {}
        for features, label in batches:
            for k, v in {**features, "label": label}.items():
                got.setdefault(k, []).append(np.asarray(v))
        return {k: np.concatenate(v) for k, v in got.items()}

    report = {"spec": {k: [s.dtype, s.shape] for k, s in load_spec(out).items()}}
    import tensorflow_transform as tft
    report["tft_spec"] = {k: [v.dtype.name, list(v.shape)]
                          for k, v in tft.TFTransformOutput(out).transformed_feature_spec().items()}
    for split in ("train", "eval"):
        np_cols = cols(NumpyLoader(out, label="label", split=split, batch_size=50,
                                   order=OrderOptions(shuffle=False, lanes=1),
                                   workers=WorkerOptions(prefetch=0)))
        tf_cols = cols(tf_dataset(out, label="label", split=split, shuffle_buffer=0,
                                  batch_size=50).as_numpy_iterator())
        report[split] = {"rows": int(np_cols["label"].size),
                         "job_rows": job["splits"][split]["rows"],
                         "same": all(np.array_equal(np_cols[k], tf_cols[k]) for k in np_cols)}
    done = cols(tf_dataset(os.path.join(root, "raw"), label="label", transform_dir=out,
                           shuffle_buffer=0, batch_size=64).as_numpy_iterator())
    # The job's own output (train + eval) is the same transform applied by Beam.
    train, ev = (cols(NumpyLoader(out, label="label", split=split,
                                  order=OrderOptions(shuffle=False),
                                  workers=WorkerOptions(prefetch=0)))
                 for split in ("train", "eval"))
    beam = {k: np.concatenate([train[k], ev[k]]) for k in train}
    report["raw_through_transform"] = {
        "rows": int(done["label"].size),
        "max_error": max(float(np.abs(np.sort(done[k]) - np.sort(beam[k])).max())
                         for k in ("x", "y")),
        "colors": sorted(np.unique(done["color"]).tolist()),
        "same_colors": np.array_equal(np.sort(done["color"]), np.sort(beam["color"])),
        "labels": done["label"].tolist() == [r[3] for r in rows],
        "x_changed": bool(np.abs(done["x"] - np.array([r[0] for r in rows])).max() > 1e-3),
    }
    print("REPORT" + json.dumps(report))
    """
)


def test_loaders_read_a_transform_job_output(tmp_path: object, python_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=python_env,
        timeout=300,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("REPORT")), None)
    assert line is not None, done.stderr[-3000:]
    report = json.loads(line[len("REPORT") :])
    assert report["spec"] == {
        "color": ["int64", []],
        "label": ["int64", []],
        "x": ["float32", []],
        "y": ["float32", []],
    }
    assert report["tft_spec"] == report["spec"]
    for split in ("train", "eval"):
        assert report[split]["rows"] == report[split]["job_rows"] > 0
        assert report[split]["same"], f"NumpyLoader and tf_dataset differ on {split}"
    raw = report["raw_through_transform"]
    assert raw["rows"] == 300 and raw["labels"]
    assert raw["x_changed"], "the raw values were not transformed"
    assert raw["max_error"] < 1e-5 and raw["same_colors"]
    assert raw["colors"] == [0, 1, 2]
