"""Generated inputs for demos, tests and benchmarks: the project never downloads data.

`write_people_csv` writes a CSV shaped like the book's tabular examples (an id, two numeric
features, one category, a binary label); `write_shape_images` writes a small folder of PNG
images whose class is the subfolder name. Both are deterministic for a given seed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

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
            {"name": "id", "type": "int"},
            {"name": "age", "type": "float", "transform": "z_score"},
            {"name": "income", "type": "float", "transform": "min_max"},
            {
                "name": "color",
                "type": "string",
                "transform": {"name": "vocabulary", "num_oov_buckets": 1},
            },
            {"name": "label", "type": "int"},
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


def write_shape_images(
    folder: str | os.PathLike[str], per_class: int, *, size: int = 32, seed: int = 0
) -> Path:
    """Write `per_class` PNG images into folder/<class>/<class>_NNNN.png for each shape class."""
    from pipeline.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()  # a job's inputs are resolved before it imports TF itself
    import tensorflow as tf

    root = Path(folder)
    rng = np.random.default_rng(seed)
    for kind in SHAPE_CLASSES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            png = tf.io.encode_png(shape_image(kind, size, rng)).numpy()
            target = root / kind / f"{kind}_{index:04d}.png"
            temp = target.with_name(f".{target.name}.tmp")
            temp.write_bytes(png)
            os.replace(temp, target)
    return root


BUILTIN_PREFIX = "builtin:"
_DEFAULT_SIZES = {"people": 1000, "shapes": 20}


def resolve_builtin(inputs: tuple[str, ...], workdir: str) -> tuple[tuple[str, ...], str | None]:
    """Replace `builtin:people[:ROWS]` / `builtin:shapes[:PER_CLASS]` inputs by generated files.

    Files are written under `workdir`. Returns the new inputs and the name of the built-in
    dataset used (None when all inputs are the user's).
    """
    resolved: list[str] = []
    used = None
    for item in inputs:
        if not item.startswith(BUILTIN_PREFIX):
            resolved.append(item)
            continue
        name, _, size_text = item[len(BUILTIN_PREFIX) :].partition(":")
        if name not in _DEFAULT_SIZES:
            from pipeline.errors import InputError

            raise InputError(
                f"{item}: unknown built-in dataset; use builtin:people[:ROWS] (CSV) "
                "or builtin:shapes[:IMAGES_PER_CLASS] (PNG folder)"
            )
        try:
            size = int(size_text) if size_text else _DEFAULT_SIZES[name]
        except ValueError:
            size = -1
        if size < 0:
            from pipeline.errors import InputError

            raise InputError(f"{item}: the size after the second ':' must be a whole number >= 0")
        if name == "people":
            resolved.append(str(write_people_csv(Path(workdir) / "people.csv", size)))
        else:
            resolved.append(str(write_shape_images(Path(workdir) / "shapes", size)))
        used = name
    return tuple(resolved), used
