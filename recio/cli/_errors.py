"""From an exception to one line on stderr and an exit code.

The three libraries each raise one exception tree (`recordio.RecordIOError`,
`pipeline.PipelineError`, `models.ModelError`); their messages name Python parameters
(`max_record_bytes`), and `params` lists which words those are, so that here they become the
flags a person typed (`--max-record-bytes`). A tree whose package was never imported cannot have
raised anything, so only the roots already in `sys.modules` are looked at: handling an error
never imports TensorFlow.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from recio.cli import _console
from recordio.errors import (
    CompressedStreamError,
    CorruptRecordError,
    OptionError,
    RecordIOError,
    RecordTooLargeError,
    TrailingDataError,
    TruncatedRecordError,
)

_DAMAGED = (
    CorruptRecordError,
    TruncatedRecordError,
    RecordTooLargeError,
    CompressedStreamError,
    TrailingDataError,
)
# Where a parameter's flag is not `--` + its name with dashes (a negated bool, a short name).
FLAG_OF = {
    "fmt": "--format",
    "num_shards": "--shards",
    "include_original": "--original/--no-original",
    "label_feature": "--label-feature",
    "output_format": "--format",
    "max_bytes": "--bytes",
    "shuffle_seed": "--shuffle",
    "records": "--records",
    "in_fmt": "--from",
    "columns": "--schema",
    "out_fmt": "--to",
    "batch_records": "--batch",
}
# Whole phrases: `name=value` written the way the command line spells that choice.
PHRASES = {
    "strict=False": "--lenient",
    "strict": "--lenient",
    "verify=False": "--no-verify",
    "fmt='raw'": "--raw",
    "raw=True": "--raw",
    "sequence=True": "--sequence",
    "overwrite=True": "--overwrite",
    "include_original=False": "--no-original",
}
# The extra that provides a top-level module, for `pip install 'recio[EXTRA]'`.
EXTRA_OF_MODULE = {
    "tensorflow": "tf",
    "apache_beam": "beam",
    "tensorflow_transform": "beam",
    "tfx_bsl": "beam",
    "tensorflow_metadata": "beam",
    "pyarrow": "beam",
    "keras": "train",
    "tensorboard": "train",
    "matplotlib": "train",
    "jax": "jax",
    "jaxlib": "jax",
    "torch": "torch",
    "fsspec": "cloud",
    "gcsfs": "cloud",
    "s3fs": "cloud",
    "sklearn": "demo",
    "PIL": "demo",
}


def flag_of(param: str) -> str:
    return FLAG_OF.get(param, "--" + param.replace("_", "-"))


def as_flags(text: str, params: tuple[str, ...]) -> str:
    """Rewrite the parameter names `params` lists (and only those) as command-line flags."""
    for param in params:
        for phrase, flag in PHRASES.items():
            if phrase.split("=")[0] == param and phrase in text:
                text = re.sub(rf"(?<![\w-]){re.escape(phrase)}(?![\w])", flag, text)
        pattern = rf"(?<![\w\-.']){re.escape(param)}(?:=(\S+?))?(?=[\s,;:)]|$)"

        def flag(match: re.Match[str], param: str = param) -> str:
            value = match.group(1)
            return flag_of(param) + (f" {value.strip(chr(39))}" if value else "")

        text = re.sub(pattern, flag, text)
    return text


def _roots() -> tuple[type[Exception], ...]:
    """The error roots of the libraries this process has imported."""
    roots: list[type[Exception]] = [RecordIOError]
    for module, name in (
        ("pipeline.errors", "PipelineError"),
        ("models.errors", "ModelError"),
        ("recio.demo.errors", "DemoError"),
    ):
        loaded = sys.modules.get(module)
        if loaded is not None:
            roots.append(getattr(loaded, name))
    return tuple(roots)


def _usage_errors() -> tuple[type[Exception], ...]:
    """Errors about the options a person gave: exit 2, like click's own usage errors."""
    classes: list[type[Exception]] = [OptionError]
    for module, names in (
        ("pipeline.errors", ("JobOptionsError", "LoaderOptionError")),
        ("models.errors", ("TrainingOptionError", "UnknownModelError", "PredictOptionError")),
    ):
        loaded = sys.modules.get(module)
        if loaded is not None:
            classes += [getattr(loaded, name) for name in names if hasattr(loaded, name)]
    return tuple(classes)


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """'... needs the X extra' for a module one of recio's extras installs; else None."""
    top = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    return (
        f"this needs {top}, which is not installed; install it with: pip install 'recio[{extra}]'"
    )


def describe(error: BaseException) -> tuple[str, int] | None:
    """(one line, exit code) for an error a person can act on; None for our own bugs."""
    if isinstance(error, _roots()):
        params: tuple[str, ...] = getattr(error, "params", ())
        message = as_flags(str(error), params) if params else str(error)
        if isinstance(error, _DAMAGED):
            return message, _console.EXIT_DAMAGED
        if isinstance(error, _usage_errors()):
            return message, _console.EXIT_USAGE
        return message, _console.EXIT_USER_ERROR
    if isinstance(error, ModuleNotFoundError):
        found = missing_extra(error)
        return (found, _console.EXIT_USER_ERROR) if found else None
    if isinstance(error, OSError):
        if error.filename:
            return f"{error.filename}: {error.strerror or error}", _console.EXIT_USER_ERROR
        return f"{error.strerror or error}", _console.EXIT_USER_ERROR
    return None


def is_no_args_help(error: Any) -> bool:
    """`recio` or `recio job` with nothing after it: print the help (typer checks the same way)."""
    return type(error).__name__ == "NoArgsIsHelpError"
