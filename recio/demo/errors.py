"""The demo's one error: its work folder or its own outputs are not what it expects."""

from __future__ import annotations


class DemoError(Exception):
    """The demo cannot run here (a foreign work folder) or its own outputs fail a check."""


__all__ = ["DemoError"]
