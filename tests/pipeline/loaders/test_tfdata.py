"""tf.data loader, cross-checks against TF's parser, and Keras training from both loaders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.loaders import (
    DecodeOptions,
    LoaderError,
    NumpyLoader,
    OrderOptions,
    WorkerOptions,
)
from tests.pipeline.loaders.loader_data import (
    collect,
    fmnist_arrays,
    keys,
    write_fmnist,
    write_tf_examples,
)

pytestmark = pytest.mark.requires_tf
RAW = {"image": ("uint8", (28, 28))}
N = 600


@pytest.fixture(scope="module")
def fm(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, np.ndarray, np.ndarray]:
    images, labels = fmnist_arrays(N, seed=4)
    folder = tmp_path_factory.mktemp("fm")
    write_fmnist(folder, images, labels, shards=3)
    return str(folder), images, labels


def test_tf_dataset_yields_the_records_in_a_seeded_order(
    fm: tuple[str, np.ndarray, np.ndarray],
) -> None:
    from pipeline.loaders import tf_dataset

    data, images, labels = fm
    ds = tf_dataset(data, label="label", batch_size=50, seed=9, decode_bytes=RAW)
    x, y = collect(ds.as_numpy_iterator())
    assert x.dtype == np.uint8 and x.shape == (N, 28, 28)
    assert keys(x, y) == keys(images, labels)
    again = collect(
        tf_dataset(data, label="label", batch_size=50, seed=9, decode_bytes=RAW).as_numpy_iterator()
    )
    assert np.array_equal(again[1], y) and np.array_equal(again[0], x)
    other = collect(
        tf_dataset(
            data, label="label", batch_size=50, seed=10, decode_bytes=RAW
        ).as_numpy_iterator()
    )
    assert not np.array_equal(other[1], y)
    # repeat + cache + drop_remainder + float conversion
    ds = tf_dataset(data, label="label", batch_size=64, seed=1, repeat=True, cache=True,
                    drop_remainder=True, decode_bytes=RAW,
                    to_float32={"image": 1 / 255})  # fmt: skip
    shapes = [(f["image"].shape, f["image"].dtype.name, y.shape) for f, y in ds.take(12)]
    assert set(shapes) == {((64, 28, 28), "float32", (64,))}


def test_tf_dataset_options_fail_clearly(
    fm: tuple[str, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    from pipeline.loaders import tf_dataset

    data = fm[0]
    with pytest.raises(LoaderError, match="unknown feature 'pixels'"):
        tf_dataset(data, label="label", features=["pixels"])
    with pytest.raises(LoaderError, match="label 'y' is not a feature"):
        tf_dataset(data, label="y")
    with pytest.raises(LoaderError, match="no file matches this pattern"):
        tf_dataset(str(tmp_path / "nothing-*.tfrecord"), label="label")
    with pytest.raises(LoaderError, match="decode_bytes.*only a feature holding one bytes value"):
        tf_dataset(data, label="label", decode_bytes={"label": "uint8"})


@pytest.fixture(scope="module")
def mixed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, list[dict[str, tuple[str, list]]]]:
    """Records written by TensorFlow itself, with every kind, varint widths and ragged values."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(200):
        rows.append(
            {
                "vec": ("float", rng.normal(size=3).astype(np.float32).tolist()),
                "big": ("int", [int(rng.integers(-(2**62), 2**62))]),
                "small": ("int", [int(rng.integers(0, 300))]),
                "word": ("bytes", [bytes(rng.integers(97, 123, 4).astype(np.uint8))]),
                "ids": ("int", rng.integers(-5, 1000, i % 4).tolist()),
                "tags": ("bytes", [b"t%d" % k for k in range(i % 3)]),
                "label": ("int", [i % 10]),
            }
        )
    path = str(tmp_path_factory.mktemp("mixed") / "mixed.tfrecord.gz")
    write_tf_examples(path, rows)
    return path, rows


def test_numpy_loader_decodes_like_tf_parse_example(mixed: tuple[str, list]) -> None:
    import tensorflow as tf

    path, _ = mixed
    ld = NumpyLoader(
        path,
        label="label",
        batch_size=64,
        order=OrderOptions(shuffle=False, lanes=1),
        workers=WorkerOptions(prefetch=0),
    )
    assert {k: (s.kind, s.shape) for k, s in ld.spec.items()} == {
        "vec": ("float", (3,)), "big": ("int64", ()), "small": ("int64", ()),
        "word": ("bytes", ()), "ids": ("int64", None), "tags": ("bytes", None),
        "label": ("int64", ()),
    }  # fmt: skip
    tf_spec = {k: s.to_tf() for k, s in ld.spec.items()}
    ref = tf.data.TFRecordDataset(path, compression_type="GZIP").batch(64)
    for (features, label), serialized in zip(ld, ref, strict=True):
        want = tf.io.parse_example(serialized, tf_spec)
        assert np.array_equal(label, want["label"].numpy())
        for name in ("vec", "big", "small", "word"):
            assert np.array_equal(features[name], want[name].numpy()), name
        for name, fill in (("ids", 0), ("tags", b"")):
            dense = tf.sparse.to_dense(want[name], default_value=fill).numpy()
            assert features[name].shape == dense.shape and np.array_equal(features[name], dense), (
                name
            )


def test_both_loaders_read_what_recio_write_wrote(tmp_path: Path) -> None:
    from pipeline.loaders import tf_dataset

    lines = [
        f'{{"x": [{i + 0.5}, {-(i + 0.25)}], "name": "r{i}", "label": {i % 3}}}' for i in range(30)
    ]
    (tmp_path / "rows.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out" / "rows.tfrecord.gz"
    out.parent.mkdir()
    args = ["write", str(out), str(tmp_path / "rows.jsonl"), "--shards", "2"]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-m", "recio", *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    data = str(out.parent)
    np_x, np_y = collect(
        NumpyLoader(
            data,
            label="label",
            batch_size=7,
            order=OrderOptions(shuffle=False),
            workers=WorkerOptions(prefetch=0),
        ),
        "x",
    )
    tf_x, tf_y = collect(
        tf_dataset(data, label="label", batch_size=7, shuffle_buffer=0).as_numpy_iterator(), "x"
    )
    want = sorted((i % 3, i + 0.5, -(i + 0.25)) for i in range(30))
    assert sorted(zip(np_y.tolist(), *np_x.T.tolist(), strict=True)) == want
    assert sorted(zip(tf_y.tolist(), *tf_x.T.tolist(), strict=True)) == want


def test_a_tiny_keras_model_trains_from_each_loader(fm: tuple[str, np.ndarray, np.ndarray]) -> None:
    import keras

    from pipeline.loaders import KerasPyDataset, tf_dataset

    data = fm[0]

    def model() -> keras.Model:
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])  # fmt: skip
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return m

    scale = {"image": 1 / 255}
    ld = NumpyLoader(
        data,
        label="label",
        batch_size=32,
        decode=DecodeOptions(decode_bytes=RAW, to_float32=scale),
        workers=WorkerOptions(num_workers=1),
    )
    seq = KerasPyDataset(ld, x="image")
    history = model().fit(seq, epochs=3, verbose=0).history
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    assert ld.epoch == 3 and ld.state_dict()["batch"] == 0
    ld.close()
    ds = tf_dataset(
        data, label="label", batch_size=32, seed=0, decode_bytes=RAW, to_float32={"image": 1 / 255}
    )
    history = model().fit(ds.map(lambda f, y: (f["image"], y)), epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]


def test_tf_dataset_surfaces_or_salvages_a_damaged_shard(tmp_path: Path) -> None:
    from pipeline.loaders import tf_dataset
    from recordio import CorruptRecordError

    images, labels = fmnist_arrays(40, seed=8)
    paths = write_fmnist(tmp_path, images, labels, shards=2, compression="NONE")
    raw = bytearray(Path(paths[0]).read_bytes())
    size = 12 + int.from_bytes(raw[:8], "little") + 4
    raw[5 * size + 200] ^= 0x55  # the data of record 5 of the first file
    Path(paths[0]).write_bytes(bytes(raw))
    with pytest.raises(CorruptRecordError) as caught:
        tf_dataset(str(tmp_path), label="label", verify=True)
    assert caught.value.path == paths[0] and caught.value.offset == 5 * size
    ds = tf_dataset(str(tmp_path), label="label", salvage=True, seed=1, decode_bytes=RAW)
    x, y = collect(ds.as_numpy_iterator())
    want = keys(images, labels)
    want[(int(labels[0::2][5]), images[0::2][5].tobytes())] -= 1
    assert keys(x, y) == +want
    assert [d.offset for d in ds.recio_damage] == [5 * size]
