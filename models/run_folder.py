"""A training run's folder, replaced atomically: the old run stays until the new one is complete.

A run trains into a hidden sibling (`.NAME.tmp-PID`); only when training, export and the report
are done does the old run move aside and the new folder take its name. An error, Ctrl-C or
SIGTERM (which the CLI raises as a KeyboardInterrupt) removes the sibling and leaves the old
run as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from models.errors import ModelError, RunExistsError, TrainingOptionError

MANIFEST = "recio_model.json"


def check_output(output: Path, *, overwrite: bool = False) -> Path:
    """Refuse a file, a folder that is not a recio run, and an existing run without overwrite."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise TrainingOptionError(
            f"output={output} is a file; give a folder for the run", params=("output",)
        )
    if not output.is_dir() or not any(output.iterdir()):
        _check_writable(output)
        return output
    if not (output / MANIFEST).is_file():
        raise TrainingOptionError(
            f"output={output} holds files that are not a recio training run; "
            "choose an empty or new folder",
            params=("output",),
        )
    if not overwrite:
        raise RunExistsError(
            f"output={output} already holds a training run; pass overwrite=True to replace it "
            "(the old run stays until the new one is complete) or choose another output",
            params=("output", "overwrite"),
        )
    return output


def _check_writable(output: Path) -> None:
    """Fail before any work when the run could not be written where it is asked for."""
    from pipeline.outputs import blocking_file

    in_the_way = blocking_file(str(output))
    if in_the_way is not None:
        raise _cannot_write(output, NotADirectoryError(20, "Not a directory"))
    parent = output.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _cannot_write(output, PermissionError(13, "Permission denied"))


@contextlib.contextmanager
def staged_run(output: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh hidden sibling of `output` to train into; publish it as `output` on success."""
    output = check_output(Path(output), overwrite=overwrite)
    parent = output.absolute().parent
    # short, so that any name the filesystem accepts for the run also works for its sibling
    stage = parent / f".{output.name[:200]}.tmp-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
    except OSError as error:
        raise _cannot_write(output, error) from None
    try:
        yield stage
        try:
            publish(stage, output)
        except OSError as error:
            raise _cannot_write(output, error) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _cannot_write(output: Path, error: OSError) -> ModelError:
    """An OSError about the staging folder, told about the folder the user named."""
    from pipeline.outputs import blocking_file

    in_the_way = blocking_file(str(output))
    if in_the_way is not None:
        return ModelError(
            f"{in_the_way} is a file, not a folder; choose another output folder",
            path=str(output),
        )
    return ModelError(
        f"cannot write the run there: {error.strerror or error}; choose a folder you can write to",
        path=str(output),
    )


def publish(stage: Path, output: Path) -> None:
    """Swap `stage` in as `output`; an existing `output` moves aside first and is then removed."""
    old = stage.with_name(stage.name.replace(".tmp-", ".old-", 1))
    moved = False
    if output.is_dir() and any(output.iterdir()):
        output.rename(old)
        moved = True
    elif output.is_dir():
        output.rmdir()
    try:
        stage.rename(output)
    except BaseException:
        if moved:
            old.rename(output)
        raise
    if moved:
        shutil.rmtree(old, ignore_errors=True)
