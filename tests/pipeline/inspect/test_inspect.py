"""Schema inference, statistics and skew on generated Examples, checked against numpy / TF."""

from __future__ import annotations

import gzip
from pathlib import Path

import google_crc32c
import numpy as np
import pytest

from pipeline.errors import InputError
from pipeline.inspect import (
    compare_profiles,
    dataset_stats,
    infer_schema,
    profile_files,
    render,
    to_metadata_proto,
)
from pipeline.inspect.sketches import HyperLogLog, TopK, hash_numbers
from recordio import Kind, encode_example, index_file, load_index, write_records
from recordio.columns import Column, ColumnDecoder, _general_columns, decode_columns

COLORS = ["red", "green", "blue"]


def make_rows(n: int, seed: int, *, drift: bool = False) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        color = COLORS[int(rng.integers(0, 3))]
        if drift and i % 10 == 0:
            color = "purple"
        row = {
            "id": i + seed * 100_000,
            "label": int(rng.integers(0, 2)),
            "color": color,
            "tokens": [str(t) for t in rng.choice(["a", "b", "c"], int(rng.integers(0, 4)))],
            "vec": rng.normal(size=3).astype(np.float32),
            "price": float(rng.normal(5.0 if drift else 0.0, 1.0)),
        }
        if i % 4:
            row["opt"] = float(rng.uniform())
        rows.append(row)
    return rows


def write(path: Path, rows: list[dict]) -> str:
    write_records(str(path), [encode_example(r) for r in rows])
    return str(path)


def test_stats_equal_numpy(tmp_path: Path) -> None:
    rows = make_rows(2500, 1)
    stats = dataset_stats(profile_files([write(tmp_path / "a.tfrecord", rows)]))
    assert stats["records"] == 2500
    price = np.array([np.float32(r["price"]) for r in rows], dtype=np.float64)
    n = stats["features"]["price"]["numbers"]
    assert n["count"] == 2500
    assert n["mean"] == pytest.approx(price.mean(), rel=1e-9)
    assert n["std"] == pytest.approx(price.std(), rel=1e-9)
    assert (n["min"], n["max"]) == (price.min(), price.max())
    vec = np.concatenate([r["vec"] for r in rows]).astype(np.float64)
    assert stats["features"]["vec"]["numbers"]["mean"] == pytest.approx(vec.mean(), rel=1e-9)
    label = np.array([r["label"] for r in rows])
    assert stats["features"]["label"]["numbers"]["zeros"] == int((label == 0).sum())
    opt = stats["features"]["opt"]
    assert opt["present"] == sum("opt" in r for r in rows)
    lengths = np.array([len(r["tokens"]) for r in rows])
    tokens = stats["features"]["tokens"]
    assert tokens["lengths"]["counts"] == {
        str(k): int((lengths == k).sum()) for k in np.unique(lengths)
    }
    assert tokens["values"] == int(lengths.sum())
    colors, counts = np.unique([r["color"] for r in rows], return_counts=True)
    expected = dict(zip(colors, counts.tolist(), strict=True))
    assert dict(stats["features"]["color"]["top"]) == expected
    assert stats["features"]["color"]["distinct"] == {"approx": 3, "exact": 3}
    assert abs(stats["features"]["id"]["distinct"]["approx"] - 2500) < 2500 * 0.03
    assert stats["record_bytes"]["max"] == max(len(encode_example(r)) for r in rows)


def test_fast_columns_match_general_decoder() -> None:
    rng = np.random.default_rng(3)
    records = [
        encode_example({"image": rng.bytes(50), "label": int(rng.integers(0, 10)), "f": [1.5, 2.5]})
        for _ in range(100)
    ]
    fast, _ = decode_columns(records)
    slow, _ = _general_columns(records)
    assert set(fast) == set(slow)
    for name in fast:
        assert fast[name].kind == slow[name].kind
        assert np.array_equal(fast[name].lengths, slow[name].lengths)
        assert list(fast[name].values) == list(slow[name].values)
        if fast[name].kind is Kind.BYTES:
            assert np.array_equal(fast[name].value_sizes(), slow[name].value_sizes())
            assert np.array_equal(fast[name].value_crc32c(), slow[name].value_crc32c())
            assert fast[name].value_crc32c().tolist() == [
                google_crc32c.value(v) for v in slow[name].values
            ]
    # A record that breaks the layout (a two-byte label) sends the batch to the general path.
    records[50] = encode_example({"image": rng.bytes(50), "label": 300, "f": [1.5, 2.5]})
    assert list(decode_columns(records)[0]["label"].values) == list(
        _general_columns(records)[0]["label"].values
    )


def _same_columns(got: dict[str, Column], want: dict[str, Column]) -> None:
    assert set(got) == set(want)
    for name in got:
        assert got[name].kind == want[name].kind
        assert np.array_equal(got[name].lengths, want[name].lengths)
        assert list(got[name].values) == list(want[name].values)


def test_column_decoder_reuses_a_layout_only_where_every_record_fits() -> None:
    rng = np.random.default_rng(4)

    def batch(width: int, n: int = 50) -> list[bytes]:
        return [encode_example({"b": rng.bytes(width), "k": int(rng.integers(0, 100))})
                for _ in range(n)]  # fmt: skip

    decoder = ColumnDecoder()
    # Layout A, then B (another value width: another record size), then A again, then a
    # batch of A whose structure differs in one record (a feature name of the same length).
    odd = batch(20)
    odd[7] = encode_example({"c": rng.bytes(20), "k": 5})
    for records, fast in [(batch(20), True), (batch(30), True), (batch(20), True), (odd, False)]:
        got, mixed = decoder.decode(records)
        _same_columns(got, _general_columns(records)[0])
        assert mixed == set()
        assert decoder.record_size == (len(records[0]) if fast else None)
    # Records holding only bytes values (no numbers to gather) take the fast path too.
    only = [encode_example({"b": rng.bytes(9)}) for _ in range(20)]
    got, _ = decoder.decode(only)
    assert decoder.record_size == len(only[0])
    _same_columns(got, _general_columns(only)[0])
    assert got["b"].value_sizes().tolist() == [9] * 20


def test_hyperloglog_accuracy() -> None:
    hll = HyperLogLog()
    hll.add_hashes(hash_numbers(np.arange(200_000, dtype=np.int64)))
    assert abs(hll.estimate() - 200_000) / 200_000 < 0.03


@pytest.mark.requires_beam
def test_pbtxt_round_trips_and_tft_accepts_it(tmp_path: Path) -> None:
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2
    from tensorflow_transform.tf_metadata import schema_utils

    path = write(tmp_path / "a.tfrecord", make_rows(300, 2))
    inferred = infer_schema(profile_files([path]))
    text = render(inferred, "pbtxt")
    parsed = text_format.Parse(text, schema_pb2.Schema())
    assert parsed == to_metadata_proto(inferred)
    spec = schema_utils.schema_as_feature_spec(parsed).feature_spec
    import tensorflow as tf

    assert spec["label"] == tf.io.FixedLenFeature([], tf.int64)
    assert spec["vec"] == tf.io.FixedLenFeature([3], tf.float32)
    assert spec["color"] == tf.io.FixedLenFeature([], tf.string)
    assert spec["tokens"] == tf.io.VarLenFeature(tf.string)
    assert spec["opt"] == tf.io.VarLenFeature(tf.float32)
    assert list(schema_utils.schema_as_feature_spec(parsed).domains["color"].value) == sorted(
        COLORS
    )
    # The python form is the same spec.
    scope: dict = {}
    exec(render(inferred, "python"), scope)  # noqa: S102 - our own generated source
    assert scope["FEATURE_SPEC"] == spec


def test_job_json_is_a_recio_schema(tmp_path: Path) -> None:
    import json

    from pipeline.schema import parse_schema

    path = write(tmp_path / "a.tfrecord", make_rows(100, 2))
    inferred = infer_schema(profile_files([path]))
    schema = parse_schema(json.loads(render(inferred, "json")))
    assert schema.names == ["color", "id", "label", "opt", "price", "tokens", "vec"]
    assert not schema.column("opt").required and schema.column("label").required
    assert (schema.column("tokens").values, schema.column("vec").values) == ("var", 3)


def test_skew_flags_drift_and_nothing_on_a_clean_split(tmp_path: Path) -> None:
    train = profile_files([write(tmp_path / "train.tfrecord", make_rows(3000, 1))])
    clean = profile_files([write(tmp_path / "eval.tfrecord", make_rows(1000, 2))])
    assert compare_profiles(train, clean) == []  # ids differ, but they are ids
    drifted = make_rows(1000, 3, drift=True)
    for row in drifted:
        row.pop("opt", None)
    bad = profile_files([write(tmp_path / "drift.tfrecord", drifted)])
    found = {(a.feature, a.kind) for a in compare_profiles(train, bad)}
    assert ("color", "unseen_values") in found
    assert ("price", "mean") in found
    assert ("opt", "missing_in_eval") in found


def _id_files(folder: Path) -> tuple[list[str], int]:
    """Four files whose records carry their index over all of them as `id`: plain, GZIP in one
    stream (as TF and gzip(1) write it), recio's GZIP in many members with an index sidecar,
    and ZLIB."""
    ids = iter(range(10**6))

    def records(n: int) -> list[bytes]:
        return [encode_example({"id": next(ids), "x": float(i % 7)}) for i in range(n)]

    plain = str(folder / "a.tfrecord")
    write_records(plain, records(1000))
    staged = folder / "staged.tfrecord"
    write_records(str(staged), records(800))
    one_stream = folder / "b.tfrecord.gz"
    one_stream.write_bytes(gzip.compress(staged.read_bytes()))
    staged.unlink()
    members = str(folder / "c.tfrecord.gz")
    write_records(members, records(900), "GZIP", member_bytes=4096)
    index_file(members)
    assert load_index(members).member_count > 1
    zlib = str(folder / "d.tfrecord.zz")
    write_records(zlib, records(300), "ZLIB")
    return [plain, str(one_stream), members, zlib], 3000


def _drawn(profile) -> list[int]:
    counts = profile.features["id"].top.counts
    assert set(counts.values()) == {1}  # no record twice
    return sorted(counts)


def test_sample_is_a_seeded_uniform_draw_over_all_files(tmp_path: Path) -> None:
    files, total = _id_files(tmp_path)
    profile = profile_files(files, sample=600, seed=3)
    assert profile.records == 600 and profile.sampled
    drawn = _drawn(profile)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([3])))
    assert drawn == sorted(rng.choice(total, size=600, replace=False).tolist())
    # From every file, the one-stream GZIP and ZLIB ones too, not only from the first.
    assert {np.searchsorted([1000, 1800, 2700], i, side="right") for i in drawn} == {0, 1, 2, 3}
    assert dataset_stats(profile)["compression_ratio"] is None
    assert dataset_stats(profile)["compression"] == ["GZIP", "NONE", "ZLIB"]
    # Reproducible with the seed, another sample with another seed.
    again = profile_files(files, sample=600, seed=3)
    assert dataset_stats(again) == dataset_stats(profile)
    other = _drawn(profile_files(files, sample=600, seed=4))
    assert len(other) == 600 and other != drawn
    # How a file is read (sidecar random access or read through) does not change the draw.
    for path in files[:2]:
        index_file(path)
    assert _drawn(profile_files(files, sample=600, seed=3)) == drawn
    assert _drawn(profile_files(files, sample=600, seed=3, verify=False)) == drawn


def test_sample_of_all_or_more_reads_everything(tmp_path: Path) -> None:
    files, total = _id_files(tmp_path)
    whole = dataset_stats(profile_files(files))
    for n in (total, total + 1, 10**9):
        got = profile_files(files, sample=n)
        assert got.records == total and not got.sampled
        assert dataset_stats(got) == whole
    nearly = profile_files(files, sample=total - 1, seed=9)
    assert nearly.records == total - 1 and nearly.sampled
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([9])))
    (left_out,) = set(range(total)) - set(rng.choice(total, size=total - 1, replace=False).tolist())
    ids = nearly.features["id"].moments  # too many to count one by one: their sum tells
    assert ids.count == total - 1
    assert round(ids.mean * ids.count) == sum(range(total)) - left_out


def test_sample_and_seed_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path / "a.tfrecord", make_rows(10, 1))
    with pytest.raises(InputError, match="sample must be at least 1"):
        profile_files([path], sample=0)
    with pytest.raises(InputError, match="seed must be >= 0") as caught:
        profile_files([path], sample=5, seed=-1)
    assert caught.value.params == ("seed",)


def test_topk_counts_arrays_as_it_counts_lists() -> None:
    """np.unique/bincount per batch give the same counts, ties, prunes and give-ups as a
    Counter over the values (new values enter in the order they first appear)."""
    rng = np.random.default_rng(5)
    for low, high, n in [(0, 10, 3000), (-5, 3, 500), (0, 10**12, 2500), (0, 2500, 1500)]:
        arrays, lists = TopK(capacity=100), TopK(capacity=100)
        for _ in range(6):
            values = rng.integers(low, high, n)
            arrays.add(values)
            lists.add(values.tolist())
        assert arrays.counts == lists.counts
        assert list(arrays.counts) == list(lists.counts)  # the same insertion order
        assert arrays.top(10) == lists.top(10)
        assert (arrays.pruned, arrays.gave_up) == (lists.pruned, lists.gave_up)


def fixed_layout_rows(n: int, seed: int) -> list[dict]:
    """Rows whose Examples all share one byte layout (the fast decoder's case): a 64-byte
    image, a 4-byte code with repeated values, a small label and a float pair."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(
        [b"AAAA", b"BBBB", b"CCCC", b"DDDD", b"EEEE"], n, p=[0.4, 0.3, 0.2, 0.05, 0.05]
    )
    return [
        {
            "image": rng.bytes(64),
            "code": bytes(codes[i]),
            "label": int(rng.integers(0, 10)),
            "xy": rng.normal(size=2).astype(np.float32),
        }
        for i in range(n)
    ]


def test_fast_path_stats_equal_numpy_and_the_general_decoder(tmp_path: Path) -> None:
    rows = fixed_layout_rows(6000, 8)
    path = write(tmp_path / "f.tfrecord", rows)
    fast = dataset_stats(profile_files([path]))
    # Batches of 8 records are decoded one record at a time (the general decoder).
    slow = dataset_stats(profile_files([path], batch_size=8))
    codes, counts = np.unique([r["code"] for r in rows], return_counts=True)
    order = np.argsort(-counts, kind="stable")
    top = [[codes[i].decode(), int(counts[i])] for i in order]
    assert fast["features"]["code"]["top"] == top
    assert fast["features"]["code"]["distinct"] == {"approx": 5, "exact": 5}
    assert fast["features"]["code"]["value_bytes"] == {"min": 4, "mean": 4.0, "max": 4}
    image = fast["features"]["image"]
    assert image["top"] == [] and image["top_note"] == "(nearly all distinct: not tracked)"
    assert abs(image["distinct"]["approx"] - 6000) < 6000 * 0.03
    labels, label_counts = np.unique([r["label"] for r in rows], return_counts=True)
    assert dict(fast["features"]["label"]["top"]) == dict(
        zip(labels.tolist(), label_counts.tolist(), strict=True)
    )
    xy = np.concatenate([r["xy"] for r in rows]).astype(np.float64)
    numbers = fast["features"]["xy"]["numbers"]
    assert numbers["mean"] == pytest.approx(xy.mean(), rel=1e-9)
    assert numbers["std"] == pytest.approx(xy.std(), rel=1e-9)
    assert (numbers["min"], numbers["max"]) == (xy.min(), xy.max())
    size = len(encode_example(rows[0]))
    assert fast["record_bytes"]["min"] == fast["record_bytes"]["max"] == size
    assert fast["stream_bytes"] == 6000 * (size + 16)
    # The general decoder's figures: the same numbers (means and stds to rounding).
    for name in fast["features"]:
        a, b = fast["features"][name], slow["features"][name]
        if "numbers" in a:
            for key in ("mean", "std"):
                assert a["numbers"][key] == pytest.approx(b["numbers"][key], rel=1e-12)
                a["numbers"][key] = b["numbers"][key]
        assert a == b, name
    assert fast["record_bytes"] == slow["record_bytes"]
    # Deterministic: the same document on every run.
    assert dataset_stats(profile_files([path])) == dataset_stats(profile_files([path]))


def test_topk_gives_up_from_distinct_hashes_as_counting_would() -> None:
    rng = np.random.default_rng(6)
    for batches in ([3000], [1500, 1500], [1000, 1000, 1000], [2500, 10]):
        counted, skipped = TopK(), TopK()
        for n in batches:
            values = [rng.bytes(16) for _ in range(n)]
            counted.add(values)
            if not skipped.gives_up_at(len(set(values)), n):
                skipped.add(values)
            assert (skipped.gave_up, skipped.counts) == (counted.gave_up, counted.counts)
    # Repeated values (600 distinct in 3,000): never given up early, counted exactly.
    values = [bytes([i % 200, i % 6]) for i in range(3000)]
    top = TopK()
    assert not top.gives_up_at(len(set(values)), len(values))
    top.add(values)
    assert top.exact and len(top.counts) == 600
