"""Statistics of Example records as one JSON-ready document, and the skew check between two.

`dataset_stats(profile)` turns a profile into plain numbers: record count and sizes, the
compression ratio, and per feature its presence, value-count distribution, numeric summary
(min/mean/max/std/zeros, median and a histogram from a 10,000-value sample) or string summary
(approximate distinct count from HyperLogLog, top values). `compare_profiles(train, eval)` lists
what differs more than the thresholds: a feature missing on one side or of another kind,
presence or mean that moved, eval categories never seen in train.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.inspect.profile import DatasetProfile, FeatureProfile
from pipeline.inspect.sketches import Reservoir
from recordio import Kind

TOP_K = 10
HISTOGRAM_BINS = 20


def _number(x: float) -> float | None:
    """JSON-safe float: None for NaN and infinities."""
    return float(x) if np.isfinite(x) else None


def _text(value: Any, limit: int = 60) -> str:
    """A value as text for tables and JSON: UTF-8 shown as is (cut), other bytes as hex."""
    if isinstance(value, bytes):
        try:
            text = value.decode()
        except UnicodeDecodeError:
            text = "0x" + value[: limit // 2].hex()
            return text + ("..." if len(value) > limit // 2 else "")
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _histogram(sample: Reservoir, bins: int = HISTOGRAM_BINS) -> dict[str, list[float]]:
    values = sample.sample[np.isfinite(sample.sample)]
    if not values.size:
        return {"edges": [], "fractions": []}
    counts, edges = np.histogram(values, bins=bins)
    return {
        "edges": [float(e) for e in edges],
        "fractions": [float(c) / values.size for c in counts],
    }


def feature_stats(feature: FeatureProfile, records: int) -> dict[str, Any]:
    """One feature's statistics (see the module docstring)."""
    out: dict[str, Any] = {
        "kind": str(feature.kind) if feature.kind is not None else None,
        "present": feature.present,
        "presence": feature.present / records if records else 0.0,
        "nonempty": feature.nonempty,
        "values": feature.values,
        "lengths": {
            "min": feature.min_length,
            "max": feature.max_length,
            "mean": feature.values / feature.present if feature.present else 0.0,
            "counts": None
            if feature.lengths_cut
            else {str(k): v for k, v in sorted(feature.lengths.items())},
        },
    }
    if feature.mixed_kinds:
        out["mixed_kinds"] = True
    m = feature.moments
    if feature.kind in (Kind.INT64, Kind.FLOAT) and m.count:
        out["numbers"] = {
            "count": m.count,
            "min": _number(m.min),
            "mean": _number(m.mean),
            "max": _number(m.max),
            "std": _number(m.std),
            "zeros": m.zeros,
            "nans": m.nans,
            "median": _number(feature.sample.quantile(0.5)),
            "histogram": _histogram(feature.sample),
        }
    if feature.kind in (Kind.BYTES, Kind.INT64):
        top = feature.top
        out["distinct"] = {
            "approx": feature.distinct.estimate(),
            "exact": len(top.counts) if top.exact else None,
        }
        out["top"] = [[_text(v) if isinstance(v, bytes) else v, c] for v, c in top.top(TOP_K)]
        if top.gave_up:
            out["top_note"] = "(nearly all distinct: not tracked)"
    if feature.kind is Kind.BYTES and feature.value_bytes.count:
        vb = feature.value_bytes
        out["value_bytes"] = {"min": int(vb.min), "mean": vb.mean, "max": int(vb.max)}
    return out


def dataset_stats(profile: DatasetProfile) -> dict[str, Any]:
    """The whole statistics document for a profile."""
    sizes = profile.record_bytes
    sample = profile.record_sample
    return {
        "files": profile.files,
        "records": profile.records,
        "sampled": profile.sampled,
        "compression": sorted(set(profile.compression)),
        "file_bytes": profile.file_bytes or None,
        "stream_bytes": profile.stream_bytes,
        "compression_ratio": profile.compression_ratio,
        "record_bytes": {
            "min": int(sizes.min),
            "median": _number(sample.quantile(0.5)),
            "mean": sizes.mean,
            "max": int(sizes.max),
            "histogram": _histogram(sample),
        },
        "features": {
            name: feature_stats(profile.features[name], profile.records)
            for name in sorted(profile.features)
        },
    }


# ------------------------------------------------------------------------------------ skew
@dataclass(frozen=True)
class SkewThresholds:
    """When a difference between train and eval counts as an anomaly.

    Attributes:
        presence: largest allowed change of a feature's presence (fraction of records).
        mean: largest allowed change of a numeric mean, in train standard deviations (not
            checked for int64 features whose train values are nearly all distinct: row ids and
            timestamps differ between splits by design).
        unseen: largest allowed fraction of eval values that are categories train never had
            (checked where train's categories were counted exactly).
    """

    presence: float = 0.05
    mean: float = 0.1
    unseen: float = 0.001


@dataclass(frozen=True)
class Anomaly:
    """One difference beyond a threshold."""

    feature: str
    kind: str  # missing_in_eval, missing_in_train, kind, presence, mean, unseen_values
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"feature": self.feature, "kind": self.kind, "message": self.message}


def compare_profiles(
    train: DatasetProfile, eval_: DatasetProfile, thresholds: SkewThresholds | None = None
) -> list[Anomaly]:
    """Train/eval skew: every anomaly, sorted by feature."""
    limits = thresholds or SkewThresholds()
    out: list[Anomaly] = []
    for name in sorted(set(train.features) | set(eval_.features)):
        t, e = train.features.get(name), eval_.features.get(name)
        if t is None or e is None:
            side = "train" if t is None else "eval"
            out.append(Anomaly(name, f"missing_in_{side}", f"not in any {side} record"))
            continue
        if t.kind is not None and e.kind is not None and t.kind is not e.kind:
            out.append(Anomaly(name, "kind", f"{t.kind} in train, {e.kind} in eval"))
            continue
        tp, ep = t.present / train.records, e.present / eval_.records
        if abs(tp - ep) > limits.presence:
            out.append(
                Anomaly(
                    name,
                    "presence",
                    f"present in {tp:.1%} of train records, {ep:.1%} of eval "
                    f"(threshold {limits.presence:.1%})",
                )
            )
        identifier = t.kind is Kind.INT64 and t.top.gave_up  # ids, timestamps: means move
        if t.moments.count and e.moments.count and not identifier:
            std = t.moments.std or 1.0
            shift = abs(e.moments.mean - t.moments.mean) / std
            if shift > limits.mean:
                out.append(
                    Anomaly(
                        name,
                        "mean",
                        f"mean {t.moments.mean:.6g} in train, {e.moments.mean:.6g} in eval: "
                        f"{shift:.2f} train std apart (threshold {limits.mean:g})",
                    )
                )
        if t.kind is Kind.BYTES and t.top.exact and e.top.counts:
            unseen = {v: c for v, c in e.top.counts.items() if v not in t.top.counts}
            share = sum(unseen.values()) / max(e.values, 1)
            if unseen and share > limits.unseen:
                shown = ", ".join(
                    repr(_text(v, 30)) for v, _ in sorted(unseen.items(), key=lambda x: -x[1])[:5]
                )
                more = f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""
                out.append(
                    Anomaly(
                        name,
                        "unseen_values",
                        f"{len(unseen)} value{'s' * (len(unseen) != 1)} in eval never seen in "
                        f"train ({shown}{more}): {share:.2%} of eval values",
                    )
                )
    return out


__all__ = [
    "Anomaly",
    "SkewThresholds",
    "compare_profiles",
    "dataset_stats",
    "feature_stats",
]
