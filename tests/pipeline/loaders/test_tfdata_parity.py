"""tf_dataset like the NumpyLoader: pad and lengths; resume through tf.train.Checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.loaders import DecodeOptions, NumpyLoader, OrderOptions, WorkerOptions
from tests.pipeline.loaders.loader_data import fmnist_arrays, write_fmnist, write_tf_examples

pytestmark = pytest.mark.requires_tf


def test_pad_and_lengths_match_the_numpy_loader(tmp_path: Path) -> None:
    from pipeline.loaders import tf_dataset

    rows = [
        {
            "ids": ("int", list(range(1, 1 + i % 5))),
            "tags": ("bytes", [b"t%d" % k for k in range(i % 4)]),
            "label": ("int", [i]),
        }
        for i in range(60)
    ]
    path = str(tmp_path / "r.tfrecord")
    write_tf_examples(path, rows, compression="")
    pad = {"tags": 2}
    ds = tf_dataset(path, label="label", batch_size=16, shuffle_buffer=0, pad=pad,
                    return_lengths=True)  # fmt: skip
    ours = NumpyLoader(path, label="label", batch_size=16,
                       order=OrderOptions(shuffle=False, lanes=1),
                       decode=DecodeOptions(pad=pad, return_lengths=True),
                       workers=WorkerOptions(prefetch=0))  # fmt: skip
    n = 0
    for (tf_features, tf_label), (np_features, np_label) in zip(ds, ours, strict=True):
        np.testing.assert_array_equal(tf_label.numpy(), np_label)
        assert set(tf_features) == set(np_features) == {
            "ids", "tags", "ids__length", "tags__length"
        }  # fmt: skip
        for name, value in tf_features.items():
            np.testing.assert_array_equal(value.numpy(), np_features[name], err_msg=name)
        assert tf_features["tags"].shape[1] == 2
        n += len(np_label)
    assert n == len(rows)


def test_an_iterator_checkpoint_resumes_with_the_next_batch(tmp_path: Path) -> None:
    import tensorflow as tf

    from pipeline.loaders import tf_dataset

    images, labels = fmnist_arrays(400, seed=4)
    write_fmnist(tmp_path / "fm", images, labels, shards=4)

    def make() -> object:
        raw = {"image": ("uint8", (28, 28))}
        return tf_dataset(str(tmp_path / "fm"), label="label", batch_size=32, seed=7,
                          shuffle_buffer=100, decode_bytes=raw)  # fmt: skip

    it = iter(make())
    for _ in range(3):
        next(it)
    ckpt = tf.train.Checkpoint(iterator=it)
    saved = ckpt.save(str(tmp_path / "ckpt" / "it"))
    want = [next(it) for _ in range(5)]
    again = iter(make())
    tf.train.Checkpoint(iterator=again).restore(saved).assert_consumed()
    got = [next(again) for _ in range(5)]
    for (fa, la), (fb, lb) in zip(got, want, strict=True):
        np.testing.assert_array_equal(la.numpy(), lb.numpy())
        np.testing.assert_array_equal(fa["image"].numpy(), fb["image"].numpy())
    fresh = iter(make())
    first = [next(fresh)[1].numpy() for _ in range(4)]
    assert not np.array_equal(first[0], got[0][1].numpy())  # the resume did not start over
    np.testing.assert_array_equal(first[3], got[0][1].numpy())  # but went on with batch 3
