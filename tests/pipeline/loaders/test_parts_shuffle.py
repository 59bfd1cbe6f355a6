"""NumpyLoader over equal parts (rank x worker at record level) and with a global shuffle."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

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
