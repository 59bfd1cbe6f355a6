"""A command whose extra is not installed fails in one line that names the extra."""

from __future__ import annotations

import importlib.util

from recio.cli import _console

# What each extra of `pip install 'recio[EXTRA]'` brings, by the modules a command needs.
EXTRAS = {
    "tf": ("tensorflow",),
    "beam": ("apache_beam", "tensorflow_transform", "pyarrow"),
    "train": ("keras", "matplotlib"),
    "demo": ("sklearn", "PIL"),
    "jax": ("jax",),
    "torch": ("torch",),
    "cloud": ("fsspec",),
}


def missing(extra: str) -> str | None:
    """The first module of `extra` that is not installed, or None."""
    for module in EXTRAS[extra]:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError, AttributeError):  # present but unusable (or blocked)
            return module
    return None


def require(*extras: str, what: str = "this command") -> None:
    """Exit 1 with `pip install 'recio[EXTRA]'` when one of `extras` is not installed."""
    for extra in extras:
        module = missing(extra)
        if module is not None:
            _console.abort(
                f"{what} needs {module}, which is not installed; "
                f"install it with: pip install 'recio[{extra}]'"
            )
