"""return_lengths for padded features, and pad on bytes features (across lanes and workers)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pipeline.loaders import (
    DecodeOptions,
    LoaderOptionError,
    NumpyLoader,
    OrderOptions,
    WorkerOptions,
)


@pytest.fixture(scope="module")
def ragged(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, object]]]:
    from recordio import write_records
    from recordio.example import encode_example

    folder = str(tmp_path_factory.mktemp("ragged"))
    rows: list[dict[str, object]] = [
        {
            "tokens": [i + 1] * (i % 5),
            "tags": [f"t{i}-{j}".encode() for j in range(i % 4)],
            "label": i,
        }
        for i in range(120)
    ]
    for s in range(3):
        write_records(
            os.path.join(folder, f"r-{s}.tfrecord"), [encode_example(r) for r in rows[s::3]]
        )
    return folder, rows


@pytest.mark.parametrize("workers", [0, 2])
def test_lengths_and_bytes_padding_across_lanes(
    ragged: tuple[str, list[dict[str, object]]], workers: int
) -> None:
    folder, rows = ragged
    ld = NumpyLoader(
        folder,
        label="label",
        batch_size=32,
        order=OrderOptions(lanes=3, shuffle_buffer=16),
        decode=DecodeOptions(pad={"tags": 2}, return_lengths=True),
        workers=WorkerOptions(num_workers=workers),
    )
    seen = 0
    with ld:
        for features, label in ld:
            assert set(features) == {"tokens", "tags", "tokens__length", "tags__length"}
            tags, tokens = features["tags"], features["tokens"]
            assert tags.shape == (len(label), 2) and tags.dtype == object
            assert tokens.shape[1] == features["tokens__length"].max()
            for i, lab in enumerate(label.tolist()):
                row = rows[lab]
                want_tags = list(row["tags"])[:2]  # type: ignore[call-overload]
                n = features["tags__length"][i]
                assert n == len(want_tags)
                assert tags[i, :n].tolist() == want_tags and (tags[i, n:] == b"").all()
                m = features["tokens__length"][i]
                assert m == len(row["tokens"])  # type: ignore[arg-type]
                mask = np.arange(tokens.shape[1]) < m
                assert (tokens[i][mask] == lab + 1).all() and (tokens[i][~mask] == 0).all()
                seen += 1
    assert seen == len(rows)


def test_length_key_must_not_clash(tmp_path: object) -> None:
    from recordio import write_records
    from recordio.example import encode_example

    path = os.path.join(str(tmp_path), "c.tfrecord")
    rows = [{"a": [1] * (1 + i % 2), "a__length": 1 + i % 2, "label": 0} for i in range(4)]
    write_records(path, [encode_example(r) for r in rows])
    with pytest.raises(LoaderOptionError, match="'a__length' is already a loaded feature"):
        NumpyLoader(path, label="label", decode=DecodeOptions(return_lengths=True))
