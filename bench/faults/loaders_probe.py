"""Run one loader over a folder of shards in a fresh process and say what it did (R12).

    python loaders_probe.py FOLDER MODE...   (numpy numpy-salvage tfdata tfdata-verify
                                               tfdata-salvage tf)

Prints one JSON line per mode: rows read, the error's class and message, and the damage reported
when salvaging. TensorFlow loads only for the tf* modes (once for all of them).
"""

from __future__ import annotations

import glob
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def main() -> None:
    folder = sys.argv[1]
    for mode in sys.argv[2:]:
        probe(mode, folder)
        sys.stdout.flush()


def probe(mode: str, folder: str) -> None:
    rows, damage, ids = 0, [], []
    try:
        if mode.startswith("numpy"):
            from pipeline.loaders import NumpyLoader, OrderOptions, SourceOptions

            loader = NumpyLoader(
                folder,
                label="y",
                batch_size=16,
                order=OrderOptions(shuffle=False),
                source=SourceOptions(salvage=mode.endswith("salvage")),
            )
            for features, _ in loader:
                rows += len(features["x"])
                ids += [int(v) for v in features["id"].reshape(-1)]
            damage = [getattr(d, "message", str(d)) for d in loader.damage]
        elif mode == "tf":
            import tensorflow as tf

            files = sorted(glob.glob(os.path.join(folder, "*.tfrecord")))
            for _ in tf.data.TFRecordDataset(files):
                rows += 1
        else:
            from pipeline.loaders import tf_dataset

            ds = tf_dataset(
                folder,
                label="y",
                batch_size=16,
                shuffle_buffer=0,
                verify=mode.endswith("verify"),
                salvage=mode.endswith("salvage"),
            )
            for features, _ in ds:
                rows += int(features["x"].shape[0])
                ids += [int(v) for v in features["id"].numpy().reshape(-1)]
            damage = [getattr(d, "message", str(d)) for d in getattr(ds, "recio_damage", [])]
    except BaseException as error:  # noqa: BLE001 - reported, judged by the parent
        from recordio.errors import StructuredError

        typed = isinstance(error, StructuredError)
        if not typed and type(error).__module__.startswith("tensorflow"):
            typed = True  # tf.errors.*: TF's typed errors (no path, though)
        err = {"error": type(error).__name__, "typed": typed, "msg": str(error)[:400]}
        print(json.dumps({"mode": mode, "rows": rows, "ids": ids, "damage": damage, **err}))
        return
    ok = {"error": None, "typed": True, "msg": ""}
    print(json.dumps({"mode": mode, "rows": rows, "ids": ids, "damage": damage, **ok}))


if __name__ == "__main__":
    main()
