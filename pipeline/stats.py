"""Read back what tf.Transform's analyzers computed, from the saved transform graph.

tf.Transform replaces each analyzer's output with a constant when it writes `transform_fn/`.
The schema-driven preprocessing_fn routes every statistic through a `tf.identity` named
`recio_stat__<output>__<step>__<stat>`; here we load the graph, feed the captured constants
and evaluate those identities. Vocabularies come from TFTransformOutput. User module files
get their vocabularies reported (and any `recio_stat__` identities they choose to add).
"""

from __future__ import annotations

from typing import Any

from pipeline.preprocessing import STAT_PREFIX


def _to_python(value: Any) -> Any:
    import numpy as np

    array = np.asarray(value)
    if array.size == 1:
        return float(array.reshape(())) if array.dtype.kind == "f" else int(array.reshape(()))
    return [float(v) for v in array.reshape(-1)]


def analyzer_values(transform_dir: str) -> dict[str, dict[str, Any]]:
    """{output: {"<step>.<stat>": value}} for every recio_stat__ identity in the graph."""
    import tensorflow as tf
    from tensorflow.python.framework.function_def_to_graph import function_def_to_graph

    loaded = tf.saved_model.load(f"{transform_dir.rstrip('/')}/transform_fn")
    signature = loaded.signatures["serving_default"]
    captured = signature.captured_inputs
    outer_inputs = signature.graph.inputs
    placeholders = outer_inputs[len(outer_inputs) - len(captured) :] if captured else []
    value_of = {p.name: c for p, c in zip(placeholders, captured, strict=True)}
    results: dict[str, dict[str, Any]] = {}
    for op in signature.graph.get_operations():
        if op.type not in ("PartitionedCall", "StatefulPartitionedCall"):
            continue
        fdef = signature.graph._get_function(op.get_attr("f").name).cached_definition
        graph = function_def_to_graph(fdef)
        stats = [
            o
            for o in graph.get_operations()
            if o.type == "Identity" and o.name.startswith(STAT_PREFIX)
        ]
        if not stats:
            continue
        feeds = {}
        for arg, outer in zip(graph.inputs, op.inputs, strict=False):
            constant = value_of.get(outer.name)
            if constant is not None and constant.dtype != tf.resource:
                feeds[arg.name] = constant.numpy()
        with tf.compat.v1.Session(graph=graph) as session:
            values = session.run([o.outputs[0].name for o in stats], feed_dict=feeds)
        for o, value in zip(stats, values, strict=True):
            parts = o.name[len(STAT_PREFIX) :].rsplit("__", 2)
            if len(parts) != 3:
                continue
            output, step, stat = parts
            results.setdefault(output, {})[f"{step}.{stat}"] = _to_python(value)
    return results


def vocabularies(transform_dir: str, *, top: int = 10) -> dict[str, dict[str, Any]]:
    """{vocab name: {"size": n, "top": [most frequent entries]}} from transform_fn/assets."""
    import tensorflow as tf
    import tensorflow_transform as tft

    output = tft.TFTransformOutput(transform_dir)
    assets = f"{transform_dir.rstrip('/')}/transform_fn/assets"  # tf.io.gfile: gs:// works too
    names = sorted(tf.io.gfile.listdir(assets)) if tf.io.gfile.isdir(assets) else []
    result = {}
    for name in names:
        try:
            entries = output.vocabulary_by_name(name)
        except Exception:  # not a vocabulary (another kind of asset)
            continue
        result[name] = {
            "size": len(entries),
            "top": [
                e.decode("utf-8", "replace") if isinstance(e, bytes) else str(e)
                for e in entries[:top]
            ],
        }
    return result


def describe(transform_dir: str) -> dict[str, Any]:
    """Everything the job summary prints about the analyzers: numbers per output + vocabularies.

    Never fails the job: a graph it cannot read yields an "error" entry instead.
    """
    out: dict[str, Any] = {"analyzers": {}, "vocabularies": {}}
    try:
        raw = analyzer_values(transform_dir)
        for output, values in raw.items():
            tidy: dict[str, Any] = {}
            for key, value in sorted(values.items()):
                step, stat = key.split(".", 1)
                label = "fill_mean" if step == "fill" else stat
                if label in tidy:
                    label = f"{label}@{step}"
                tidy[label] = value
                if stat == "var" and isinstance(value, float):
                    tidy[label.replace("var", "std")] = value**0.5
            out["analyzers"][output] = tidy
    except Exception as error:  # noqa: BLE001 - reporting must not fail a finished job
        out["error"] = f"could not read analyzer values: {type(error).__name__}: {error}"
    try:
        out["vocabularies"] = vocabularies(transform_dir)
    except Exception as error:  # noqa: BLE001
        out.setdefault("error", f"could not read vocabularies: {error}")
    return out
