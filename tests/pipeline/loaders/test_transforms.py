"""transform= in the workers: same batches for any num_workers and after a resume; ready ones."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pipeline.loaders import (
    DecodeOptions,
    LoaderOptionError,
    NumpyLoader,
    WorkerOptions,
)
from pipeline.loaders._plan import rng
from pipeline.loaders.transforms import Compose, ImageAugment, Standardize, crop_and_resize
from pipeline.options import AugmentOptions
from tests.pipeline.loaders.loader_data import fmnist_arrays, with_noise, write_fmnist

N = 600
RAW = {"image": ("uint8", (28, 28))}
AUG = Compose(ImageAugment("image"), with_noise)


@pytest.fixture(scope="module")
def fm(tmp_path_factory: pytest.TempPathFactory) -> str:
    images, labels = fmnist_arrays(N, seed=3)
    folder = tmp_path_factory.mktemp("fmt")
    write_fmnist(folder, images, labels, shards=3)
    return str(folder)


def make(data: str, workers: int, **kw: object) -> NumpyLoader:
    return NumpyLoader(
        data,
        label="label",
        batch_size=50,
        decode=DecodeOptions(decode_bytes=RAW),
        workers=WorkerOptions(num_workers=workers, prefetch=kw.pop("prefetch", 2)),  # type: ignore[arg-type]
        transform=kw.pop("transform", AUG),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def flat(batches: list[tuple[dict[str, np.ndarray], np.ndarray]]) -> dict[str, np.ndarray]:
    out = {k: np.concatenate([np.array(b[0][k]) for b in batches]) for k in batches[0][0]}
    out["label"] = np.concatenate([np.array(b[1]) for b in batches])
    return out


def test_transform_output_does_not_depend_on_num_workers_and_changes_each_epoch(fm: str) -> None:
    runs = []
    for workers in (0, 1, 2):
        with make(fm, workers, prefetch=0 if workers == 0 else 2) as ld:
            runs.append(flat(list(ld)))
            if workers == 0:
                second = flat(list(ld))
    plain = flat(list(make(fm, 0, transform=None)))
    for run in runs[1:]:
        for k in runs[0]:
            np.testing.assert_array_equal(run[k], runs[0][k], err_msg=k)
    first = runs[0]
    assert first["image"].dtype == np.uint8 and first["image"].shape == (N, 28, 28)
    assert first["noise"].shape == (N,) and first["noise"].std() > 0.5
    np.testing.assert_array_equal(first["label"], plain["label"])  # same order, new pixels
    changed = (first["image"] != plain["image"]).any(axis=(1, 2)).mean()
    assert changed > 0.9
    assert not np.array_equal(second["noise"], first["noise"])  # epoch 1 draws anew


def test_transform_is_exact_after_resume(fm: str) -> None:
    with make(fm, 2) as full:
        everything = list(full)
        whole = flat(everything)
    with make(fm, 2) as ld:
        it = iter(ld)
        head = [next(it) for _ in range(4)]
        state = json.loads(json.dumps(ld.state_dict()))
        del it, head
    with make(fm, 1) as again:
        again.load_state_dict(state)
        rest = flat(list(again))
    for k in rest:
        np.testing.assert_array_equal(rest[k], whole[k][4 * 50 :], err_msg=k)


def test_transform_must_pickle_keep_rows_and_return_the_label(fm: str) -> None:
    with pytest.raises(LoaderOptionError, match="top level"):
        make(fm, 2, transform=lambda b, r: b)
    with pytest.raises(LoaderOptionError, match="label"):
        make(fm, 0, transform=lambda b, r: {"image": b["image"]})
    with pytest.raises(Exception, match="rows"):
        make(fm, 0, transform=lambda b, r: {**b, "image": b["image"][:1]})
    with pytest.raises(LoaderOptionError, match="rotate"):
        ImageAugment("image", AugmentOptions())


def test_standardize_from_a_transform_jobs_statistics(fm: str, tmp_path: object) -> None:
    folder = os.path.join(str(tmp_path), "job")
    os.makedirs(folder)
    stats = {"stats": {"analyzers": {"label": {"mean": 4.5, "var": 4.0, "std": 2.0}}}}
    with open(os.path.join(folder, "recio_job.json"), "w") as f:
        json.dump(stats, f)
    std = Standardize.from_job(folder, ["label"])
    assert std.stats == {"label": (4.5, 2.0)}
    ld = make(fm, 0, transform=std)
    features, label = next(iter(ld))
    plain = next(iter(make(fm, 0, transform=None)))[1]
    assert label.dtype == np.float32
    np.testing.assert_allclose(label, (plain - 4.5) / 2.0)
    with pytest.raises(Exception, match="no mean and std"):
        Standardize.from_job(folder, ["image"])


@pytest.mark.requires_tf
def test_crop_and_resize_matches_tensorflow() -> None:
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    x = rng.random((3, 28, 28, 1), dtype=np.float32)
    top, left = np.array([0, 2, 4]), np.array([4, 0, 3])
    ours = crop_and_resize(x, top, left, (24, 24))
    for i in range(3):
        window = x[i, top[i] : top[i] + 24, left[i] : left[i] + 24]
        theirs = tf.image.resize(window, (28, 28), method="bilinear").numpy()
        np.testing.assert_allclose(ours[i], theirs, atol=1e-5)


def test_image_augment_flips_on_a_fixed_draw() -> None:
    img = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    only_flip = ImageAugment(
        "image", AugmentOptions(crop=False, rotate=False, brightness=False, contrast=False)
    )
    out = only_flip({"image": img}, np.random.default_rng(1))["image"]
    flips = np.random.default_rng(1).random(2) < 0.5
    for i in range(2):
        np.testing.assert_array_equal(out[i], img[i, :, ::-1] if flips[i] else img[i])


def test_the_loaders_generators_are_the_seed_sequence_of_their_key() -> None:
    """rng(*key) hands SeedSequence 32-bit words: the generator of the key as a list of ints."""
    edges = [0, 1, 2**32 - 1, 2**32, 2**32 + 7, 2**48 - 1, 2**48, 2**48 + 5, 2**64 + 3]
    keys = [(a, b) for a in edges for b in edges] + [tuple(range(7)), (0x7A4E, 3, 1, 0, 2, 99)]
    for key in keys:
        listed = [k & 0xFFFFFFFFFFFF for k in key]
        reference = np.random.Generator(np.random.PCG64(np.random.SeedSequence(listed)))
        ours = rng(*key).integers(0, 2**62, 8)
        np.testing.assert_array_equal(ours, reference.integers(0, 2**62, 8), err_msg=str(key))
