"""NumpyLoader over equal parts (rank x worker at record level) and with a global shuffle."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.loaders import NumpyLoader, OrderOptions, WorkerOptions

# The 7 shards (1200/300/950/17/1500/33/1000 records), a tenth the size.
COUNTS = (120, 30, 95, 2, 150, 3, 100)


@pytest.fixture(scope="module")
def uneven(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    from recordio import TFRecordWriter
    from recordio.example import encode_example

    folder = tmp_path_factory.mktemp("uneven")
    n = 0
    for i, count in enumerate(COUNTS):
        name = folder / f"part-{i:05d}-of-{len(COUNTS):05d}.tfrecord"
        with TFRecordWriter(str(name)) as writer:
            for _ in range(count):
                writer.write(encode_example({"id": n, "label": n % 3}))
                n += 1
    return str(folder), n


def ids(ld: NumpyLoader) -> list[int]:
    return [int(x) for batch, _ in ld for x in batch["id"]]


@pytest.mark.parametrize("world", [2, 3, 9])
def test_ranks_get_equal_parts(uneven: tuple[str, int], world: int) -> None:
    data, total = uneven
    seen: Counter[int] = Counter()
    steps = set()
    for rank in range(world):
        order = OrderOptions(rank=rank, world_size=world, seed=3)
        ld = NumpyLoader(data, label="label", batch_size=8, order=order,
                         workers=WorkerOptions(prefetch=0))  # fmt: skip
        got = ids(ld)
        assert len(got) == ld.num_records == total // world
        steps.add(len(ld))
        seen.update(got)
    assert len(steps) == 1  # every rank runs the same number of steps
    assert all(v == 1 for v in seen.values()) and len(seen) == total - total % world


def test_pad_repeats_records_to_fill_the_last_part(uneven: tuple[str, int]) -> None:
    data, total = uneven
    world = 4
    seen: Counter[int] = Counter()
    for rank in range(world):
        order = OrderOptions(rank=rank, world_size=world, remainder="pad", shuffle=False)
        ld = NumpyLoader(data, label="label", batch_size=16, order=order,
                         workers=WorkerOptions(prefetch=0))  # fmt: skip
        got = ids(ld)
        assert len(got) == -(-total // world)
        seen.update(got)
    assert set(seen) == set(range(total))
    assert sum(seen.values()) - total == -(-total // world) * world - total


@pytest.mark.requires_tf
def test_tf_dataset_reads_the_same_parts(uneven: tuple[str, int]) -> None:
    from pipeline.loaders import tf_dataset

    data, total = uneven
    world = 3
    for rank in range(world):
        ds = tf_dataset(data, label="label", batch_size=16, rank=rank, world_size=world, seed=1)
        got = sorted(int(x) for batch, _ in ds for x in batch["id"].numpy())
        order = OrderOptions(rank=rank, world_size=world)
        ld = NumpyLoader(data, label="label", batch_size=16, order=order,
                         workers=WorkerOptions(prefetch=0))  # fmt: skip
        assert got == sorted(ids(ld))
        assert len(got) == total // world


def test_a_manifest_reads_exactly_its_set(tmp_path: Path) -> None:
    from recordio.example import encode_example
    from recordio.shards import ShardedWriter

    with ShardedWriter(str(tmp_path / "s.tfrecord"), 3) as writer:
        writer.write_many(encode_example({"id": i, "label": 0}) for i in range(30))
    (tmp_path / "stray-00000-of-00001.tfrecord").write_bytes(b"")  # not in the set
    ld = NumpyLoader(str(tmp_path / "s.manifest.json"), label="label", batch_size=8,
                     workers=WorkerOptions(prefetch=0))  # fmt: skip
    assert ld.files == writer.names
    assert sorted(ids(ld)) == list(range(30))


def global_loader(data: str, num_workers: int = 0, **order: object) -> NumpyLoader:
    return NumpyLoader(
        data,
        label="label",
        batch_size=16,
        order=OrderOptions(global_shuffle=True, seed=5, **order),  # type: ignore[arg-type]
        workers=WorkerOptions(num_workers=num_workers, prefetch=2 if num_workers else 0),
    )


def test_global_shuffle_reads_each_record_once_per_epoch(uneven: tuple[str, int]) -> None:
    data, total = uneven
    ld = global_loader(data)
    first, second = ids(ld), ids(ld)
    assert sorted(first) == sorted(second) == list(range(total))
    assert first != second  # a new permutation each epoch
    # Records of all files mix from the first batch on (not file by file).
    ends = np.cumsum(COUNTS)
    assert len({int(np.searchsorted(ends, i, side="right")) for i in first[:16]}) >= 3
    # Equal parts, globally shuffled inside each part.
    parts = [ids(global_loader(data, rank=r, world_size=2)) for r in range(2)]
    assert len(parts[0]) == len(parts[1]) == total // 2
    assert not set(parts[0]) & set(parts[1])


def test_global_shuffle_order_does_not_depend_on_workers(uneven: tuple[str, int]) -> None:
    data, _ = uneven
    assert ids(global_loader(data)) == ids(global_loader(data, num_workers=2))


@pytest.mark.parametrize(("k", "workers"), [(1, 0), (7, 0), (5, 2)])
def test_global_shuffle_resumes_exactly(uneven: tuple[str, int], k: int, workers: int) -> None:
    data, _ = uneven
    whole = global_loader(data)
    ids(whole)  # epoch 0; epoch 1 is the one interrupted
    expected = ids(whole)
    ld = global_loader(data)
    ids(ld)
    it = iter(ld)
    head = [int(x) for _ in range(k) for x in next(it)[0]["id"]]
    state = ld.state_dict()
    ld.close()
    fresh = global_loader(data, num_workers=workers)
    fresh.load_state_dict(state)
    assert head + ids(fresh) == expected
    fresh.close()


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(st.integers(0, 40), min_size=1, max_size=6), parts=st.integers(1, 6),
       pieces=st.integers(1, 9), cut=st.booleans(),
       remainder=st.sampled_from(["drop", "pad", "uneven"]))  # fmt: skip
def test_units_cover_exactly_their_part(counts, parts, pieces, cut, remainder) -> None:
    from pipeline.loaders._plan import make_units
    from recordio.parts import equal_parts

    files = [f"f{i}" for i in range(len(counts))]
    for part in range(parts):
        units = make_units(files, counts, part, parts, remainder, pieces=pieces, cut=cut)
        spans = equal_parts(files, counts, parts, remainder=remainder)[part]  # type: ignore[arg-type]
        got = [(u.path, u.start + i) for u in units for i in range(u.count)]
        want = [(s.path, i) for s in spans for i in range(s.start, s.stop)]
        assert got == want
        assert all(u.count > 0 and u.stride == 1 for u in units)
