"""Small file helpers that work on local paths and on Beam filesystems (gs://, s3://, ...).

Local writes are atomic (temporary file in the target folder, then rename); remote object
stores publish an object only when it is closed, which is atomic already.
"""

from __future__ import annotations

import glob
import os
import secrets
from collections.abc import Iterable

from pipeline.errors import InputError


def is_remote(path: str) -> bool:
    """True for URLs such as gs://bucket/x that need Beam's FileSystems."""
    return "://" in path and not path.startswith("file://")


def join(base: str, *parts: str) -> str:
    """Join path parts with '/' for URLs and os.path.join for local paths."""
    if is_remote(base):
        return "/".join([base.rstrip("/"), *parts])
    return os.path.join(base, *parts)


def read_text(path: str, *, what: str = "file") -> str:
    try:
        if is_remote(path):
            from apache_beam.io.filesystems import FileSystems

            with FileSystems.open(path) as handle:
                return handle.read().decode("utf-8")
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError as error:
        raise InputError(f"{path}: {what} not found") from error
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: {what} is not UTF-8 text") from error
    except OSError as error:
        raise InputError(f"{path}: cannot read {what}: {error.strerror or error}") from error


def write_bytes(path: str, data: bytes) -> None:
    """Write a whole file atomically (locally) or as one object (remote)."""
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(path) as handle:
            handle.write(data)
        return
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    temp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{secrets.token_hex(4)}")
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def make_dirs(path: str) -> None:
    if not is_remote(path):
        os.makedirs(path, exist_ok=True)


def match_files(patterns: Iterable[str], *, what: str = "input") -> list[str]:
    """Expand globs (and directories) into a sorted list of files; clear error when empty."""
    files: list[str] = []
    for pattern in patterns:
        found: list[str]
        if is_remote(pattern):
            from apache_beam.io.filesystems import FileSystems

            results = FileSystems.match([pattern])
            found = [m.path for r in results for m in r.metadata_list]
        elif os.path.isdir(pattern):
            found = [
                os.path.join(pattern, name)
                for name in os.listdir(pattern)
                if not name.startswith((".", "_")) and os.path.isfile(os.path.join(pattern, name))
            ]
        else:
            found = [p for p in glob.glob(os.path.expanduser(pattern)) if os.path.isfile(p)]
        if not found:
            raise InputError(f"{pattern}: no {what} files match; check the path or the glob")
        files.extend(found)
    return sorted(dict.fromkeys(files))


def scratch_dir(prefix: str) -> str:
    """A temporary folder removed when the process exits."""
    import atexit
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def count_lines(path: str) -> int | None:
    """Lines of a local text file (0 when it does not exist); None for a remote one."""
    if is_remote(path):
        return None
    if not os.path.isfile(path):
        return 0
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)
