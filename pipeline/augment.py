"""Offline image augmentation that gives the same bytes on every run, runner and worker count.

Each copy of an image draws its randomness from a stateless seed derived from
sha256("<base seed>:<key>:<copy>") — never from Python's salted hash(), global TF seeds or bundle
order — and uses only tf.image's stateless ops, so the result depends on nothing but the image,
its key and the options. Copy 0 is the original image (re-encoded as PNG); copies 1..N are
augmented. All copies keep the original's key and label, so splitting by key keeps an image and
its copies on the same side.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from typing import Any

from pipeline.options import AugmentOptions


def copy_seed(base_seed: int, key: bytes, copy: int) -> tuple[int, int]:
    """The stateless seed pair of one copy of one image."""
    digest = hashlib.sha256(f"{base_seed}:".encode() + key + f":{copy}".encode()).digest()
    return (
        int.from_bytes(digest[:4], "big") & 0x7FFFFFFF,
        int.from_bytes(digest[4:8], "big") & 0x7FFFFFFF,
    )


def build_augment_fn(options: AugmentOptions, channels: int) -> Callable[[Any, Any], Any]:
    """A tf.function: (uint8 image [H, W, C], int32 seed [2]) -> augmented uint8 image."""
    import tensorflow as tf

    def rotate(x: Any, angle: Any) -> Any:
        shape = tf.shape(x)
        h = tf.cast(shape[0], tf.float32)
        w = tf.cast(shape[1], tf.float32)
        cos, sin = tf.cos(angle), tf.sin(angle)
        x_offset = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2.0
        y_offset = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2.0
        transform = tf.stack([cos, -sin, x_offset, sin, cos, y_offset, 0.0, 0.0])
        out = tf.raw_ops.ImageProjectiveTransformV3(
            images=x[None],
            transforms=transform[None],
            output_shape=shape[:2],
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode="REFLECT",
        )
        return out[0]

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, channels], tf.uint8),
            tf.TensorSpec([2], tf.int32),
        ]
    )
    def augment(image: Any, seed: Any) -> Any:
        seeds = tf.random.experimental.stateless_split(seed, num=5)
        x = tf.cast(image, tf.float32) / 255.0
        size = tf.shape(x)[:2]
        if options.flip:
            x = tf.image.stateless_random_flip_left_right(x, seeds[0])
        if options.rotate and options.max_rotation > 0:
            limit = options.max_rotation * math.pi / 180.0
            angle = tf.random.stateless_uniform([], seeds[1], -limit, limit)
            x = rotate(x, angle)
        if options.crop and options.crop_fraction < 1.0:
            crop = tf.maximum(
                tf.cast(tf.round(tf.cast(size, tf.float32) * options.crop_fraction), tf.int32), 1
            )
            x = tf.image.stateless_random_crop(x, tf.concat([crop, [channels]], 0), seeds[2])
            x = tf.image.resize(x, size, method="bilinear")
        if options.brightness and options.brightness_delta > 0:
            x = tf.image.stateless_random_brightness(x, options.brightness_delta, seeds[3])
        if options.contrast and options.contrast_lower < options.contrast_upper:
            x = tf.image.stateless_random_contrast(
                x, options.contrast_lower, options.contrast_upper, seeds[4]
            )
        x = tf.clip_by_value(x, 0.0, 1.0)
        return tf.cast(tf.round(x * 255.0), tf.uint8)

    return augment


def example_bytes(features: dict[str, Any]) -> bytes:
    """A tf.train.Example with deterministic serialization (sorted feature map)."""
    import tensorflow as tf

    feature = {}
    for name, value in features.items():
        if isinstance(value, bytes):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        elif isinstance(value, int):
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
        elif isinstance(value, float):
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
        elif isinstance(value, tf.train.Feature):
            feature[name] = value
        else:
            raise TypeError(f"feature {name!r}: unsupported value {type(value).__name__}")
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString(deterministic=True)


def augmented_examples(
    key: bytes,
    label: Any,
    encoded: bytes,
    *,
    augment: Callable[[Any, Any], Any],
    copies: int,
    include_original: bool,
    seed: int,
    channels: int,
    extra: dict[str, Any] | None = None,
) -> Iterator[tuple[int, bytes]]:
    """(copy index, serialized Example) for the original and each augmented copy."""
    import tensorflow as tf

    image = tf.io.decode_image(encoded, channels=channels, dtype=tf.uint8, expand_animations=False)
    height, width = int(image.shape[0]), int(image.shape[1])
    base = {**(extra or {}), "key": key, "label": label, "height": height, "width": width}
    first = 0 if include_original else 1
    for copy in range(first, copies + 1):
        if copy == 0:
            pixels = image
        else:
            pixels = augment(image, tf.constant(copy_seed(seed, key, copy), tf.int32))
        png = tf.io.encode_png(pixels).numpy()
        yield copy, example_bytes({**base, "copy": copy, "image": png})
