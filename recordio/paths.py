"""Paths beyond the local disk: any recordio path may be an fsspec URL (gs://, s3://, memory://,
http(s):// for reading).

Local paths keep the plain `open`/`os` fast path and never import fsspec; a URL goes through
fsspec (`pip install 'recio[cloud]'` brings fsspec, gcsfs and s3fs). Writes to a URL go to a
hidden temporary object next to the target, moved into place on close and deleted on abort, so
that a reader never sees half a file under the final name (as for local files).
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from recordio.errors import RecordIOError


def is_url(path: str | os.PathLike[str]) -> bool:
    """True for `scheme://...` paths other than file:// (those are local)."""
    text = os.fspath(path)
    return "://" in text and not text.startswith("file://")


def local(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    return text[len("file://") :] if text.startswith("file://") else text


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) of a URL; a clear error without fsspec."""
    try:
        import fsspec
    except ImportError:
        raise RecordIOError(
            "reading or writing URLs needs fsspec",
            path=url,
            hint="pip install 'recio[cloud]'",
        ) from None
    fs, inner = fsspec.core.url_to_fs(url)
    return fs, inner


def _url_of(fs: Any, inner: str, like: str) -> str:
    """A path the filesystem listed, spelled as a URL again (memory://x, gs://bucket/x)."""
    if "://" in inner:
        return inner
    protocol = like.split("://", 1)[0]
    return f"{protocol}://{inner.lstrip('/')}"


def open_read(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary file for reading (the caller closes it)."""
    if not is_url(path):
        return open(local(path), "rb")  # noqa: SIM115 - the caller closes it
    fs, inner = filesystem(os.fspath(path))
    try:
        return fs.open(inner, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such file or directory", os.fspath(path)) from None


def exists(path: str) -> bool:
    if not is_url(path):
        return os.path.exists(local(path))
    fs, inner = filesystem(path)
    return bool(fs.exists(inner))


def isdir(path: str) -> bool:
    if not is_url(path):
        return os.path.isdir(local(path))
    fs, inner = filesystem(path)
    return bool(fs.isdir(inner))


def isfile(path: str) -> bool:
    if not is_url(path):
        return os.path.isfile(local(path))
    fs, inner = filesystem(path)
    return bool(fs.isfile(inner))


def getsize(path: str) -> int:
    if not is_url(path):
        return os.path.getsize(local(path))
    fs, inner = filesystem(path)
    return int(fs.size(inner))


def signature(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(size, modification time in ns) of a file: what tells an index that its file changed.

    Object stores give the time of the last write (0 where a store keeps none: then the size
    and the index's content fingerprint still catch a rewrite).
    """
    if not is_url(path):
        stat = os.stat(local(path))
        return stat.st_size, stat.st_mtime_ns
    url = os.fspath(path)
    fs, inner = filesystem(url)
    try:
        info = fs.info(inner)
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such file or directory", url) from None
    try:
        stamp = fs.modified(inner)
        mtime = int(stamp.timestamp() * 1e6) * 1000  # datetimes keep microseconds
    except (NotImplementedError, AttributeError, TypeError, ValueError, OSError):
        mtime = 0
    return int(info["size"]), mtime


def read_ranges(path: str | os.PathLike[str], starts: list[int], ends: list[int]) -> list[bytes]:
    """The bytes [starts[i], ends[i]) of a file, fetched together (one batch of requests on an
    object store, `pread` locally)."""
    if not is_url(path):
        fd = os.open(local(path), os.O_RDONLY)
        try:
            pairs = zip(starts, ends, strict=True)
            return [os.pread(fd, end - start, start) for start, end in pairs]
        finally:
            os.close(fd)
    fs, inner = filesystem(os.fspath(path))
    got = fs.cat_ranges([inner] * len(starts), list(starts), list(ends))
    for piece in got:
        if isinstance(piece, BaseException):
            raise piece
    return list(got)


def listdir(folder: str) -> list[str]:
    """Names (not paths) of the entries of a folder."""
    if not is_url(folder):
        return os.listdir(local(folder))
    fs, inner = filesystem(folder)
    return sorted(os.path.basename(p.rstrip("/")) for p in fs.ls(inner, detail=False))


def file_names(folder: str) -> list[str]:
    """Names of the plain files directly inside a folder."""
    if not is_url(folder):
        folder = local(folder)
        return [n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n))]
    fs, inner = filesystem(folder)
    return sorted(
        os.path.basename(e["name"].rstrip("/"))
        for e in fs.ls(inner, detail=True)
        if e.get("type") == "file"
    )


def join(folder: str, name: str) -> str:
    if not is_url(folder):
        return os.path.join(folder, name)
    return folder.rstrip("/") + "/" + name


def dirname(path: str) -> str:
    if not is_url(path):
        return os.path.dirname(path)
    scheme, rest = path.split("://", 1)
    return f"{scheme}://{rest.rsplit('/', 1)[0]}" if "/" in rest else f"{scheme}://"


def glob(pattern: str) -> list[str]:
    if not is_url(pattern):
        import glob as globlib

        return sorted(globlib.glob(local(pattern)))
    fs, inner = filesystem(pattern)
    return sorted(_url_of(fs, p, pattern) for p in fs.glob(inner))


def remove(path: str) -> None:
    if not is_url(path):
        os.unlink(local(path))
        return
    fs, inner = filesystem(path)
    fs.rm(inner)


class RemoteTarget:
    """A write to a URL: a hidden temporary object, moved to its name by `publish()`."""

    def __init__(self, url: str, temp_name: str) -> None:
        if url.startswith(("http://", "https://")):
            raise RecordIOError("http(s) URLs are read-only", path=url,
                                hint="write to a local path or an object store URL")  # fmt: skip
        self.url = url
        self.fs, self.inner = filesystem(url)
        folder, _, _ = self.inner.rpartition("/")
        self.temp = f"{folder}/{temp_name}" if folder else temp_name
        self.file: BinaryIO = self.fs.open(self.temp, "wb")

    def publish(self) -> None:
        self.file.close()
        self.fs.mv(self.temp, self.inner)

    def discard(self) -> None:
        try:
            if not self.file.closed:
                discard = getattr(self.file, "discard", None)
                if discard is not None:
                    discard()
                else:
                    self.file.close()
            if self.fs.exists(self.temp):
                self.fs.rm(self.temp)
        except Exception:  # noqa: BLE001 - best effort: never hide the error that got us here
            pass


__all__ = [
    "RemoteTarget",
    "dirname",
    "exists",
    "file_names",
    "filesystem",
    "getsize",
    "glob",
    "is_url",
    "isdir",
    "isfile",
    "join",
    "listdir",
    "open_read",
    "read_ranges",
    "remove",
    "signature",
]
