"""Score raw serialized tf.Examples with a run's serving SavedModel (`recio predict`)."""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from models.errors import PredictError, PredictOptionError


def serving_dir_of(model_dir: str | Path) -> Path:
    """MODEL_DIR may be a `recio train` output folder or its serving/ SavedModel itself."""
    path = Path(model_dir)
    if not path.exists():
        raise PredictError(
            f"{model_dir}: no such directory; give the output folder of a training run"
        )
    if not path.is_dir():
        raise PredictError(
            f"{model_dir} is a file, not a folder; give the output folder of a training run"
        )
    if (path / "saved_model.pb").is_file():
        return path
    if (path / "serving" / "saved_model.pb").is_file():
        return path / "serving"
    if (path / "model.keras").is_file():
        raise PredictError(
            f"{model_dir} has model.keras but no serving SavedModel (trained without TensorFlow?); "
            f"run `python -m models.export {model_dir}` where TensorFlow is installed"
        )
    raise PredictError(f"{model_dir}: not a trained model (no serving/saved_model.pb)")


def input_files(patterns: Sequence[str]) -> list[str]:
    """Expand files and glob patterns, refusing any that name nothing."""
    files: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            found = sorted(glob.glob(pattern))
            if not found:
                raise PredictError(f"{pattern}: the pattern matches no file")
            files.extend(found)
        elif Path(pattern).is_file():
            files.append(pattern)
        else:
            raise PredictError(f"{pattern}: no such file")
    return files


def _manifest(serving: Path) -> dict[str, Any]:
    path = serving / "recio_model.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def predict_records(
    model_dir: str | Path, patterns: Sequence[str], *, batch_size: int = 256
) -> Iterator[dict[str, Any]]:
    """One dict per record: class id, its probability and all probabilities, or the value."""
    if batch_size < 1:
        raise PredictOptionError(
            f"batch_size must be at least 1, got {batch_size}", params=("batch_size",)
        )
    serving = serving_dir_of(model_dir)
    files = input_files(patterns)
    manifest = _manifest(serving)

    from models.device import quiet_native_startup
    from recordio import TFRecordReader

    with quiet_native_startup():
        import tensorflow as tf

        try:
            loaded = tf.saved_model.load(str(serving))
        except (OSError, ValueError, tf.errors.OpError) as error:
            raise PredictError(f"{serving}: cannot load the SavedModel ({error})") from None
    signature = loaded.signatures.get("serving_default")
    if signature is None:
        raise PredictError(f"{serving}: the SavedModel has no serving_default signature")
    expected = ", ".join(manifest.get("raw_features", [])) or "see the training data"

    for name in files:
        with TFRecordReader(name) as reader:
            start = 0
            for batch in reader.iter_batches(max_records=batch_size):
                try:
                    out = signature(examples=tf.constant(batch, dtype=tf.string))
                except (tf.errors.InvalidArgumentError, ValueError) as error:
                    raise _bad_record(signature, tf, name, start, batch, error, expected) from None
                arrays = {k: v.numpy() for k, v in out.items()}
                for i in range(len(batch)):
                    row: dict[str, Any] = {"file": name, "record": start + i}
                    if "class_ids" in arrays:
                        probs = arrays["probabilities"][i]
                        class_id = int(arrays["class_ids"][i])
                        row["class_id"] = class_id
                        row["probability"] = round(float(probs[class_id]), 6)
                        row["probabilities"] = [round(float(p), 6) for p in probs]
                    else:
                        row["prediction"] = float(arrays["predictions"][i])
                    yield row
                start += len(batch)


def _bad_record(
    signature: Any,
    tf: Any,
    name: str,
    start: int,
    batch: list[bytes],
    error: Exception,
    expected: str,
) -> PredictError:
    """The first record of a failing batch that the model cannot read, and why (TF's message
    buries the feature in a node trace and names no record)."""
    from models.data_errors import tf_reason

    for i, record in enumerate(batch):
        try:
            signature(examples=tf.constant([record], dtype=tf.string))
        except (tf.errors.InvalidArgumentError, ValueError) as single:
            reason = tf_reason(single) or _first_line(single)
            return PredictError(
                f"record {start + i}: {reason}; the model reads raw features {expected}: "
                "every record must hold them (as in the training data)",
                path=name,
            )
    reason = tf_reason(error) or _first_line(error)
    return PredictError(
        f"records {start}-{start + len(batch) - 1} do not match the model's input "
        f"(features expected: {expected}): {reason}",
        path=name,
    )


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines if not line.endswith("error:")]
    return (useful or lines or [type(error).__name__])[0][:300]


FORMATS = ("jsonl", "table")


def format_rows(rows: Iterator[dict[str, Any]], output_format: str = "jsonl") -> Iterator[str]:
    """Lines for stdout: one JSON object per record, or an aligned table with a header."""
    if output_format not in FORMATS:
        raise PredictOptionError(
            f"output_format must be jsonl or table, not {output_format!r}",
            params=("output_format",),
        )
    if output_format == "jsonl":
        for row in rows:
            yield json.dumps(row)
        return
    first = True
    for row in rows:
        classify = "class_id" in row
        if first:
            yield f"{'record':>8}  {'class_id' if classify else 'prediction':>12}" + (
                f"  {'probability':>11}  file" if classify else "  file"
            )
            first = False
        if classify:
            yield (
                f"{row['record']:>8}  {row['class_id']:>12}  {row['probability']:>11.4f}  "
                f"{row['file']}"
            )
        else:
            yield f"{row['record']:>8}  {row['prediction']:>12.6g}  {row['file']}"
