"""The picture of the augment job's work: each image beside its augmented copies, as one PNG."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recordio import decode_example, read_records


def augmented_images(files: Sequence[str]) -> dict[str, dict[int, np.ndarray]]:
    """{key: {copy: pixels}} from the augment job's Examples (copy 0 is the original)."""
    from PIL import Image

    found: dict[str, dict[int, np.ndarray]] = {}
    for path in files:
        for record in read_records(path):
            example = decode_example(record)
            key = example["key"][0]
            name = key.decode() if isinstance(key, bytes) else str(key)
            png = Image.open(io.BytesIO(example["image"][0]))
            found.setdefault(name, {})[int(example["copy"][0])] = np.asarray(png)
    return found


def save_grid(
    photos: dict[str, dict[int, np.ndarray]],
    digits: dict[str, dict[int, np.ndarray]],
    path: Path,
    *,
    digit_rows: int = 2,
    digits_per_row: int = 3,
) -> Path:
    """Photographs on top (one row each), digits below (several per row), original first."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    copies = max((len(c) for c in [*photos.values(), *digits.values()]), default=1)
    chosen = sorted(digits, key=lambda k: int(k) if k.isdigit() else k)
    chosen = chosen[: digit_rows * digits_per_row]
    figure = plt.figure(
        figsize=(1.3 * copies * digits_per_row, 2.0 * len(photos) + 1.4 * digit_rows)
    )
    top, bottom = figure.subfigures(
        2, 1, height_ratios=[2.0 * max(len(photos), 1), 1.4 * digit_rows]
    )
    top.suptitle("recio job augment: original, then augmented copies", fontsize=10)
    axes = top.subplots(max(len(photos), 1), copies, squeeze=False)
    for row, name in zip(axes, sorted(photos), strict=False):
        for copy, ax in enumerate(row):
            if copy in photos[name]:
                ax.imshow(photos[name][copy])
            shown = name.split("/")[0]  # the class folder: china, flower
            ax.set_title(f"{shown} {'original' if copy == 0 else f'copy {copy}'}", fontsize=7)
    grid = bottom.subplots(digit_rows, copies * digits_per_row, squeeze=False)
    for index, key in enumerate(chosen):
        row, start = divmod(index, digits_per_row)
        for copy in range(copies):
            ax = grid[row][start * copies + copy]
            image = digits[key].get(copy)
            if image is not None:
                ax.imshow(image.squeeze(), cmap="gray", vmin=0, vmax=255)
            ax.set_title(f"#{key}" if copy == 0 else f"copy {copy}", fontsize=6)
    for ax in [*axes.ravel(), *grid.ravel()]:
        ax.set_axis_off()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(temp, dpi=80)
    plt.close(figure)
    temp.replace(path)
    return path


__all__ = ["augmented_images", "save_grid"]
