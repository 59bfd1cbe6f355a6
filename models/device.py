"""Which Keras backend runs, whether it sees a GPU, and the mixed-precision switch that follows."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass

from models.errors import TrainingOptionError
from pipeline.quiet import quiet_native_startup

__all__ = ["Device", "detect", "has_tensorflow", "quiet_native_startup"]


@dataclass(frozen=True)
class Device:
    """The backend Keras uses and the accelerator it will compute on."""

    backend: str
    gpu: bool
    name: str

    def describe(self) -> str:
        return f"{self.backend} on {self.name}"


def has_tensorflow() -> bool:
    """TensorFlow installed (the lent GPU machine has none: JAX or torch train there)."""
    return importlib.util.find_spec("tensorflow") is not None


@functools.cache
def detect() -> Device:
    """Ask the active backend for its accelerators (imports only that backend)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return Device(backend, bool(gpus), gpus[0].name if gpus else "CPU")
    if backend == "jax":
        import jax

        devices = jax.devices()
        gpu = devices[0].platform == "gpu"
        return Device(backend, gpu, str(devices[0]) if gpu else "CPU")
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return Device(backend, True, torch.cuda.get_device_name(0))
        return Device(backend, False, "CPU")
    return Device(backend, False, "CPU")


def precision_policy(mode: str, device: Device) -> str:
    """'mixed_float16' on a GPU when mode is 'auto' or 'on'; float32 otherwise.

    On a CPU mixed precision is slower, so 'on' without a GPU is refused rather than ignored.
    """
    mode = mode.lower()
    if mode not in ("auto", "on", "off"):
        raise TrainingOptionError(
            f"mixed_precision must be auto, on or off, not {mode!r}", params=("mixed_precision",)
        )
    if mode == "off":
        return "float32"
    if device.gpu:
        return "mixed_float16"
    if mode == "on":
        raise TrainingOptionError(
            "mixed_precision='on' needs a GPU, and none is visible to the "
            f"{device.backend} backend; use auto or off",
            params=("mixed_precision",),
        )
    return "float32"
