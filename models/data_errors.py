"""From a TensorFlow failure while reading records to the file, record and feature it concerns.

tf.data and `tf.io.parse_example` fail with "Graph execution error:" and bury the cause ("Feature:
total_bedrooms (data type: float) is required but could not be found") in a node trace, without
the file or the record. On that failure the training data is read again with the TF-free
NumpyLoader, which names both; a serving batch is retried record by record.
"""

from __future__ import annotations

import re
from typing import Any

from models.errors import DataSpecError

_MISSING = re.compile(
    r"Feature: (?P<name>[^\s(]+) \(data type: (?P<dtype>\w+)\) is required but could not be found"
)
_KEYED = re.compile(r"Key: (?P<name>[^\s,]+), Index: \d+\.\s+(?P<what>[^\n\[]+)")
_FEATURE = re.compile(r"Feature: (?P<name>[^\s(]+) \(data type: (?P<dtype>\w+)\)[^\n.\[]*")
ADVICE = (
    "every record must hold each input the model reads: give the column a fill in the "
    "`recio job transform` schema, drop such records, or list the inputs to keep with "
    "features=NAME,NAME"
)


def is_data_failure(error: BaseException) -> bool:
    """TensorFlow's errors for records that do not fit a parsing spec (not our own bugs)."""
    module = type(error).__module__ or ""
    return module.startswith("tensorflow") and type(error).__name__ in (
        "InvalidArgumentError",
        "DataLossError",
    )


def tf_reason(error: BaseException) -> str | None:
    """The cause in TF's message, in words: "feature 'x' (float) is missing", or None."""
    text = str(error)
    found = _MISSING.search(text)
    if found:
        return f"feature {found['name']!r} ({found['dtype']}) is missing"
    found = _KEYED.search(text)
    if found:
        return f"feature {found['name']!r}: {found['what'].strip().rstrip('.')}"
    found = _FEATURE.search(text)
    if found:
        return found.group(0).strip()
    return None


def find_bad_record(plan: Any) -> Any:
    """The first record of the plan's train (then eval) data that does not fit its features, as
    the loaders' RecordSpecError (file and record index), or None when every record fits."""
    from pipeline.errors import RecordSpecError
    from pipeline.loaders import DecodeOptions, NumpyLoader, OrderOptions

    inputs = plan.inputs
    raw = {n: ("uint8", inputs.shapes[n]) for n in inputs.raw_bytes}
    sources = [(plan.data, plan.train_split)]
    if plan.eval_source is not None:
        sources.append((plan.eval_source, plan.eval_split))
    for data, split in sources:
        loader = NumpyLoader(
            data,
            label=inputs.label,
            features=list(inputs.features),
            split=split,
            batch_size=1024,
            order=OrderOptions(shuffle=False),
            decode=DecodeOptions(decode_bytes=raw),
        )
        try:
            for _ in loader:
                pass
        except RecordSpecError as error:
            return error
    return None


def training_data_error(error: BaseException, plan: Any) -> DataSpecError | None:
    """A DataSpecError naming the record and feature behind a TF failure in fit; None if unknown."""
    if not is_data_failure(error):
        return None
    found = find_bad_record(plan) if plan is not None else None
    if found is not None:
        where = f"record {found.index}: " if found.index is not None else ""
        return DataSpecError(
            f"{where}{found.detail}", path=found.path, hint=ADVICE, params=("features",)
        )
    reason = tf_reason(error)
    if reason is None:
        return None
    source = f"{plan.data}: " if plan is not None else ""
    return DataSpecError(
        f"{source}a record does not fit the model's input: {reason}",
        hint=ADVICE,
        params=("features",),
    )
