"""The augmentation job's DoFns (imports Beam; only augment_job imports this module)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from pipeline import progress
from pipeline.augment import augmented_examples, build_augment_fn
from pipeline.beam_io import BAD
from pipeline.options import AugmentOptions

ImageItem = tuple[bytes, Any, bytes, dict]  # key, label, encoded image, extra features
_WRITTEN = ("key", "label", "copy", "height", "width", "image")  # set by the augment step


class ReadImageFileFn(beam.DoFn):
    """(key, label, label_id, path) -> (key, label, encoded bytes, {"label_id": id})."""

    def process(self, item: tuple[str, str, int, str]) -> Iterator[ImageItem]:
        from apache_beam.io.filesystems import FileSystems

        key, label, label_id, path = item
        with FileSystems.open(path) as handle:
            data = handle.read()
        yield key.encode("utf-8"), label.encode("utf-8"), data, {"label_id": label_id}


class ReadImageExamplesFn(beam.DoFn):
    """path of an Example TFRecord file -> one image item per record (bad records -> 'bad')."""

    def __init__(self, image_feature: str, label_feature: str, key_feature: str) -> None:
        self.image_feature = image_feature
        self.label_feature = label_feature
        self.key_feature = key_feature

    def process(self, path: str) -> Iterator[Any]:
        import tensorflow as tf
        from apache_beam.io.filesystem import CompressionTypes
        from apache_beam.io.filesystems import FileSystems

        from recordio import TFRecordReader

        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            for index, record in enumerate(TFRecordReader(raw)):
                try:
                    features = tf.train.Example.FromString(record).features.feature
                except Exception as error:  # noqa: BLE001 - a record that is not an Example
                    yield self._bad(path, index, f"not a tf.train.Example: {error}")
                    continue
                image = features.get(self.image_feature)
                if image is None or len(image.bytes_list.value) != 1:
                    yield self._bad(path, index, f"no single bytes feature {self.image_feature!r}")
                    continue
                data = image.bytes_list.value[0]
                key_feature = features.get(self.key_feature)
                if key_feature is not None and key_feature.bytes_list.value:
                    key = key_feature.bytes_list.value[0]
                elif key_feature is not None and key_feature.int64_list.value:
                    key = str(key_feature.int64_list.value[0]).encode()
                else:
                    key = hashlib.sha256(data).hexdigest().encode()
                label = features.get(self.label_feature)
                own = {self.image_feature, self.key_feature, self.label_feature, *_WRITTEN}
                extra: dict[str, Any] = {  # other features ride along unchanged
                    name: value for name, value in features.items() if name not in own
                }
                label_value: Any = b""
                if label is not None:
                    if label.bytes_list.value:
                        label_value = label.bytes_list.value[0]
                    elif label.int64_list.value:
                        label_value = int(label.int64_list.value[0])
                yield key, label_value, data, extra

    @staticmethod
    def _bad(path: str, index: int, reason: str) -> Any:
        progress.count("bad_rows", 1)
        record = {"file": path, "record": index, "reason": reason}
        return pvalue.TaggedOutput(BAD, json.dumps(record))


class AugmentFn(beam.DoFn):
    """image item -> (sort key, serialized Example) for the original and every copy."""

    def __init__(
        self, options: AugmentOptions, copies: int, include_original: bool, seed: int, channels: int
    ) -> None:
        self.options = options
        self.copies = copies
        self.include_original = include_original
        self.seed = seed
        self.channels = channels

    def setup(self) -> None:
        self.augment = build_augment_fn(self.options, self.channels)

    def process(self, item: ImageItem) -> Iterator[Any]:
        key, label, data, extra = item
        try:
            outputs = list(
                augmented_examples(
                    key,
                    label,
                    data,
                    augment=self.augment,
                    copies=self.copies,
                    include_original=self.include_original,
                    seed=self.seed,
                    channels=self.channels,
                    extra=extra,
                )
            )
        except Exception as error:  # noqa: BLE001 - an undecodable image is a bad row
            progress.count("bad_rows", 1)
            reason = str(error).split("\n")[0][:300]
            bad = {"key": key.decode("utf-8", "replace"), "reason": f"cannot decode: {reason}"}
            yield pvalue.TaggedOutput(BAD, json.dumps(bad))
            return
        progress.count(progress.ROWS_COUNTER, 1)
        progress.count("rows_written", len(outputs))
        for copy, record in outputs:
            yield key + b"\x00" + copy.to_bytes(4, "big"), record
