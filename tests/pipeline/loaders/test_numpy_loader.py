"""NumpyLoader (recordio only): exact records, seeded order, resume, splits, damage, errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pipeline import PipelineError
from pipeline.loaders import (
    DecodeOptions,
    FeatureSpec,
    LoaderError,
    NumpyLoader,
    OrderOptions,
    RecordSpecError,
    SourceOptions,
    WorkerOptions,
    load_spec,
    resolve_files,
)
from pipeline.loaders.decode import ExampleDecoder, make_fields
from pipeline.loaders.spec import spec_from_schema_text
from tests.pipeline.loaders.loader_data import collect, fmnist_arrays, keys, write_fmnist

N = 1000
RAW = {"image": ("uint8", (28, 28))}


@pytest.fixture(scope="module")
def fm(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, np.ndarray, np.ndarray]:
    images, labels = fmnist_arrays(N, seed=1)
    folder = tmp_path_factory.mktemp("fm")
    write_fmnist(folder, images, labels, shards=4)
    return str(folder), images, labels


GROUPS = {
    "order": (
        OrderOptions,
        ("shuffle", "seed", "drop_remainder", "rank", "world_size", "shuffle_buffer", "lanes"),
    ),
    "decode": (DecodeOptions, ("decode_bytes", "to_float32", "pad", "return_lengths")),
    "workers": (WorkerOptions, ("num_workers", "prefetch", "start_method")),
    "source": (SourceOptions, ("spec", "salvage", "verify", "strict")),
}


def loader(data: str, **kw: object) -> NumpyLoader:
    """A NumpyLoader from flat options (grouped here into the option objects)."""
    kw.setdefault("decode_bytes", RAW)
    kw.setdefault("batch_size", 64)
    for group, (cls, names) in GROUPS.items():
        given = {n: kw.pop(n) for n in names if n in kw}
        if given:
            kw[group] = cls(**given)
    return NumpyLoader(data, label="label", **kw)  # type: ignore[arg-type]


def test_spec_is_inferred_from_the_records(fm: tuple[str, np.ndarray, np.ndarray]) -> None:
    spec = load_spec(fm[0])
    assert spec == {
        "image": FeatureSpec("image", "bytes", ()),
        "label": FeatureSpec("label", "int64", ()),
    }


@pytest.mark.parametrize(
    "mode",
    [{"prefetch": 0}, {"prefetch": 2}, {"num_workers": 2, "prefetch": 3}],
    ids=["inline", "thread", "processes"],
)
def test_yields_exactly_the_records_in_a_seeded_order(
    fm: tuple[str, np.ndarray, np.ndarray], mode: dict[str, int]
) -> None:
    data, images, labels = fm
    with loader(data, seed=7, **mode) as ld:
        assert len(ld) == -(-N // 64)
        # No copies: held batches must stay intact (slots are retired, not overwritten).
        first = list(ld)
        second = list(ld)
    got_x, got_y = collect(first)
    assert got_x.dtype == np.uint8 and got_x.shape == (N, 28, 28)
    assert keys(got_x, got_y) == keys(images, labels)
    assert keys(*collect(second)) == keys(images, labels)
    assert [len(y) for _, y in first] == [64] * (N // 64) + [N % 64]
    # The order is a function of the seed and epoch only, whatever does the work.
    reference = loader(data, seed=7, prefetch=0)
    inline = collect(reference)
    assert np.array_equal(got_y, inline[1]) and np.array_equal(got_x, inline[0])
    # Epoch 1 is shuffled afresh; workers that ran on into it made the very same batches.
    inline_second = collect(reference)
    assert not np.array_equal(got_y, inline_second[1])
    assert all(np.array_equal(a, b) for a, b in zip(collect(second), inline_second, strict=True))


def test_seed_changes_order_and_shuffle_off_keeps_file_order(
    fm: tuple[str, np.ndarray, np.ndarray],
) -> None:
    data, images, labels = fm
    a = collect(loader(data, seed=1, prefetch=0))[1]
    b = collect(loader(data, seed=2, prefetch=0))[1]
    assert not np.array_equal(a, b)
    x, y = collect(loader(data, shuffle=False, prefetch=0, lanes=1))
    # One lane, no shuffling: the files in turn, each in its own order (records were dealt
    # round-robin to 4 shards).
    order = np.concatenate([np.arange(s, N, 4) for s in range(4)])
    assert np.array_equal(y, labels[order]) and np.array_equal(x, images[order])


def test_to_float32_and_drop_remainder(fm: tuple[str, np.ndarray, np.ndarray]) -> None:
    data, images, labels = fm
    ld = loader(
        data, to_float32={"image": 1 / 255}, drop_remainder=True, batch_size=100, prefetch=0
    )
    batches = list(ld)
    assert len(batches) == len(ld) == 10
    x, y = collect(batches)
    assert x.dtype == np.float32 and float(x.max()) <= 1.0
    ref = dict(keys(images, labels))
    got = keys(np.rint(x * 255).astype(np.uint8), y)
    assert sum(got.values()) == N and all(k in ref for k in got)


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_mid_epoch_continues_without_repeats_or_gaps(
    fm: tuple[str, np.ndarray, np.ndarray], workers: int
) -> None:
    data, _, _ = fm
    full = list(loader(data, seed=3, prefetch=0, shuffle_buffer=300, batch_size=48))
    ref_x, ref_y = collect(full)
    for stop in (1, 7, len(full) - 1):
        ld = loader(data, seed=3, prefetch=0, shuffle_buffer=300, batch_size=48)
        it = iter(ld)
        head = [next(it) for _ in range(stop)]
        head = [({k: np.array(v) for k, v in f.items()}, np.array(y)) for f, y in head]
        state = json.loads(json.dumps(ld.state_dict()))
        ld.close()
        resumed = loader(data, seed=0, num_workers=workers, shuffle_buffer=300, batch_size=48)
        resumed.load_state_dict(state)
        x, y = collect(head + list(resumed))
        assert np.array_equal(y, ref_y) and np.array_equal(x, ref_x), f"stopped after {stop}"
        assert resumed.epoch == 1 and resumed.state_dict()["batch"] == 0
        resumed.close()


def test_state_must_fit_the_loader(fm: tuple[str, np.ndarray, np.ndarray]) -> None:
    data, _, _ = fm
    state = loader(data, prefetch=0).state_dict()
    with pytest.raises(LoaderError, match="batch_size: saved 64, now 32"):
        loader(data, prefetch=0, batch_size=32).load_state_dict(state)


@pytest.mark.parametrize(("shards", "parts"), [(4, 2), (4, 3), (2, 6)])
def test_rank_times_worker_parts_cover_every_record_once(
    tmp_path: object, shards: int, parts: int
) -> None:
    images, labels = fmnist_arrays(300, seed=5)
    folder = os.path.join(str(tmp_path), "d")
    from pathlib import Path

    write_fmnist(Path(folder), images, labels, shards=shards)
    total: list[tuple[np.ndarray, np.ndarray]] = []
    for part in range(parts):
        ld = loader(folder, rank=part, world_size=parts, prefetch=0, batch_size=16)
        got = collect(ld)
        assert len(got[1]) == ld.num_records
        total.append(got)
    x = np.concatenate([t[0] for t in total])
    y = np.concatenate([t[1] for t in total])
    assert keys(x, y) == keys(images, labels)


def test_damaged_shard_names_file_and_offset_or_is_salvaged(tmp_path: object) -> None:
    from pathlib import Path

    from recordio import CorruptRecordError

    images, labels = fmnist_arrays(60, seed=2)
    paths = write_fmnist(Path(str(tmp_path)), images, labels, shards=2, compression="NONE")
    raw = bytearray(Path(paths[1]).read_bytes())
    size = 12 + int.from_bytes(raw[:8], "little") + 4  # records are equal-sized
    raw[3 * size + 100] ^= 0xFF  # inside the 4th record's data: its data CRC fails
    Path(paths[1]).write_bytes(bytes(raw))
    with pytest.raises(CorruptRecordError) as caught:
        list(loader(str(tmp_path), prefetch=0))
    err = caught.value
    assert err.path == paths[1] and err.offset == 3 * size and err.index == 3
    assert paths[1] in str(err) and f"byte {3 * size}" in str(err)

    ld = loader(str(tmp_path), salvage=True, num_workers=1)
    x, y = collect(ld)
    lost = images[1::2][3], labels[1::2][3]
    want = keys(images, labels)
    want[(int(lost[1]), lost[0].tobytes())] -= 1
    assert keys(x, y) == +want
    assert len(ld.damage) == 1 and ld.damage[0].offset == 3 * size
    ld.close()


def test_decoder_falls_back_per_record_and_matches_recordio() -> None:
    from recordio.example import decode_example, encode_example

    rows = [
        {"a": [1.5, -2.0, 3.25], "n": 5, "s": b"xy", "v": [1, 2, 3]},
        {"a": [0.0, 1.0, 2.0], "n": 300, "s": b"zz", "v": []},  # 2-byte varint: new layout
        {"a": [9.0, 8.0, 7.0], "n": -7, "s": b"q", "v": [-1, 1 << 40]},  # 10-byte varint
        {"a": [1.0, 1.0, 1.0], "n": 6, "s": b"ab", "v": [4, 5, 6]},
    ] * 3
    records = [encode_example(r) for r in rows]
    spec = {
        "a": FeatureSpec("a", "float32", (3,)),
        "n": FeatureSpec("n", "int64", ()),
        "s": FeatureSpec("s", "bytes", ()),
        "v": FeatureSpec("v", "int64", None),
    }
    out = ExampleDecoder(make_fields(spec, list(spec))).decode(records)
    for i, record in enumerate(records):
        ref = decode_example(record, numpy=True)
        assert np.array_equal(out["a"][i], ref["a"])
        assert out["n"][i] == ref["n"][0] and out["s"][i] == ref["s"][0]
        assert out["v"][i][: ref["v"].size].tolist() == ref["v"].tolist()
        assert not out["v"][i][ref["v"].size :].any()
    bad = encode_example({"a": [1.0, 2.0], "n": 1, "s": b"", "v": [1]})
    with pytest.raises(RecordSpecError, match=r"f\.tfrecord: record 9: feature 'a' holds 2 values"):
        ExampleDecoder(make_fields(spec, list(spec))).decode(
            [*records[:4], bad], where=lambda i: ("f.tfrecord", 5 + i)
        )


def test_ragged_features_are_padded_per_batch(tmp_path: object) -> None:
    from recordio import write_records
    from recordio.example import encode_example

    path = os.path.join(str(tmp_path), "r.tfrecord")
    rows = [{"tokens": list(range(i % 5)), "label": i} for i in range(40)]
    write_records(path, [encode_example(r) for r in rows])
    ld = NumpyLoader(
        path,
        label="label",
        batch_size=8,
        order=OrderOptions(shuffle=False, lanes=1),
        workers=WorkerOptions(prefetch=0),
    )
    assert ld.spec["tokens"].shape is None
    batches = list(ld)
    first = batches[0][0]["tokens"]
    assert (
        first.shape == (8, 4)
        and first[4].tolist() == [0, 1, 2, 3]
        and first[1].tolist() == [0, 0, 0, 0]
    )
    fixed = NumpyLoader(
        path,
        label="label",
        batch_size=8,
        order=OrderOptions(shuffle=False, lanes=1),
        workers=WorkerOptions(prefetch=2),
        decode=DecodeOptions(pad={"tokens": 2}),
    )
    assert next(iter(fixed))[0]["tokens"][3].tolist() == [0, 1]
    fixed.close()


def test_options_are_checked_with_clear_errors(
    fm: tuple[str, np.ndarray, np.ndarray], tmp_path: object
) -> None:
    data = fm[0]
    with pytest.raises(
        LoaderError, match=r"label 'lbl' is not a feature of the data \(features: image, label\)"
    ):
        NumpyLoader(data, label="lbl")
    with pytest.raises(LoaderError, match="unknown feature 'pixels'"):
        NumpyLoader(data, label="label", features=["pixels"])
    with pytest.raises(LoaderError, match="no file matches this pattern"):
        NumpyLoader(os.path.join(str(tmp_path), "*.tfrecord.gz"), label="label")
    with pytest.raises(LoaderError, match="batch_size must be an integer >= 1"):
        NumpyLoader(data, label="label", batch_size=0)
    with pytest.raises(LoaderError, match="rank must be in 0..1"):
        NumpyLoader(data, label="label", order=OrderOptions(rank=2, world_size=2))
    with pytest.raises(LoaderError, match="to_float32.*add it to decode_bytes first"):
        NumpyLoader(data, label="label", decode=DecodeOptions(to_float32={"image": 1.0}))
    assert issubclass(LoaderError, PipelineError)


def test_files_and_splits_of_a_job_folder(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    images, labels = fmnist_arrays(20)
    write_fmnist(root / "data", images, labels, 2, prefix="train")
    write_fmnist(root / "data", images[:5], labels[:5], 1, prefix="eval")
    (root / "schema.json").write_text("{}")
    assert [os.path.basename(p) for p in resolve_files(str(root))] == [
        "train-00000-of-00002.tfrecord.gz",
        "train-00001-of-00002.tfrecord.gz",
    ]
    assert len(resolve_files(str(root), split="eval")) == 1
    with pytest.raises(LoaderError, match="no TFRecord files of split 'test'"):
        resolve_files(str(root), split="test")
    assert (
        len(
            NumpyLoader(
                str(root),
                label="label",
                split="eval",
                batch_size=1,
                workers=WorkerOptions(prefetch=0),
            )
        )
        == 5
    )


def test_schema_text_and_json_sidecars(tmp_path: object) -> None:
    text = """
    feature { name: "color" type: INT int_domain { min: 0 max: 3 is_categorical: true }
              presence { min_fraction: 1.0 } shape { } }
    feature { name: "emb" type: FLOAT shape { dim { size: 4 } } }
    feature { name: "tags" type: BYTES }  # no shape: variable length
    """
    assert spec_from_schema_text(text) == {
        "color": FeatureSpec("color", "int64", ()),
        "emb": FeatureSpec("emb", "float32", (4,)),
        "tags": FeatureSpec("tags", "bytes", None),
    }
    folder = os.path.join(str(tmp_path), "job")
    os.makedirs(folder)
    with open(os.path.join(folder, "schema.json"), "w") as handle:
        json.dump({"columns": [{"name": "x", "type": "float"}, {"name": "s", "type": "string",
                               "required": False}], "label": "x"}, handle)  # fmt: skip
    assert load_spec(folder) == {
        "x": FeatureSpec("x", "float32", ()),
        "s": FeatureSpec("s", "bytes", None),
    }


@pytest.mark.parametrize("kind", ["shm", "memfd"])
def test_worker_memory_kinds_give_the_same_batches(
    fm: tuple[str, np.ndarray, np.ndarray], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """memfd segments stand in for /dev/shm when it is too small (containers)."""
    monkeypatch.setenv("RECIO_LOADER_SHM", kind)
    data = fm[0]
    with loader(data, seed=5, num_workers=2, batch_size=200) as ld:
        got = collect(ld)
        assert ld._holder["backend"].ring.kind == kind
    want = collect(loader(data, seed=5, prefetch=0, batch_size=200))
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_close_after_an_early_break_lets_workers_exit_by_themselves(tmp_path: object) -> None:
    """Workers that made batches nobody took (bytes fields travel by queue) still exit cleanly
    when the loader closes, instead of blocking on their unread results until killed."""
    import time

    from recordio import write_records
    from recordio.example import encode_example

    path = os.path.join(str(tmp_path), "blobs.tfrecord")
    write_records(path, [encode_example({"blob": bytes(2000), "label": i}) for i in range(4000)])
    ld = NumpyLoader(
        path, label="label", batch_size=256, workers=WorkerOptions(num_workers=2, prefetch=4)
    )
    for _ in ld:
        time.sleep(0.5)  # the workers fill the prefetch slots meanwhile
        break
    procs = list(ld._holder["backend"]._procs)
    ld.close()
    assert [p.exitcode for p in procs] == [0, 0]  # not terminated (-15)


def test_fixed_bytes_feature_is_bytes_on_the_generic_path_too(tmp_path: object) -> None:
    """Records of many lengths (a ride-along PNG) go through the generic decoder one by one;
    a one-value bytes feature must still come back as bytes, not as 0-d arrays."""
    from recordio import encode_example, write_records

    path = os.path.join(str(tmp_path), "mixed.tfrecord")
    pixels = [bytes([i]) * 16 for i in range(40)]
    write_records(
        path,
        [
            encode_example({"image": p, "extra": b"x" * i, "label": i % 2})
            for i, p in enumerate(pixels)
        ],
    )
    loader = NumpyLoader(path, label="label", features=["image"], batch_size=40)
    batches = [batch["image"].reshape(-1).tolist() for batch, _ in loader]
    assert [type(v) for v in batches[0]] == [bytes] * 40
    assert sorted(batches[0]) == sorted(pixels)
