"""The tables leg's input: the book's California housing CSV when the user has it, else a stand-in.

Both come out as one CSV with the book's ten columns plus an integer `id` (the row number), the
key the transform job splits on and the serving step uses to find the held-out rows again.
The stand-in has the same columns, ranges and quirks as the real file: blanks in
`total_bedrooms` (about 1%, the real file has 207 of 20,640) and the five `ocean_proximity`
categories; its house values depend on income, location and the category, in dollars,
capped at 500,001 as in the census data.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from recio.demo.errors import DemoError

COLUMNS = (
    "longitude",
    "latitude",
    "housing_median_age",
    "total_rooms",
    "total_bedrooms",
    "population",
    "households",
    "median_income",
    "median_house_value",
    "ocean_proximity",
)
LABEL = "median_house_value"
KEY = "id"
CATEGORIES = ("<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND")
REAL_ROWS = 20_640


def _atomic_rows(target: Path, header: list[str], rows: Any) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    count = 0
    try:
        with open(temp, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return count


def copy_with_ids(source: str | os.PathLike[str], target: Path, limit: int | None = None) -> int:
    """Copy a housing.csv-style file to `target` with an `id` column first; returns the rows.

    The columns must be the book's ten (in any order); `limit` keeps every k-th row so that a
    small run still spans the whole state.
    """
    path = Path(source)
    if not path.is_file():
        raise DemoError(f"--housing {path}: no such file")
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or sorted(header) != sorted(COLUMNS):
            raise DemoError(
                f"--housing {path}: expected the California housing columns "
                f"({', '.join(COLUMNS)}), found {', '.join(header or ['nothing'])}"
            )
        rows = list(reader)
    if limit is not None and limit < len(rows):
        rows = rows[:: max(1, len(rows) // limit)][:limit]
    return _atomic_rows(target, [KEY, *header], ([i, *row] for i, row in enumerate(rows)))


def write_housing_like(target: Path, rows: int = REAL_ROWS, seed: int = 13) -> int:
    """Write a generated table with the housing columns (and `id`) to `target`; returns the rows."""
    rng = np.random.default_rng(seed)
    n = rows
    category = rng.choice(
        len(CATEGORIES), size=n, p=np.array([0.4425, 0.3175, 0.129, 0.111, 0.0002]) / 1.0002
    )
    # inland districts lie east, the coast west; the bay around 37.8N
    longitude = np.where(
        category == 1, rng.uniform(-122.0, -114.3, n), rng.uniform(-124.3, -117.0, n)
    )
    latitude = np.where(
        category == 3, rng.normal(37.8, 0.3, n), 32.6 + (longitude + 124.3) * -0.9 + 8.5
    ) + rng.normal(0, 0.6, n)
    latitude = np.clip(latitude, 32.54, 41.95)
    age = np.clip(np.round(rng.normal(28.6, 12.6, n)), 1, 52)
    income = np.clip(rng.lognormal(1.26, 0.45, n), 0.4999, 15.0001)
    households = np.maximum(1, np.round(rng.lognormal(6.05, 0.6, n)))
    rooms = np.maximum(2, np.round(households * rng.normal(5.3, 1.0, n).clip(1.5)))
    bedrooms = np.maximum(1, np.round(rooms * rng.normal(0.21, 0.03, n).clip(0.08)))
    population = np.maximum(3, np.round(households * rng.normal(2.9, 0.7, n).clip(1.0)))
    premium = np.array([40_000.0, -45_000.0, 45_000.0, 60_000.0, 150_000.0])[category]
    value = 45_000.0 + 40_000.0 * income + premium - 6_000.0 * np.abs(latitude - 35.5)
    value = np.clip(np.round(value + rng.normal(0, 38_000.0, n), -2), 14_999.0, 500_001.0)
    blank = rng.random(n) < 0.01
    names = np.array(CATEGORIES)

    def lines() -> Any:
        for i in range(n):
            yield (
                i,
                f"{longitude[i]:.2f}",
                f"{latitude[i]:.2f}",
                f"{age[i]:.1f}",
                f"{rooms[i]:.1f}",
                "" if blank[i] else f"{bedrooms[i]:.1f}",
                f"{population[i]:.1f}",
                f"{households[i]:.1f}",
                f"{income[i]:.4f}",
                f"{value[i]:.1f}",
                names[category[i]],
            )

    return _atomic_rows(target, [KEY, *COLUMNS], lines())


def housing_schema_dict() -> dict[str, Any]:
    """The transform job's schema: every kind of transform the chapter shows, label untouched.

    The label passes through in dollars: the regressor rescales its own output with the
    label's mean and spread, so its RMSE is in dollars too.
    """
    return {
        "columns": [
            {"name": KEY, "type": "int64"},
            {"name": "longitude", "type": "float", "transform": "z_score"},
            {"name": "latitude", "type": "float", "transform": "z_score"},
            {
                "name": "housing_median_age",
                "type": "float",
                "transform": {"name": "bucketize", "num_buckets": 4},
            },
            {"name": "total_rooms", "type": "float", "transform": ["log", "z_score"]},
            {"name": "total_bedrooms", "type": "float", "fill": "mean", "transform": "z_score"},
            {"name": "population", "type": "float", "transform": ["log", "min_max"]},
            {"name": "households", "type": "float", "transform": ["log", "z_score"]},
            {"name": "median_income", "type": "float", "transform": "min_max"},
            {"name": LABEL, "type": "float"},
            {
                "name": "ocean_proximity",
                "type": "bytes",
                "transform": {"name": "vocabulary", "num_oov_buckets": 1},
            },
        ],
        "label": LABEL,
        "key": KEY,
    }


__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "KEY",
    "LABEL",
    "copy_with_ids",
    "housing_schema_dict",
    "write_housing_like",
]
