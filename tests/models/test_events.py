"""recio's TF-free TensorBoard event writer, read back by TensorFlow's own event reader."""

from __future__ import annotations

import pytest

pytest.importorskip("keras")  # models.events imports keras

from models.events import EventFile, encode_event  # noqa: E402


@pytest.mark.requires_tf
def test_event_files_read_back_with_tensorflow(tmp_path):
    tf = pytest.importorskip("tensorflow")
    events = EventFile(tmp_path / "train")
    events.scalars(0, {"epoch_loss": 0.75, "epoch_accuracy": 0.5})
    events.scalars(3, {"epoch_loss": 0.25, "bad": float("nan")})
    events.close()
    read = list(tf.compat.v1.train.summary_iterator(str(events.path)))
    assert read[0].file_version == "brain.Event:2"
    assert [(e.step, {v.tag: v.simple_value for v in e.summary.value}) for e in read[1:]] == [
        (0, {"epoch_loss": 0.75, "epoch_accuracy": 0.5}),
        (3, {"epoch_loss": 0.25}),  # NaN is dropped, not written
    ]


@pytest.mark.requires_tf
def test_encoding_matches_tensorflows_event_proto():
    pytest.importorskip("tensorflow")
    from tensorflow.core.util import event_pb2

    event = event_pb2.Event(wall_time=1.5, step=300)
    event.summary.value.add(tag="epoch_loss", simple_value=0.125)
    assert encode_event(1.5, 300, scalars={"epoch_loss": 0.125}) == event.SerializeToString()
    version = event_pb2.Event(wall_time=2.0, file_version="brain.Event:2")
    assert encode_event(2.0, file_version="brain.Event:2") == version.SerializeToString()
