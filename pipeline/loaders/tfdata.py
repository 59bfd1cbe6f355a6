"""The tf.data loader: Example TFRecords -> `(features, label)` batches for `keras.Model.fit`.

The chain is the one chapter 13 recommends, tuned: list and shuffle the files, read them
interleaved in parallel, cache the serialized records when asked, shuffle records with a seeded
buffer, batch *before* parsing (one vectorised `parse_example` per 1,024 records or more instead
of one `parse_single_example` per record; smaller batches are cut from those with `rebatch`),
apply the tf.Transform graph when reading raw data, and end with `prefetch(AUTOTUNE)`.
Compression is detected per file from its first bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.errors import LoaderError
from pipeline.loaders.files import is_remote, open_binary, record_reader, resolve_files
from pipeline.loaders.spec import FeatureSpec, load_spec, raw_spec_of_transform, select

DEFAULT_CYCLE = 8
PARSE_BATCH = 1024


def _compression_of(path: str) -> str:
    from recordio.compression import Compression, detect

    if is_remote(path):
        import tensorflow as tf

        with tf.io.gfile.GFile(path, "rb") as handle:
            head = handle.read(12)
    else:
        with open_binary(path) as handle:
            head = handle.read(12)
    found = detect(head)
    return "" if found is Compression.NONE else found.value


def _files(data: Any, split: str | None) -> list[str]:
    if isinstance(data, str) and is_remote(data):
        import tensorflow as tf

        found = sorted(tf.io.gfile.glob(data)) if any(c in data for c in "*?[") else [data]
        if not found:
            raise LoaderError(f"{data}: no file matches this pattern")
        return found
    return resolve_files(data, split)


def tf_dataset(
    data: str | os.PathLike[str] | Sequence[str],
    *,
    label: str,
    features: Sequence[str] | None = None,
    split: str | None = None,
    batch_size: int = 32,
    shuffle_buffer: int = 10_000,
    seed: int | None = None,
    repeat: bool = False,
    cache: bool | str = False,
    drop_remainder: bool = False,
    transform_dir: str | None = None,
    spec: Mapping[str, FeatureSpec] | None = None,
    decode_bytes: Mapping[str, Any] | None = None,
    to_float32: Mapping[str, float] | None = None,
    cycle_length: int | None = None,
    verify: bool = False,
    salvage: bool = False,
    rank: int = 0,
    world_size: int = 1,
    remainder: str = "drop",
    pad: Mapping[str, int] | None = None,
    return_lengths: bool = False,
) -> Any:
    """A `tf.data.Dataset` of `(features_dict, label)` batches.

    Resuming: with a `seed`, the position of an iterator (its shuffle buffers included) is saved
    and restored by tf.data's own checkpointing: `ckpt = tf.train.Checkpoint(iterator=it)`,
    `ckpt.save(path)` / `ckpt.restore(path)` on a new iterator of the same dataset continues
    with the very next batch (not with `salvage`: its reader is a Python generator).

    Args:
        data: a folder (`recio job transform`/`recio job csv` output, or any folder of
            TFRecords), a glob (local or gs://...), a file, or a list of them.
        label: the feature returned as the target.
        features: features to return (default all but the label).
        split: "train"/"eval" of a transform job's output (default train).
        batch_size, drop_remainder: as `Dataset.batch`.
        shuffle_buffer: records in the shuffle buffer; 0 reads in file order (no shuffling).
        seed: makes the order reproducible (and the pipeline deterministic); None = fastest.
        repeat: repeat forever (use with `steps_per_epoch`).
        cache: keep the serialized records in memory after the first epoch (or in a file, when
            a path is given).
        transform_dir: a `recio job transform` output: `data` holds *raw* records, which are
            parsed with the raw schema and passed through its tf.Transform graph.
        spec: the feature spec (default: the data's schema, or inferred from its records).
        decode_bytes: {name: dtype or (dtype, shape)}: raw numbers stored in a bytes feature.
        to_float32: {name: scale}: cast a feature to float32 and multiply it.
        cycle_length: files read at once (default min(8, number of files)).
        verify: read every file through recordio first: damage then raises recordio's error
            naming the file, record and byte offset (TF's reader names neither).
        salvage: read through recordio, skipping damaged records (slower than TF's reader);
            what was skipped is listed in the returned dataset's `recio_damage`.
        rank, world_size, remainder: read only this rank's part: the same equal parts at
            record level as NumpyLoader (`recordio.parts`; every rank gets as many records,
            `remainder` "drop", "pad" or "uneven"), read as skip/take of each file.
        pad: {name: width}: cut or pad a variable-length feature to a fixed width (as the
            NumpyLoader does; other variable-length features are padded to the batch's longest).
        return_lengths: add `NAME__length` (int64, values kept per row) for every
            variable-length feature, as the NumpyLoader does.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise LoaderError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(shuffle_buffer, int) or shuffle_buffer < 0:
        raise LoaderError(f"shuffle_buffer must be an integer >= 0, got {shuffle_buffer!r}")
    files = _files(data, split)
    where = str(data) if isinstance(data, (str, os.PathLike)) else files[0]
    tfo = None
    if transform_dir is not None:
        import tensorflow_transform as tft

        raw_spec = dict(spec) if spec is not None else raw_spec_of_transform(transform_dir)
        tfo = tft.TFTransformOutput(transform_dir)
        out_spec = {n: FeatureSpec.from_tf(n, f) for n, f in tfo.transformed_feature_spec().items()}
        visible = {**{n: s for n, s in raw_spec.items() if n == label}, **out_spec}
        names, _ = select(visible, label, features, where)
        parse_spec = {n: s.to_tf() for n, s in raw_spec.items()}
    else:
        full = dict(spec) if spec is not None else load_spec(data, split, salvage=salvage)
        names, _ = select(full, label, features, where)
        parse_spec = {n: full[n].to_tf() for n in (*names, label)}
        visible = full
    scales = dict(to_float32 or {})
    for name in scales:
        if name not in names and name != label:
            raise LoaderError(f"to_float32 names {name!r}, not a loaded feature")
    raw_decode = _raw_decoders(decode_bytes or {}, visible, names + [label])
    widths = dict(pad or {})
    for name, width in widths.items():
        if name not in names and name != label:
            raise LoaderError(f"pad names {name!r}, not a loaded feature")
        if not isinstance(width, int) or isinstance(width, bool) or width < 0:
            raise LoaderError(f"pad[{name!r}] must be an integer >= 0, got {width!r}")

    import tensorflow as tf  # once the options check out

    if verify:
        _verify(files)
    damage: list[Any] = []
    spans = _spans(files, rank, world_size, remainder, salvage)
    compressions = [_compression_of(f) for f in files]
    deterministic = seed is not None
    autotune = tf.data.AUTOTUNE
    ds = tf.data.Dataset.from_tensor_slices(
        (
            [s[0] for s in spans],
            [compressions[files.index(s[0])] for s in spans],
            tf.constant([s[1] for s in spans], tf.int64),
            tf.constant([s[2] for s in spans], tf.int64),
        )
    )
    if shuffle_buffer > 0 and len(spans) > 1:
        ds = ds.shuffle(len(spans), seed=seed, reshuffle_each_iteration=True)
    cycle = cycle_length or max(1, min(DEFAULT_CYCLE, len(spans)))

    def read(path: Any, comp: Any, start: Any, count: Any) -> Any:
        records = (
            _salvaging_reader(path, damage)
            if salvage
            else tf.data.TFRecordDataset(path, compression_type=comp)
        )
        return records if world_size == 1 else records.skip(start).take(count)

    ds = ds.interleave(
        read,
        cycle_length=cycle,
        block_length=1,
        num_parallel_calls=autotune,
        deterministic=deterministic,
    )
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if shuffle_buffer > 0:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    # Parse in batches of at least PARSE_BATCH records (a multiple of batch_size) and cut them
    # to size afterwards: parse_example's cost per call dominates small batches.
    parse_batch = batch_size * max(1, -(-PARSE_BATCH // batch_size))
    ds = ds.batch(parse_batch, drop_remainder=drop_remainder and parse_batch == batch_size)

    def parse(serialized: Any) -> tuple[dict[str, Any], Any]:
        parsed = tf.io.parse_example(serialized, parse_spec)
        if tfo is not None:
            raw_label = parsed.get(label)
            parsed = tfo.transform_raw_features(parsed, drop_unused_features=True)
            if label not in parsed and raw_label is not None:
                parsed[label] = raw_label
        out = {}
        lengths: dict[str, Any] = {}
        for name in (*names, label):
            value = parsed[name]
            if isinstance(value, tf.SparseTensor):
                ragged = tf.RaggedTensor.from_sparse(value)
                width = widths.get(name)
                if width is not None:
                    ragged = ragged[:, :width]
                if return_lengths:
                    lengths[f"{name}__length"] = ragged.row_lengths()
                value = ragged.to_tensor(shape=None if width is None else [None, width])
            elif name in widths:
                raise LoaderError(f"pad[{name!r}]: the feature already has a fixed shape")
            if name in raw_decode:
                dtype, shape = raw_decode[name]
                value = tf.reshape(tf.io.decode_raw(value, dtype), [-1, *shape])
            if name in scales:
                value = tf.cast(value, tf.float32) * scales[name]
            out[name] = value
        target = out.pop(label)
        return {**out, **lengths}, target

    ds = ds.map(parse, num_parallel_calls=autotune, deterministic=deterministic)
    if parse_batch != batch_size:
        ds = ds.rebatch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    options.deterministic = deterministic
    ds = ds.with_options(options).prefetch(autotune)
    ds.recio_damage = damage  # what salvage skipped, filled in as the data is read
    return ds


def _spans(
    files: list[str], rank: int, world_size: int, remainder: str, salvage: bool
) -> list[tuple[str, int, int]]:
    """(path, first record, records) this rank reads: whole files for one rank, else its equal
    part (the same as NumpyLoader's, from the same record counts)."""
    from pipeline.loaders._lanes import ReadOptions, count_records
    from recordio.errors import OptionError
    from recordio.parts import split_files

    if world_size == 1 and rank == 0:
        return [(f, 0, -1) for f in files]
    opts = ReadOptions(salvage=salvage)
    try:
        counts = [count_records(f, opts) for f in files]
        spans = split_files(files, counts, rank=rank, world_size=world_size,
                            remainder=remainder)  # type: ignore[arg-type]  # fmt: skip
    except OptionError as error:
        raise LoaderError(str(error)) from None
    return [(s.path, s.start, s.count) for s in spans]


def _verify(files: Sequence[str]) -> None:
    """Read every file through recordio first, so damage raises recordio's error (file, record,
    byte offset) before training starts; TF's reader would only say "corrupted record"."""
    for path in files:
        with record_reader(path) as reader:
            for _ in reader.iter_batches(max_records=8192):
                pass


def _salvaging_reader(path: Any, damage: list[Any]) -> Any:
    """Records of one file read by recordio, skipping (and reporting) damaged ones."""
    import numpy as np
    import tensorflow as tf

    def records(name: bytes) -> Any:
        with record_reader(name.decode(), on_damage=damage.append) as reader:
            for batch in reader.iter_batches(max_records=1024):
                yield np.array(batch, dtype=object)

    signature = tf.TensorSpec([None], tf.string)
    return tf.data.Dataset.from_generator(
        records, args=(path,), output_signature=signature
    ).unbatch()


def _raw_decoders(
    decode_bytes: Mapping[str, Any], spec: Mapping[str, FeatureSpec], names: Sequence[str]
) -> dict[str, tuple[Any, tuple[int, ...]]]:
    import numpy as np
    import tensorflow as tf

    out = {}
    for name, how in decode_bytes.items():
        if name not in names:
            raise LoaderError(f"decode_bytes names {name!r}, not a loaded feature")
        fs = spec.get(name)
        if fs is not None and (fs.kind != "bytes" or fs.shape != ()):
            raise LoaderError(
                f"decode_bytes[{name!r}]: only a feature holding one bytes value per record can be "
                f"decoded as raw numbers (it is {fs.kind} with shape {fs.shape})"
            )
        dtype, shape = (how, (-1,)) if isinstance(how, str) else (how[0], tuple(how[1]))
        try:
            out[name] = (tf.as_dtype(np.dtype(dtype)), tuple(int(d) for d in shape))
        except TypeError:
            raise LoaderError(f"decode_bytes[{name!r}]: unknown dtype {dtype!r}") from None
    return out


__all__ = ["tf_dataset"]
