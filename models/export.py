"""Export a trained run as a SavedModel that scores raw serialized tf.Examples.

The serving function parses the raw records, applies the tf.Transform graph when the model was
trained on `recio job transform` output, and calls the Keras 3 model: the tf.Module pattern of
BEAM_TFT.md 1.2 (the tft layer is a tf_keras Model and cannot sit inside a Keras 3 model).
Needs the TensorFlow backend; `python -m models.export OUT` runs it for a run trained elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from models.errors import ExportError
from models.specs import CLASSIFICATION, ModelInputs

SIGNATURE_INPUT = "examples"


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's recio_model.json, or one clear error when it is missing or unreadable."""
    path = Path(run_dir) / "recio_model.json"
    if Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise ExportError(
            f"{run_dir} is a file, not a folder; give the output folder of a training run"
        )
    if not path.is_file():
        raise ExportError(
            f"{run_dir}: no recio_model.json; is this the output folder of a training run?"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ExportError(f"{path}: unreadable ({error}); rerun `recio train`") from None
    if not isinstance(manifest, dict):
        raise ExportError(f"{path}: not a run description; rerun `recio train`")
    if manifest.get("transform_dir"):
        manifest["transform_dir"] = resolve_transform_dir(str(manifest["transform_dir"]), run_dir)
    return manifest


def resolve_transform_dir(transform_dir: str, run_dir: Path) -> str:
    """Runs record an absolute path; older ones a path relative to where they were trained,
    which is looked for from here, then from the run folder and the folders above it."""
    if os.path.isabs(transform_dir):
        return transform_dir
    run = Path(run_dir).absolute()
    for base in (Path.cwd(), run, *run.parents):
        candidate = base / transform_dir
        if (candidate / "transform_fn").is_dir():
            return str(candidate)
    return str(run / transform_dir)


def load_keras_model(path: Path) -> Any:
    """Load a `.keras` file with recio's custom objects registered."""
    import keras

    import models.layers  # noqa: F401 - registers OneHot
    import models.losses  # noqa: F401 - registers HuberLoss
    import models.schedules  # noqa: F401 - registers OneCycle

    return keras.models.load_model(str(path))


def _raw_feature_spec(manifest: dict[str, Any], inputs: ModelInputs) -> tuple[dict, Any]:
    """(raw parsing spec without the label, tft layer or None)."""
    import tensorflow as tf

    transform_dir = manifest.get("transform_dir")
    if transform_dir:
        import tensorflow_transform as tft

        if not Path(transform_dir).is_dir():
            raise ExportError(
                f"the transform graph {transform_dir} the model was trained with is gone"
            )
        output = tft.TFTransformOutput(transform_dir)
        try:
            raw_spec = dict(output.raw_feature_spec())
        except OSError:
            raise ExportError(
                f"{transform_dir} has no raw metadata (metadata/schema.pbtxt), so raw records "
                "cannot be parsed; rerun `recio job transform`"
            ) from None
        for name in {manifest.get("raw_label"), inputs.label} - {None}:
            raw_spec.pop(str(name), None)
        return raw_spec, output.transform_features_layer()
    dtypes = {"float32": tf.float32, "int64": tf.int64, "uint8": tf.string}
    raw_spec = {}
    for name in inputs.features:
        if name in inputs.raw_bytes:
            raw_spec[name] = tf.io.FixedLenFeature([], tf.string)
        else:
            shape = list(inputs.shapes[name])
            raw_spec[name] = tf.io.FixedLenFeature(shape, dtypes[inputs.dtypes[name]])
    return raw_spec, None


def serving_module(model: Any, manifest: dict[str, Any]) -> Any:
    """A tf.Module whose `serve(examples)` maps serialized Examples to predictions."""
    import tensorflow as tf

    inputs = ModelInputs.from_json(manifest["inputs"])
    raw_spec, tft_layer = _raw_feature_spec(manifest, inputs)
    classify = inputs.task == CLASSIFICATION

    def model_inputs(features: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name in inputs.features:
            value = features[name]
            if name in inputs.raw_bytes:
                value = tf.reshape(tf.io.decode_raw(value, tf.uint8), [-1, inputs.shapes[name][0]])
            # the builders declare category ids int32 and everything else float32
            out[name] = tf.cast(value, tf.int32 if name in inputs.categorical else tf.float32)
        return out

    class Serving(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.tft_layer = tft_layer  # tracked so the vocabulary assets are saved

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=SIGNATURE_INPUT)])
        def serve(self, examples: Any) -> dict[str, Any]:
            parsed = tf.io.parse_example(examples, raw_spec)
            features = self.tft_layer(parsed) if self.tft_layer is not None else parsed
            outputs = self.model(model_inputs(features), training=False)
            if classify:
                return {
                    "probabilities": tf.cast(outputs, tf.float32),
                    "class_ids": tf.argmax(outputs, axis=-1),
                }
            return {"predictions": tf.reshape(tf.cast(outputs, tf.float32), [-1])}

    module = Serving()
    module.raw_feature_names = sorted(raw_spec)  # plain attribute: recorded in the manifest
    return module


def export_run(run_dir: Path, *, model: Any = None) -> Path:
    """Write RUN/serving (atomically replaced) from `model` or RUN/model.keras."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ExportError("a SavedModel export needs KERAS_BACKEND=tensorflow")
    import tensorflow as tf

    run_dir = Path(run_dir)
    manifest = load_manifest(run_dir)
    if model is None:
        keras_file = run_dir / "model.keras"
        if not keras_file.is_file():
            raise ExportError(f"{run_dir}: no model.keras to export")
        model = load_keras_model(keras_file)
    module = serving_module(model, manifest)
    target = run_dir / "serving"
    tmp = run_dir / ".serving.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.serve})
    served = {**manifest, "raw_features": module.raw_feature_names}
    (tmp / "recio_model.json").write_text(json.dumps(served, indent=2, sort_keys=True) + "\n")
    old = run_dir / ".serving.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m models.export RUN_DIR", file=sys.stderr)
        return 2
    from models.device import detect, quiet_native_startup

    try:
        load_manifest(Path(argv[0]))
        with quiet_native_startup():
            detect()  # imports Keras and probes devices, where TF's chatter comes from
        print(export_run(Path(argv[0])))
    except ExportError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
