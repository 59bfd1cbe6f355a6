"""Equal parts: every record in exactly one part (drop/uneven), parts equal (drop/pad)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordio import OptionError
from recordio.parts import equal_parts, part_index, split_files

counts_st = st.lists(st.integers(0, 60), min_size=1, max_size=9)


def records_of(parts):
    return [[(s.file, i) for s in spans for i in range(s.start, s.stop)] for spans in parts]


@settings(max_examples=300, deadline=None)
@given(counts=counts_st, ranks=st.integers(1, 8), workers=st.integers(1, 4),
       remainder=st.sampled_from(["drop", "pad", "uneven"]))  # fmt: skip
def test_parts_cover_the_records(counts, ranks, workers, remainder) -> None:
    paths = [f"f{i}" for i in range(len(counts))]
    total = sum(counts)
    parts = ranks * workers
    split = equal_parts(paths, counts, parts, remainder=remainder)
    got = records_of(split)
    sizes = [len(p) for p in got]
    every = [(f, i) for f, c in enumerate(counts) for i in range(c)]
    seen = Counter(r for p in got for r in p)
    for spans in split:  # spans are well formed and name their file
        assert all(0 <= s.start < s.stop <= counts[s.file] and s.path == paths[s.file]
                   for s in spans)  # fmt: skip
    if remainder == "drop":
        assert sizes == [total // parts] * parts
        assert all(n == 1 for n in seen.values()) and set(seen) <= set(every)
        assert len(seen) == total - total % parts
    elif remainder == "pad":
        assert sizes == [-(-total // parts)] * parts
        assert set(seen) == set(every)
        assert max(seen.values(), default=1) <= 1 + -(-parts // max(total, 1))
    else:
        assert sorted(seen) == every and all(n == 1 for n in seen.values())
        assert max(sizes) - min(sizes) <= 1
    # Deterministic, and each worker of each rank computes its own part alone.
    for rank in range(ranks):
        for worker in range(workers):
            mine = split_files(paths, counts, rank=rank, world_size=ranks, worker=worker,
                               num_workers=workers, remainder=remainder)  # fmt: skip
            assert mine == split[rank * workers + worker]


def test_the_issue_example_is_balanced() -> None:
    counts = [1200, 300, 950, 17, 1500, 33, 1000]
    paths = [f"s{i}" for i in range(7)]
    for world in (2, 9):
        sizes = [sum(s.count for s in p) for p in equal_parts(paths, counts, world)]
        assert sizes == [sum(counts) // world] * world


def test_bad_options() -> None:
    with pytest.raises(OptionError, match="rank"):
        part_index(2, 2)
    with pytest.raises(OptionError, match="remainder"):
        equal_parts(["a"], [3], 2, remainder="nope")  # type: ignore[arg-type]
