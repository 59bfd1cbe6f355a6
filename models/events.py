"""TensorBoard scalar logs without TensorFlow or the tensorboard package.

An event file is a TFRecord file of `Event` protos, so recordio's writer frames it and the few
proto fields needed (wall_time, step, file_version, summary.value{tag, simple_value}) are encoded
by hand. Used when Keras' TensorBoard callback cannot write (no `tensorboard` package, or a JAX or
torch backend without TensorFlow); TensorBoard shows the per-epoch curves the same way.
"""

from __future__ import annotations

import math
import socket
import struct
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_event(
    wall_time: float,
    step: int = 0,
    *,
    file_version: str | None = None,
    scalars: Mapping[str, float] | None = None,
) -> bytes:
    """A serialized tensorflow.Event (fields 1 wall_time, 2 step, 3 file_version, 5 summary)."""
    out = bytearray(b"\x09" + struct.pack("<d", wall_time))
    if step:
        out += b"\x10" + _varint(step)
    if file_version is not None:
        out += _field_bytes(3, file_version.encode())
    if scalars:
        summary = bytearray()
        for tag, value in scalars.items():
            item = _field_bytes(1, tag.encode()) + b"\x15" + struct.pack("<f", value)
            summary += _field_bytes(1, item)
        out += _field_bytes(5, bytes(summary))
    return bytes(out)


class EventFile:
    """An append-only event file, flushed after every write so TensorBoard sees it live."""

    def __init__(self, folder: Path) -> None:
        from recordio import TFRecordWriter

        folder.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.recio"
        self.path = folder / name
        self._handle = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._writer = TFRecordWriter(self._handle)
        self.write(encode_event(time.time(), file_version="brain.Event:2"))

    def write(self, event: bytes) -> None:
        self._writer.write(event)
        self._writer.flush()

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        finite = {k: float(v) for k, v in values.items() if math.isfinite(float(v))}
        if finite:
            self.write(encode_event(time.time(), step, scalars=finite))

    def close(self) -> None:
        self._writer.close()
        self._handle.close()


class ScalarTensorBoard(keras.callbacks.Callback):
    """Per-epoch `epoch_<metric>` scalars in RUN/train and RUN/validation, like Keras' callback."""

    def __init__(self, log_dir: str | Path) -> None:
        super().__init__()
        self.log_dir = Path(log_dir)
        self._files: dict[str, EventFile] = {}

    def _file(self, split: str) -> EventFile:
        if split not in self._files:
            self._files[split] = EventFile(self.log_dir / split)
        return self._files[split]

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        train: dict[str, float] = {}
        validation: dict[str, float] = {}
        for key, value in (logs or {}).items():
            if key.startswith("val_"):
                validation[f"epoch_{key[4:]}"] = float(value)
            else:
                train[f"epoch_{key}"] = float(value)
        from models.report import current_learning_rate

        rate = current_learning_rate(self.model)
        if rate is not None:
            train["epoch_learning_rate"] = rate
        self._file("train").scalars(epoch, train)
        if validation:
            self._file("validation").scalars(epoch, validation)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
