"""Generated inputs for the demo, tests and benchmarks: nothing is downloaded.

`fashion_like` makes Fashion-MNIST-shaped images (a class-dependent elliptic blob on a dark
background, 28x28 uint8, label 0-9) and `write_fashion_shards` writes them as sharded GZIP
Examples; `write_people_csv` writes a CSV shaped like the book's tabular examples (an id, two
numeric features, one category, a binary label); `write_shape_images` writes a small folder of
PNG images whose class is the subfolder name. All are deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from recordio import ShardedWriter, encode_example, shard_names


def fashion_like(count: int, seed: int = 42) -> Iterator[tuple[bytes, int]]:
    """(784 image bytes, label) pairs; the label decides the blob's shape, so it is learnable."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    for _ in range(count):
        label = int(rng.integers(0, 10))
        cy, cx = 14 + rng.normal(0, 1.5, size=2)
        ry = 4 + (label % 5) * 2 + rng.normal(0, 0.5)
        rx = 4 + (label // 5) * 5 + rng.normal(0, 0.5)
        blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
        image = blob * rng.integers(120, 255) + rng.integers(0, 30, size=(28, 28))
        yield np.clip(image, 0, 255).astype(np.uint8).tobytes(), label


def write_fashion_shards(
    prefix: str, count: int = 10_000, shards: int = 4, seed: int = 42
) -> tuple[list[str], str]:
    """Write the built-in data set; returns the files and a digest of the records written."""
    names = shard_names(prefix, shards)
    digest = hashlib.sha256()
    # A set published whole: its shards, then its manifest (verify checks the set).
    with ShardedWriter(prefix, shards, "GZIP", overwrite=True) as writer:
        for image, label in fashion_like(count, seed):
            record = encode_example({"image": image, "label": label})
            digest.update(record)
            writer.write(record)  # round-robin: record i -> shard i % shards
    return names, digest.hexdigest()


PEOPLE_COLUMNS = ("id", "age", "income", "color", "label")
PEOPLE_COLORS = ("red", "green", "blue", "yellow", "purple")
SHAPE_CLASSES = ("circle", "square", "stripes")


def write_people_csv(
    path: str | os.PathLike[str], rows: int, *, seed: int = 0, chunk_rows: int = 200_000
) -> Path:
    """Write `rows` rows of id,age,income,color,label (with a header) and return the path.

    age is Gaussian (mean 40, sd 12, one decimal), income uniform in [20000, 200000) with two
    decimals, color one of five names with unequal frequencies, label 0/1 correlated with
    age and income. Written in chunks, so a million rows need little memory.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    probabilities = np.array([0.35, 0.25, 0.2, 0.15, 0.05])
    colors = np.array(PEOPLE_COLORS)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    with open(temp, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(PEOPLE_COLUMNS) + "\n")
        for start in range(0, rows, chunk_rows):
            n = min(chunk_rows, rows - start)
            ids = np.arange(start, start + n)
            age = np.round(rng.normal(40.0, 12.0, n), 1)
            income = np.round(rng.uniform(20_000.0, 200_000.0, n), 2)
            color = colors[rng.choice(len(colors), size=n, p=probabilities)]
            score = (age - 40.0) / 12.0 + (income - 110_000.0) / 52_000.0 + rng.normal(0, 1, n)
            label = (score > 0).astype(np.int64)
            lines = [
                f"{i},{a:.1f},{m:.2f},{c},{y}"
                for i, a, m, c, y in zip(
                    ids.tolist(),
                    age.tolist(),
                    income.tolist(),
                    color.tolist(),
                    label.tolist(),
                    strict=True,
                )
            ]
            if lines:
                out.write("\n".join(lines) + "\n")
    os.replace(temp, target)
    return target


def people_schema_dict() -> dict:
    """The schema file (as a dict) that goes with `write_people_csv`, with typical transforms."""
    return {
        "columns": [
            {"name": "id", "type": "int64"},
            {"name": "age", "type": "float", "transform": "z_score"},
            {"name": "income", "type": "float", "transform": "min_max"},
            {
                "name": "color",
                "type": "bytes",
                "transform": {"name": "vocabulary", "num_oov_buckets": 1},
            },
            {"name": "label", "type": "int64"},
        ],
        "label": "label",
        "key": "id",
    }


def shape_image(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One uint8 RGB image of a coloured circle, square or set of stripes on a noisy background."""
    yy, xx = np.mgrid[0:size, 0:size]
    image = rng.integers(0, 40, size=(size, size, 3), dtype=np.int64)
    color = rng.integers(120, 256, size=3)
    cy, cx = rng.integers(size // 4, 3 * size // 4, size=2)
    radius = rng.integers(size // 6, size // 3)
    if kind == "circle":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    elif kind == "square":
        mask = (np.abs(yy - cy) <= radius) & (np.abs(xx - cx) <= radius)
    elif kind == "stripes":
        mask = ((xx + yy) // max(2, size // 8)) % 2 == 0
    else:
        raise ValueError(f"unknown shape {kind!r}; use one of {', '.join(SHAPE_CLASSES)}")
    image[mask] = color
    return image.astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    """A PNG file of an HxW (grey) or HxWx3 (RGB) uint8 image: enough PNG for demo data."""
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = pixels.shape[:2]
    color = 2 if pixels.ndim == 3 else 0
    rows = pixels.reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def write_shape_images(
    folder: str | os.PathLike[str], per_class: int, *, size: int = 32, seed: int = 0
) -> Path:
    """Write `per_class` PNG images into folder/<class>/<class>_NNNN.png for each shape class."""
    root = Path(folder)
    rng = np.random.default_rng(seed)
    for kind in SHAPE_CLASSES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            png = encode_png(shape_image(kind, size, rng))
            target = root / kind / f"{kind}_{index:04d}.png"
            temp = target.with_name(f".{target.name}.tmp")
            temp.write_bytes(png)
            os.replace(temp, target)
    return root
