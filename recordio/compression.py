"""Compression names, detection from a file's first bytes, and the deflate/inflate backends.

TFRecord compression wraps the whole stream of framed records in one GZIP (RFC 1952) or ZLIB
(RFC 1950) stream. Inflating uses ISA-L when installed (about 2x stdlib zlib); deflating at the
default "fast" setting uses ISA-L (5-10x TF's zlib level 6; a few percent larger on image-like
data, more on very repetitive text), and an explicit zlib level gives TF-equal output size.
"""

from __future__ import annotations

import importlib
import zlib
from enum import StrEnum
from types import ModuleType
from typing import Any, Protocol, TypeAlias

from recordio._backend import masked_crc32c
from recordio.errors import CompressionError, UnknownCompressionError


def _first_module(*names: str) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:  # pragma: no cover - optional accelerators
            continue
    return None


# ISA-L inflates 1.2-2x faster than zlib-ng here, and 2x stdlib zlib; zlib-ng deflates at zlib's
# own levels (same sizes) about 2x faster than zlib.
_inflate_lib: ModuleType = _first_module("isal.isal_zlib", "zlib_ng.zlib_ng") or zlib
_fast_deflate_lib: ModuleType | None = _first_module("isal.isal_zlib")
_deflate_lib: ModuleType = _first_module("zlib_ng.zlib_ng") or zlib

ZLIB_ERRORS: tuple[type[Exception], ...] = tuple(
    {zlib.error, getattr(_inflate_lib, "error", zlib.error)}
)


class Compression(StrEnum):
    """How a TFRecord file is compressed: the one vocabulary every package uses.

    `parse` reads any spelling a user or TensorFlow gives, `suffix` names the file ending recio
    writes, and `for_path` picks the codec for an output name.
    """

    NONE = "NONE"
    GZIP = "GZIP"
    ZLIB = "ZLIB"

    @classmethod
    def parse(cls, value: CompressionLike, *, allow_auto: bool = True) -> Compression | None:
        """Accept TF's spellings and more; `None` (or "auto") means detect from the file.

        TF accepts `""`, `"ZLIB"`, `"GZIP"` and the enum values 0/1/2; we also take any case,
        "none", "gz", "zlib" and our own enum. Unknown names are an error, never a silent NONE.
        """
        if isinstance(value, Compression):
            return value
        if value is None:
            return None if allow_auto else cls.NONE
        if isinstance(value, bool):
            raise UnknownCompressionError(
                f"not a compression type: {value!r}", params=("compression",)
            )
        if isinstance(value, int):
            by_tf_enum = {0: cls.NONE, 1: cls.ZLIB, 2: cls.GZIP}
            if value in by_tf_enum:
                return by_tf_enum[value]
        if isinstance(value, str):
            name = value.strip().upper()
            if name in ("", "NONE", "UNCOMPRESSED"):
                return cls.NONE
            if name in ("GZIP", "GZ"):
                return cls.GZIP
            if name in ("ZLIB", "DEFLATE"):
                return cls.ZLIB
            if name == "AUTO":
                if allow_auto:
                    return None
                raise UnknownCompressionError(
                    "compression 'auto' only applies to reading", params=("compression",)
                )
        raise UnknownCompressionError(
            f"compression must be NONE, GZIP or ZLIB (any case), got {value!r}",
            hint="or leave it out to detect it when reading",
            params=("compression",),
        )

    @classmethod
    def coerce(cls, value: CompressionLike) -> Compression:
        """`parse` for writing: no detection, so None means NONE."""
        return cls.parse(value, allow_auto=False) or cls.NONE

    @classmethod
    def for_path(cls, path: str, compression: CompressionLike = None) -> Compression:
        """The codec to write `path` with: `compression` when given, else by the name's ending
        (.gz: GZIP, .zz/.zlib/.deflate: ZLIB), else NONE."""
        given = cls.parse(compression)
        if given is not None:
            return given
        return split_suffix(path)[1] or cls.NONE

    @property
    def suffix(self) -> str:
        """The ending recio gives files of this codec, after `.tfrecord`."""
        return _SUFFIX[self]

    @property
    def wbits(self) -> int:
        return {Compression.GZIP: 31, Compression.ZLIB: 15}[self]


CompressionLike: TypeAlias = "Compression | str | int | None"
"""What a `compression` parameter takes: a Compression, a name in any case, TF's 0/1/2, None."""

_SUFFIX = {Compression.NONE: "", Compression.GZIP: ".gz", Compression.ZLIB: ".zz"}
# Endings that mark a compressed file, longest first (what Beam, TF and gzip(1) write).
COMPRESSED_SUFFIXES: tuple[tuple[str, Compression], ...] = (
    (".deflate", Compression.ZLIB),
    (".gzip", Compression.GZIP),
    (".zlib", Compression.ZLIB),
    (".gz", Compression.GZIP),
    (".zz", Compression.ZLIB),
)


def split_suffix(name: str) -> tuple[str, Compression | None]:
    """`x.tfrecord.gz` -> (`x.tfrecord`, GZIP); a name with no compressed ending -> (name, None)."""
    lower = name.lower()
    for ending, codec in COMPRESSED_SUFFIXES:
        if lower.endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)], codec
    return name, None


def looks_like_tfrecord(head: bytes) -> bool:
    """True when 12 bytes form a TFRecord header whose length CRC checks out."""
    if len(head) < 12:
        return False
    return masked_crc32c(head[:8]) == int.from_bytes(head[8:12], "little")


def looks_like_zlib(head: bytes) -> bool:
    if len(head) < 2:
        return False
    cmf, flg = head[0], head[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and ((cmf << 8) | flg) % 31 == 0


def detect(head: bytes) -> Compression:
    """Guess the compression from up to 12 leading bytes.

    A valid TFRecord header wins (its CRC makes a false match a 1-in-2^32 event); then the
    gzip magic; then a zlib header. Anything else is read as NONE, whose first length CRC then
    fails with a clear "not a TFRecord file" error.
    """
    if not head or looks_like_tfrecord(head):
        return Compression.NONE
    if head[:2] == b"\x1f\x8b":
        return Compression.GZIP
    if looks_like_zlib(head):
        return Compression.ZLIB
    return Compression.NONE


class Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self, mode: int = ..., /) -> bytes: ...


def compressor(compression: Compression, level: int | None) -> Compressor:
    """A deflate stream for the writer. `level=None` is the fast default; 0-9 are zlib levels."""
    wbits = compression.wbits
    if level is None:
        if _fast_deflate_lib is not None:
            return _fast_deflate_lib.compressobj(2, _fast_deflate_lib.DEFLATED, wbits)
        level = 6
    if not 0 <= level <= 9:
        raise CompressionError(f"level must be 0-9 (zlib levels), got {level}", params=("level",))
    # TF's ZlibCompressionOptions use mem_level 9 (zlib's own default is 8).
    return _deflate_lib.compressobj(level, zlib.DEFLATED, wbits, 9)


def decompressor(compression: Compression) -> Any:
    return _inflate_lib.decompressobj(compression.wbits)


def raw_compressor(level: int | None) -> Compressor:
    """Raw deflate (no gzip/zlib wrapper) for a gzip member recio frames itself."""
    if level is None and _fast_deflate_lib is not None:
        return _fast_deflate_lib.compressobj(2, _fast_deflate_lib.DEFLATED, -15)
    level = 6 if level is None else level
    if not 0 <= level <= 9:
        raise CompressionError(f"level must be 0-9 (zlib levels), got {level}", params=("level",))
    return _deflate_lib.compressobj(level, zlib.DEFLATED, -15, 9)


def decompressor_raw() -> Any:
    """Raw inflate, for a gzip member whose header recio has parsed itself."""
    return _inflate_lib.decompressobj(-15)


# CRC-32 of gzip trailers: zlib-ng's is ~15x stdlib's.
crc32 = (_first_module("zlib_ng.zlib_ng", "isal.isal_zlib") or zlib).crc32


SYNC_FLUSH = zlib.Z_SYNC_FLUSH
