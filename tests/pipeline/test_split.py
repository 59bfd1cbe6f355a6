"""The train/eval split: deterministic, close to the requested fraction, salt-dependent."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipeline.split import batch_fractions, bytes_key_fraction, int_key_fractions, is_eval


def _batch(ids, names):
    offsets = pa.array(np.arange(len(ids) + 1, dtype=np.int64))
    return pa.RecordBatch.from_arrays(
        [
            pa.LargeListArray.from_arrays(offsets, pa.array(ids, pa.int64())),
            pa.LargeListArray.from_arrays(offsets, pa.array(names, pa.large_binary())),
        ],
        ["id", "name"],
    )


def test_int_keys_are_uniform_and_stable() -> None:
    keys = np.arange(100_000)
    fractions = int_key_fractions(keys)
    assert ((fractions >= 0) & (fractions < 1)).all()
    assert abs((fractions < 0.2).mean() - 0.2) < 0.01
    np.testing.assert_array_equal(fractions, int_key_fractions(keys))
    # a row's side depends only on its key, not on its neighbours or position
    np.testing.assert_array_equal(int_key_fractions(keys[::-1])[::-1], fractions)
    assert not np.array_equal(int_key_fractions(keys, "other salt"), fractions)


def test_known_values_pin_the_hash() -> None:
    # Pinned so that a refactor cannot silently move rows between splits.
    np.testing.assert_allclose(
        int_key_fractions(np.array([0, 1, 12345])), [0.34577789, 0.02800445, 0.43450986], atol=1e-8
    )
    assert abs(bytes_key_fraction(b"cat/001.png") - 0.9161975907931456) < 1e-15
    assert abs(bytes_key_fraction(b"x", "s") - 0.8148631485042177) < 1e-15


def test_batch_split_by_int_key_string_key_and_row() -> None:
    ids = list(range(5000))
    batch = _batch(ids, [f"n{i % 50}".encode() for i in ids])
    by_id = is_eval(batch, "id", 0.25)
    assert abs(by_id.mean() - 0.25) < 0.03
    # splitting the batch in two gives the same answer row by row
    halves = np.concatenate([is_eval(batch.slice(0, 2500), "id", 0.25),
                             is_eval(batch.slice(2500), "id", 0.25)])  # fmt: skip
    np.testing.assert_array_equal(halves, by_id)
    by_name = is_eval(batch, "name", 0.5)
    names = np.array([f"n{i % 50}" for i in ids])
    for name in set(names):  # rows sharing a key never straddle the split
        assert len(set(by_name[names == name])) == 1
    by_row = batch_fractions(batch, None)
    np.testing.assert_array_equal(by_row, batch_fractions(batch, None))
    assert not is_eval(batch, "id", 0.0).any()


def test_named_splits_parse_check_and_cut_the_unit_interval() -> None:
    import pyarrow as pa

    from pipeline.errors import JobOptionsError
    from pipeline.split import check_splits, is_eval, parse_splits, split_bounds, split_of_rows

    splits = parse_splits("train=0.8, eval=0.1,test=0.1")
    assert splits == (("train", 0.8), ("eval", 0.1), ("test", 0.1))
    check_splits(splits)
    assert [(n, round(lo, 6), round(hi, 6)) for n, lo, hi in split_bounds(splits)] == [
        ("eval", 0.0, 0.1),
        ("test", 0.1, 0.2),
        ("train", 0.2, 1.0),
    ]
    for bad, message in (
        ("eval=0.5,test=0.5", "named train"),
        ("train=0.8,eval=0.1", "add up to 0.9"),
        ("train=0.5,train=0.5", "repeats"),
        ("train", "NAME=FRACTION"),
        ("train=0.9,ev al=0.1", "letters"),
    ):
        with pytest.raises(JobOptionsError, match=message):
            check_splits(parse_splits(bad))
    batch = pa.record_batch([pa.array([[i] for i in range(5000)], pa.large_list(pa.int64()))],
                            names=["id"])  # fmt: skip
    masks = split_of_rows(batch, "id", splits, salt="s")
    total = sum(mask.astype(int) for mask in masks.values())
    assert (total == 1).all()  # every row in exactly one split
    assert 0.07 < masks["test"].mean() < 0.13
    two = split_of_rows(batch, "id", (("train", 0.8), ("eval", 0.2)), salt="s")
    assert (two["eval"] == is_eval(batch, "id", 0.2, salt="s")).all()  # same as eval_fraction
