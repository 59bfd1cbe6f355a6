"""Real images that ship inside scikit-learn: the 1,797 handwritten digits and two photographs.

`load_digits` holds 8x8 greyscale digits (values 0-16) scanned from 43 writers; they are scaled
to Fashion-MNIST's shape (28x28 uint8, the digit in a 24x24 box with a 2-pixel margin) so the
book's MLP and CNN take them unchanged. `load_sample_images` holds china.jpg and flower.jpg
(427x640 RGB), the photographs of chapter 14. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recio.demo.errors import DemoError
from recordio import ShardedWriter, encode_example, shard_names

SIDE = 28  # Fashion-MNIST's height and width
BOX = 24  # the scaled digit's box inside the 28x28 frame
DIGIT_FEATURES = ("key", "label", "image", "png")


def _sklearn_datasets():  # type: ignore[no-untyped-def]
    try:
        from sklearn import datasets
    except ImportError:
        raise DemoError(
            "the demo's real images ship with scikit-learn, which is not installed; "
            "run: pip install 'recio[demo]'"
        ) from None
    return datasets


def digit_images(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels int64 [N]): scikit-learn's digits at Fashion-MNIST size.

    Each 8x8 digit is resized with bicubic interpolation to 24x24 and centred; 0-16 becomes 0-255.
    `limit` keeps the first N (the order scikit-learn ships, which mixes writers and classes).
    """
    from PIL import Image

    digits = _sklearn_datasets().load_digits()
    images, labels = digits.images, digits.target
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    out = np.zeros((len(images), SIDE, SIDE), dtype=np.uint8)
    margin = (SIDE - BOX) // 2
    for i, small in enumerate(images):
        grey = Image.fromarray((small * (255.0 / 16.0)).astype(np.float32), mode="F")
        big = np.asarray(grey.resize((BOX, BOX), Image.Resampling.BICUBIC))
        out[i, margin : margin + BOX, margin : margin + BOX] = np.clip(np.round(big), 0, 255)
    return out, labels.astype(np.int64)


def png_bytes(image: np.ndarray) -> bytes:
    """One image (H x W grey or H x W x 3 RGB uint8) as PNG file bytes."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(slots=True)
class DigitShards:
    """What `write_digit_shards` wrote."""

    files: list[str]
    records: int
    per_class: list[int]
    digest: str  # sha256 over the records in write order

    @property
    def file_bytes(self) -> int:
        return sum(os.path.getsize(name) for name in self.files)


def write_digit_shards(prefix: str, shards: int = 4, limit: int | None = None) -> DigitShards:
    """Write the digits as sharded GZIP Examples, dealt round-robin (record i -> shard i % n).

    Each Example holds key (the digit's index), label (0-9), image (784 raw uint8 pixels, what
    the models read) and png (the same pixels PNG-encoded, what the augment job reads).
    """
    images, labels = digit_images(limit)
    os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
    names = shard_names(prefix, shards)
    digest = hashlib.sha256()
    # A set published whole: its shards, then its manifest (verify checks the set).
    with ShardedWriter(prefix, shards, "GZIP", overwrite=True) as writer:
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            record = encode_example(
                {"key": i, "label": int(label), "image": image.tobytes(), "png": png_bytes(image)}
            )
            digest.update(record)
            writer.write(record)  # round-robin: record i -> shard i % shards
    per_class = np.bincount(labels, minlength=10).tolist()
    return DigitShards(names, len(images), per_class, digest.hexdigest())


PHOTOS = ("china", "flower")


def write_photo_folder(folder: str | os.PathLike[str]) -> list[Path]:
    """Copy scikit-learn's china.jpg and flower.jpg into folder/<name>/<name>.jpg (one class each,
    the layout the augment job reads) and return their paths."""
    datasets = _sklearn_datasets()
    source = Path(datasets.__file__).parent / "images"
    copied = []
    for name in PHOTOS:
        original = source / f"{name}.jpg"
        if not original.is_file():
            raise DemoError(f"{original}: scikit-learn's sample photograph is missing")
        target = Path(folder) / name / f"{name}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, target)
        copied.append(target)
    return copied


__all__ = [
    "DIGIT_FEATURES",
    "PHOTOS",
    "DigitShards",
    "digit_images",
    "png_bytes",
    "write_digit_shards",
    "write_photo_folder",
]
