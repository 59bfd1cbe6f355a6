"""What a run leaves for people: a per-epoch line, metrics.json and a learning-curve PNG."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clean(value: Any) -> Any:
    """JSON-safe numbers: NaN and inf become null instead of invalid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    text = json.dumps(_clean(dict(payload)), indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(path, text.encode())


def current_learning_rate(model: keras.Model) -> float | None:
    """The rate the optimizer uses now (schedules are evaluated at the current step)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError, AttributeError):
        return None


def number(value: float) -> str:
    """Readable at any scale: 0.4123, 58071.9, 3.372e+09."""
    if not math.isfinite(value):
        return str(value)
    size = abs(value)
    if size >= 1e6:
        return f"{value:.4g}"
    if size >= 1000:
        return f"{value:.1f}"
    return f"{value:.4f}"


class EpochReport(keras.callbacks.Callback):
    """One line per epoch (loss, metrics, learning rate, time, records/s) and the full history.

    Keras' own progress bar is turned off (verbose=0) so logs stay readable when piped to a file.
    """

    def __init__(
        self,
        epochs: int,
        records_per_epoch: int,
        monitor: str,
        emit: Callable[[str], None],
    ) -> None:
        super().__init__()
        self.epochs = epochs
        self.records_per_epoch = records_per_epoch
        self.monitor = monitor
        self.emit = emit
        self.history: dict[str, list[float]] = {}
        self.best: float | None = None
        self.best_epoch: int | None = None
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        seconds = time.perf_counter() - self._start
        logs = {k: v for k, v in (logs or {}).items() if k != "learning_rate"}
        rate = current_learning_rate(self.model)
        order = sorted(
            logs, key=lambda k: (k.startswith("val_"), k.removeprefix("val_") != "loss", k)
        )
        row = {k: float(logs[k]) for k in order}
        row["learning_rate"] = rate if rate is not None else float("nan")
        row["seconds"] = seconds
        row["records_per_second"] = self.records_per_epoch / seconds if seconds > 0 else 0.0
        for key, figure in row.items():
            self.history.setdefault(key, []).append(figure)
        value = row.get(self.monitor)
        improved = (
            value is not None and math.isfinite(value) and (self.best is None or value < self.best)
        )
        if improved:
            self.best, self.best_epoch = value, epoch + 1
        shown = "  ".join(
            f"{k} {number(v)}"
            for k, v in row.items()
            if k not in ("learning_rate", "seconds", "records_per_second")
        )
        lr = f"  lr {rate:.3g}" if rate is not None else ""
        mark = "  *best" if improved else ""
        self.emit(
            f"epoch {epoch + 1}/{self.epochs}  {shown}{lr}  {seconds:.1f}s"
            f"  {row['records_per_second']:,.0f} rec/s{mark}"
        )


def plot_learning_curves(history: Mapping[str, list[float]], path: Path, title: str) -> None:
    """Loss and the main metric per epoch, train vs validation, like the book's figure 10-11."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    skip = {"learning_rate", "seconds", "records_per_second"}
    names = [k for k in history if k not in skip and not k.startswith("val_")]
    names.sort(key=lambda k: (k != "loss", k))
    rates = [r for r in history.get("learning_rate", []) if math.isfinite(r)]
    show_rate = len(set(rates)) > 1
    panels = len(names) + int(show_rate)
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], "b.-", label=f"train {name}")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], "r.--", label=f"validation {name}")
        ax.set_title(name)
        ax.legend()
    if show_rate:
        ax = axes[0][-1]
        ax.plot(range(1, len(rates) + 1), rates, "g.-")
        ax.set_yscale("log")
        ax.set_title("learning rate (end of epoch)")
    for ax in axes[0]:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True)
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
