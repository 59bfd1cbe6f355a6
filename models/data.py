"""From `--data DIR` to batches Keras can fit on: spec, label, sizes and the right loader.

tf.data (`pipeline.loaders.tf_dataset`) feeds the TensorFlow backend; the TF-free `NumpyLoader`
wrapped in `KerasPyDataset` feeds JAX, torch or any backend when TensorFlow is absent.
"""

from __future__ import annotations

import glob
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import DataSpecError, TrainingOptionError, VariableLengthError
from models.specs import CLASSIFICATION, REGRESSION, ModelInputs, model_inputs, pick_label
from pipeline.layout import JobOutput

SCAN_LIMIT = 20_000
LOADERS = ("auto", "tf", "numpy")


@dataclass
class TrainingData:
    """What `fit` needs, plus what export and the report need to know about the data."""

    train: Any
    eval: Any | None
    inputs: ModelInputs
    steps_per_epoch: int
    train_records: int
    loader: str
    data: str = ""
    transform_dir: str | None = None
    raw_label: str | None = None
    plan: DataPlan | None = None  # to name a bad record when TensorFlow fails on one


@dataclass
class LabelScan:
    """Facts found by reading the first records of the training split once."""

    records: int = 0
    exhausted: bool = False
    label_min: float = math.inf
    label_max: float = -math.inf
    label_sum: float = 0.0
    label_sumsq: float = 0.0
    integral: bool = True

    @property
    def mean(self) -> float:
        return self.label_sum / self.records if self.records else 0.0

    @property
    def std(self) -> float:
        if not self.records:
            return 1.0
        var = max(0.0, self.label_sumsq / self.records - self.mean**2)
        return math.sqrt(var) or 1.0


def check_data_path(data: str, what: str = "data") -> None:
    """Fail early, before TensorFlow loads, on a path that names nothing."""
    if any(ch in data for ch in "*?["):
        if not glob.glob(data):
            raise DataSpecError(
                f"{what}={data!r}: the pattern matches no file; point it at the output of a "
                "transform job or at Example TFRecord files",
                params=(what,),
            )
        return
    path = Path(data)
    if not path.exists():
        raise DataSpecError(
            f"{what}={data!r}: no such file or directory; point it at the output of a "
            "transform job or at Example TFRecord files",
            params=(what,),
        )
    if path.is_dir() and not any(path.iterdir()):
        raise DataSpecError(f"{what}={data!r}: the directory is empty", params=(what,))


def categorical_sizes(output: JobOutput | None) -> dict[str, int]:
    """Vocabulary-mapped integer features and their id counts, from the transformed schema.

    tf.Transform records an int_domain (max = vocabulary size - 1 + OOV buckets) for the output of
    compute_and_apply_vocabulary; those features are one-hot encoded instead of treated as numbers.
    """
    schema_path = output.transformed_schema if output is not None else None
    if schema_path is None:
        return {}
    text = Path(schema_path).read_text()
    try:
        from google.protobuf import text_format
        from tensorflow_metadata.proto.v0 import schema_pb2
    except ImportError:  # TF-free machines: the loaders' own text-proto reader
        from pipeline.loaders.spec import parse_text_proto

        sizes = {}
        for feature in parse_text_proto(text).get("feature", []):
            domain = (feature.get("int_domain") or [{}])[0]
            if domain.get("is_categorical", [False])[0] in (True, "true") and "max" in domain:
                sizes[str(feature["name"][0])] = int(domain["max"][0]) + 1
        return sizes
    schema = text_format.Parse(text, schema_pb2.Schema())
    return {
        feature.name: int(feature.int_domain.max) + 1
        for feature in schema.feature
        if feature.HasField("int_domain") and feature.int_domain.is_categorical
    }


def scan_labels(
    data: str,
    *,
    split: str | None,
    label: str,
    raw_bytes: Sequence[str] = (),
    limit: int = SCAN_LIMIT,
) -> tuple[LabelScan, dict[str, int]]:
    """Read up to `limit` records once: class range, label mean/std, raw image byte lengths."""
    from pipeline.loaders import NumpyLoader, OrderOptions

    scan = LabelScan()
    lengths: dict[str, int] = {}
    features = list(raw_bytes)  # [] = the label alone: cheap even for big images
    loader = NumpyLoader(
        data,
        label=label,
        features=features,
        split=split,
        batch_size=1024,
        order=OrderOptions(shuffle=False),
    )
    exhausted = True
    for batch, labels in loader:
        values = np.asarray(labels, dtype=np.float64).reshape(-1)
        if values.size:
            scan.label_min = min(scan.label_min, float(values.min()))
            scan.label_max = max(scan.label_max, float(values.max()))
            scan.label_sum += float(values.sum())
            scan.label_sumsq += float(np.square(values).sum())
            scan.integral = scan.integral and bool(np.all(values == np.round(values)))
        scan.records += values.size
        for name in raw_bytes:
            if name not in lengths and len(batch[name]):
                lengths[name] = len(batch[name].reshape(-1)[0])
        if scan.records >= limit:
            exhausted = False
            break
    scan.exhausted = exhausted
    return scan, lengths


def count_records(data: str, split: str | None) -> int:
    """Records in a split, counted from the framing only (no checksums, no parsing)."""
    from pipeline.loaders import resolve_files
    from recordio import TFRecordReader

    total = 0
    for name in resolve_files(data, split=split):
        with TFRecordReader(name, verify=False) as reader:
            for _ in reader.iter_batches(max_records=4096 * 4):
                pass
            total += reader.index
    return total


def choose_loader(loader: str, backend: str) -> str:
    """tf.data on the TensorFlow backend, the TF-free NumpyLoader otherwise."""
    if loader not in LOADERS:
        raise TrainingOptionError(
            f"loader must be one of {', '.join(LOADERS)}, not {loader!r}", params=("loader",)
        )
    if loader == "auto":
        return "tf" if backend == "tensorflow" else "numpy"
    if loader == "tf" and backend != "tensorflow":
        raise TrainingOptionError(
            f"loader='tf' feeds tf.data tensors, which the {backend} backend cannot train on; "
            "use loader='numpy' (or 'auto')",
            params=("loader",),
        )
    return loader


@dataclass
class DataPlan:
    """The data, described without TensorFlow or Keras: checked, sized, ready to open."""

    data: str
    inputs: ModelInputs
    train_split: str | None
    eval_source: str | None
    eval_split: str | None
    records: int
    batch_size: int
    transform_dir: str | None
    raw_label: str | None

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.records / self.batch_size))


def plan_data(
    data: str,
    *,
    task: str,
    kind: str,
    label: str | None = None,
    features: Sequence[str] | None = None,
    eval_data: str | None = None,
    n_classes: int | None = None,
    batch_size: int = 32,
    scale_label: bool = True,
) -> DataPlan:
    """Spec, label, class count, input sizes and record count of `data`; fails fast and TF-free."""
    check_data_path(data)
    if eval_data is not None:
        check_data_path(eval_data, "eval_data")
    from pipeline.loaders import load_spec

    if batch_size < 1:
        raise TrainingOptionError(
            f"batch_size must be at least 1, got {batch_size}", params=("batch_size",)
        )
    output = JobOutput.of(data)
    job = output if output is not None else JobOutput("")
    spec = load_spec(data)
    chosen = pick_label(spec, label, job.label)
    train_split = "train" if "train" in job.splits else None
    eval_split = "eval" if "eval" in job.splits else None
    transform_dir = output.transform_dir if output is not None else None

    key = job.key
    if features is None and key in spec and key != chosen:
        # the job's row key passes through the transform; it identifies rows, it is no feature
        features = [n for n in spec if n not in (chosen, key)]
    raw_bytes: tuple[str, ...] = ()
    if kind == "image":
        candidates = list(features) if features else [n for n in spec if n != chosen]
        raw_bytes = tuple(n for n in candidates if n in spec and spec[n].kind == "bytes")
    if spec[chosen].kind == "bytes":
        raise DataSpecError(f"label {chosen!r} is bytes; map it to numbers first")
    scan, lengths = scan_labels(data, split=train_split, label=chosen, raw_bytes=raw_bytes)
    if scan.records == 0:
        raise DataSpecError("the training split holds no records", path=data)

    if task == CLASSIFICATION and spec[chosen].kind == "int64":
        if not scan.integral or scan.label_min < 0:
            raise DataSpecError(
                f"label {chosen!r} must hold class ids 0..N-1, found values from "
                f"{scan.label_min:g} to {scan.label_max:g}"
            )
        found = int(scan.label_max) + 1
        if n_classes is None:
            n_classes = max(found, 2)
        elif found > n_classes:
            raise DataSpecError(
                f"classes={n_classes} but label {chosen!r} holds class id {found - 1}",
                params=("classes",),
            )

    try:
        inputs = model_inputs(
            spec,
            task=task,
            kind=kind,
            label=chosen,
            features=features,
            n_classes=n_classes,
            categorical=categorical_sizes(output),
            raw_bytes_lengths=lengths,
        )
    except VariableLengthError as error:
        raise _odd_record(data, train_split, error) from None
    if task == REGRESSION and scale_label:
        inputs = replace(inputs, label_mean=scan.mean, label_std=scan.std)

    if scan.exhausted:
        records = scan.records
    else:
        rows = job.split_rows(train_split)
        records = rows if rows else count_records(data, train_split)

    if eval_data is not None:
        eval_spec = load_spec(eval_data)
        missing = [n for n in (*inputs.features, inputs.label) if n not in eval_spec]
        if missing:
            raise DataSpecError(
                f"eval_data={eval_data} lacks {', '.join(missing)}, which the training data has",
                params=("eval_data",),
            )
        eval_source, eval_split_name = eval_data, None
    elif eval_split is not None:
        eval_source, eval_split_name = data, eval_split
    else:
        eval_source, eval_split_name = None, None
    return DataPlan(
        data=data,
        inputs=inputs,
        train_split=train_split,
        eval_source=eval_source,
        eval_split=eval_split_name,
        records=records,
        batch_size=batch_size,
        transform_dir=transform_dir,
        raw_label=job.label,
    )


def _odd_record(data: str, split: str | None, error: VariableLengthError) -> DataSpecError:
    """Name the first record whose value count for the feature differs from the first one's
    (usually a record that lacks it), so that 'variable length' says where and why."""
    from models.data_errors import ADVICE
    from pipeline.loaders import resolve_files
    from recordio import TFRecordReader, decode_example

    first: int | None = None
    for name in resolve_files(data, split=split):
        with TFRecordReader(name) as reader:
            for index, record in enumerate(reader):
                values = decode_example(record, numpy=True).get(error.feature)
                count = 0 if values is None else int(values.size)
                if first is None:
                    first = count
                elif count != first:
                    what = "is missing" if count == 0 else f"holds {count} values"
                    return DataSpecError(
                        f"record {index}: feature {error.feature!r} {what}, while the first "
                        f"record holds {first}",
                        path=name,
                        hint=ADVICE,
                        params=("features",),
                    )
    return error


def open_loaders(
    plan: DataPlan, *, loader: str = "auto", backend: str = "tensorflow", seed: int = 42
) -> TrainingData:
    """Open the train (and eval) loaders the plan describes, for the backend in use.

    Raw-pixel bytes features are decoded to uint8 vectors by the loaders themselves.
    """
    kind = choose_loader(loader, backend)
    inputs = plan.inputs
    common: dict[str, Any] = dict(
        label=inputs.label, features=list(inputs.features), batch_size=plan.batch_size
    )
    raw = {n: ("uint8", inputs.shapes[n]) for n in inputs.raw_bytes}
    evaluation = None
    if kind == "tf":
        from pipeline.loaders import tf_dataset

        train = tf_dataset(plan.data, split=plan.train_split, seed=seed, decode_bytes=raw, **common)
        if plan.eval_source is not None:
            evaluation = tf_dataset(
                plan.eval_source,
                split=plan.eval_split,
                shuffle_buffer=0,
                decode_bytes=raw,
                **common,
            )
    else:
        from pipeline.loaders import DecodeOptions, KerasPyDataset, NumpyLoader, OrderOptions

        decode = DecodeOptions(decode_bytes=raw)
        train = KerasPyDataset(
            NumpyLoader(
                plan.data,
                split=plan.train_split,
                order=OrderOptions(shuffle=True, seed=seed),
                decode=decode,
                **common,
            )
        )
        if plan.eval_source is not None:
            evaluation = KerasPyDataset(
                NumpyLoader(
                    plan.eval_source,
                    split=plan.eval_split,
                    order=OrderOptions(shuffle=False),
                    decode=decode,
                    **common,
                )
            )
    return TrainingData(
        train=train,
        eval=evaluation,
        inputs=inputs,
        steps_per_epoch=plan.steps_per_epoch,
        train_records=plan.records,
        loader="tf.data" if kind == "tf" else "numpy",
        data=plan.data,
        transform_dir=plan.transform_dir,
        raw_label=plan.raw_label,
        plan=plan,
    )


def open_training_data(
    data: str,
    *,
    task: str,
    kind: str,
    loader: str = "auto",
    backend: str = "tensorflow",
    seed: int = 42,
    **plan_options: Any,
) -> TrainingData:
    """plan_data + open_loaders in one call."""
    choose_loader(loader, backend)
    plan = plan_data(data, task=task, kind=kind, **plan_options)
    return open_loaders(plan, loader=loader, backend=backend, seed=seed)
