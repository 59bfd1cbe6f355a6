"""`recio job augment`: images -> N augmented copies each, as tf.train.Examples.

Input is either a folder with one subfolder per class (`root/cat/001.png` has label "cat",
label_id = the class's index in sorted order, key "cat/001.png"), or Example TFRecord files
with an encoded image feature. Output Examples hold: key, label, [label_id], copy (0 =
original), height, width, image (PNG). Files are sharded by a hash of the key and sorted
inside each shard, so the output is byte-identical across runs, runners and worker counts.
"""

from __future__ import annotations

import os
from typing import Any

from pipeline import progress
from pipeline._files import is_remote, join
from pipeline.cloud import check_cloud_access
from pipeline.errors import InputError
from pipeline.inputs import check_remote_paths, expand_inputs
from pipeline.layout import BAD_ROWS_FILE, DATA_PREFIX, JOB_FILE
from pipeline.options import AugmentJobOptions
from pipeline.outputs import data_split, staged_output
from pipeline.quiet import import_tensorflow_quietly
from pipeline.results import JobResult, write_job_file
from pipeline.runner import pipeline_options

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
MANAGED = ("data-*-of-*", BAD_ROWS_FILE, JOB_FILE)


def list_image_folder(root: str) -> tuple[list[tuple[str, str, int, str]], list[str]]:
    """[(key, label, label_id, path)] for root/<label>/<image>, and the sorted class names."""
    classes = sorted(
        name
        for name in os.listdir(root)
        if os.path.isdir(os.path.join(root, name)) and not name.startswith(".")
    )
    items = []
    for label_id, label in enumerate(classes):
        folder = os.path.join(root, label)
        for dirpath, _, filenames in os.walk(folder):
            for name in filenames:
                if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith("."):
                    path = os.path.join(dirpath, name)
                    key = os.path.relpath(path, root).replace(os.sep, "/")
                    items.append((key, label, label_id, path))
    if not items:
        raise InputError(
            f"{root}: no images found; expected one subfolder per label holding "
            f"{', '.join(IMAGE_SUFFIXES)} files"
        )
    return sorted(items), classes


def _resolve(options: AugmentJobOptions) -> tuple[str, Any, list[str]]:
    """("folder", items, classes) or ("tfrecord", files, [])."""
    inputs = options.inputs
    folders = [p for p in inputs if not is_remote(p) and os.path.isdir(p)]
    if folders:
        if len(folders) != len(inputs):
            raise InputError("give either image folders or TFRecord files, not both")
        items: list[tuple[str, str, int, str]] = []
        classes: list[str] = []
        for folder in folders:
            found, names = list_image_folder(folder)
            items += found
            classes = sorted(set(classes) | set(names))
        if len(folders) > 1:  # label ids must be global across folders
            index = {name: i for i, name in enumerate(classes)}
            items = [(k, lab, index[lab], p) for k, lab, _, p in items]
        keys = [k for k, *_ in items]
        if len(set(keys)) != len(keys):
            raise InputError("two input folders hold an image under the same class/file name")
        return "folder", items, classes
    files = expand_inputs(inputs, what="TFRecord")
    return "tfrecord", files, []


def run_augment_job(
    options: AugmentJobOptions, *, on_progress: progress.ProgressCallback | None = None
) -> JobResult:
    """Write the original and `copies` augmented versions of every image as Examples."""
    check_cloud_access(options.runner, options.inputs, options.output)
    kind, inputs, classes = _resolve(options)
    paths = [item[3] for item in inputs] if kind == "folder" else inputs
    check_remote_paths(options.runner, paths, options.output)
    run_opts = options.runner
    pipeline_options(run_opts)  # Beam's options check out before anything is written
    with staged_output(
        options.output, MANAGED, overwrite=options.overwrite, dry_run=run_opts.dry_run
    ) as out:
        import_tensorflow_quietly()
        import apache_beam as beam

        from pipeline import augment_beam, beam_io, runner
        from pipeline.sinks import write_sorted_shards

        def construct(p: Any) -> None:
            if kind == "folder":
                listed = p | "ListImages" >> beam.Create(inputs)
                if not run_opts.local:
                    listed = listed | "SpreadImages" >> beam.Reshuffle()
                images = listed | "ReadImages" >> beam.ParDo(augment_beam.ReadImageFileFn())
                bad_inputs = None
            else:
                listed = p | "ListRecordFiles" >> beam.Create(inputs)
                read = listed | "ReadImageExamples" >> beam.ParDo(
                    augment_beam.ReadImageExamplesFn(
                        options.image_feature, options.label_feature, options.key_feature
                    )
                ).with_outputs(beam_io.BAD, main="images")
                images, bad_inputs = read.images, read[beam_io.BAD]
                if not run_opts.local:
                    images = images | "SpreadImages" >> beam.Reshuffle()
            augmented = images | "Augment" >> beam.ParDo(
                augment_beam.AugmentFn(
                    options.augment,
                    options.copies,
                    options.include_original,
                    options.seed,
                    options.channels,
                )
            ).with_outputs(beam_io.BAD, main="examples")
            bad = augmented[beam_io.BAD]
            if bad_inputs is not None:
                bad = (bad, bad_inputs) | "AllBadRows" >> beam.Flatten()
            beam_io.write_bad_rows(bad, out)
            write_sorted_shards(
                augmented.examples,
                join(out, DATA_PREFIX),
                num_shards=options.shards,
                compression=options.compression,
                label="WriteExamples",
            )

        outcome = runner.run(construct, run_opts, on_progress=on_progress, output=out)
        if outcome.dry_run:
            return JobResult.translated("augment", out, outcome)
        result = JobResult.finished(
            "augment",
            out,
            outcome,
            splits={"data": data_split(out, outcome.counters)},
            rows_per_input=options.copies + int(options.include_original),
            label="label",
            key="key",
            inputs=tuple(options.inputs),
            extra={
                "classes": classes,
                "copies": options.copies,
                "include_original": options.include_original,
                "seed": options.seed,
            },
        )
        write_job_file(result.moved(out, options.output), out)
        return result
