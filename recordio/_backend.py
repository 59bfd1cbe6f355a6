"""Chooses the framing backend once: the C accelerator when it was built, else pure Python.

Set RECIO_PURE_PYTHON=1 to force the pure-Python backend (tests compare both).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from recordio import _framing


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("RECIO_PURE_PYTHON"):
        return None, "python (forced by RECIO_PURE_PYTHON)"
    try:
        _speedups = importlib.import_module("recordio._speedups")
    except ImportError:
        return None, "python"
    return _speedups, "c (hardware crc)" if _speedups.HARDWARE_CRC else "c (table crc)"


_speedups, BACKEND = _load()

if _speedups is not None:
    scan = _speedups.scan
    frame = _speedups.frame
    crc32c = _speedups.crc32c
    masked_crc32c = _speedups.masked_crc32c
    # An accelerator built from an older _speedups.c lacks these: their twins stand in.
    scan_headers = getattr(_speedups, "scan_headers", _framing.scan_headers)
    gather = getattr(_speedups, "gather", _framing.gather)
    find_header = getattr(_speedups, "find_header", _framing.find_header)
    crc32c_many = getattr(_speedups, "crc32c_many", _framing.crc32c_many)
    gather_slices = getattr(_speedups, "gather_slices", _framing.gather_slices)
else:
    scan = _framing.scan
    frame = _framing.frame
    crc32c = _framing.crc32c
    masked_crc32c = _framing.masked_crc32c
    scan_headers = _framing.scan_headers
    gather = _framing.gather
    find_header = _framing.find_header
    crc32c_many = _framing.crc32c_many
    gather_slices = _framing.gather_slices

# Large records: google-crc32c runs several CRC streams at once (about 30 GB/s).
big_crc = getattr(_framing, "_google", None)
big_crc = big_crc.value if big_crc is not None else None

__all__ = [
    "BACKEND",
    "big_crc",
    "crc32c",
    "crc32c_many",
    "find_header",
    "frame",
    "gather",
    "gather_slices",
    "masked_crc32c",
    "scan",
    "scan_headers",
]
