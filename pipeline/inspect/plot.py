"""`recio stats --plot`: one small histogram per feature (and the record sizes), as a PNG.

matplotlib is imported here only, with the Agg backend (no display needed).
"""

from __future__ import annotations

import math
import os
from typing import Any

PANEL = (2.6, 1.9)  # inches per histogram


def _bars(ax: Any, histogram: dict[str, list[float]]) -> None:
    edges, fractions = histogram["edges"], histogram["fractions"]
    if not fractions:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return
    widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    ax.bar(edges[:-1], fractions, width=widths, align="edge", color="#4c72b0")


def plot_stats(stats: dict[str, Any], path: str, *, columns: int = 4) -> None:
    """Draw the histograms of a `dataset_stats` document into `path` (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: list[tuple[str, str, Any]] = [("records", "record bytes", stats["record_bytes"])]
    for name, feature in stats["features"].items():
        if "numbers" in feature:
            panels.append((name, "values", feature["numbers"]["histogram"]))
        elif feature.get("top"):
            panels.append((name, "top values", feature["top"]))
        else:
            counts = feature["lengths"]["counts"] or {}
            panels.append((name, "values per record", counts))
    cols = min(columns, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows), squeeze=False, dpi=80
    )
    for ax, (name, what, data) in zip(axes.ravel(), panels, strict=False):
        ax.set_title(f"{name}: {what}", fontsize=8)
        ax.tick_params(labelsize=6)
        if what == "record bytes":
            _bars(ax, data["histogram"])
        elif what == "values":
            _bars(ax, data)
        elif what == "top values":
            labels = [str(v)[:10] for v, _ in data][:8]
            ax.barh(range(len(labels)), [c for _, c in data][:8], color="#55a868")
            ax.set_yticks(range(len(labels)), labels)
            ax.invert_yaxis()
        else:
            ax.bar([int(k) for k in data], list(data.values()), color="#c44e52")
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    fig.tight_layout()
    folder = os.path.dirname(path) or "."
    temp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}.png")
    try:
        fig.savefig(temp, format="png")
        os.replace(temp, path)
    finally:
        plt.close(fig)
        if os.path.exists(temp):
            os.unlink(temp)


__all__ = ["plot_stats"]
