#!/usr/bin/env python3
"""One entry point for a fresh machine: `python3 dev.py demo` or `python3 dev.py test`.

Creates `.venv` next to this file on first use and installs the project with every extra and the
test tools (again only when pyproject.toml or setup.py change), then runs the demo job or the test
suite. Needs only Python 3.11 and pip.

The venv keeps the setuptools its Python ships: Beam builds recio's sdist for Dataflow with
whatever the user's environment has, so testing with a newer one would hide a broken submission.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = ROOT / ".dev-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "setup.py", "recordio/_speedups.c"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env() -> None:
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("dev.py: installing recio and its dependencies into .venv", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, "-q", "--upgrade", "pip"], check=True)
    subprocess.run(
        [*pip, "-q", "-e", f"{ROOT}[all,test]", "--config-settings", "editable_mode=compat"],
        check=True,
    )
    STAMP.write_text(_fingerprint())


def _prefer_python311() -> None:
    """tf.Transform 1.21 and tfx-bsl ship for Python 3.11: re-run under it when it exists."""
    if sys.version_info[:2] == (3, 11) or (BIN / "python").exists():
        return
    other = shutil.which("python3.11")
    if other:
        os.execv(other, [other, __file__, *sys.argv[1:]])
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under any python3
        sys.exit(f"dev.py: recio needs Python 3.11 (this is {sys.version.split()[0]})")


def main(argv: list[str]) -> int:
    _prefer_python311()
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print("usage: python3 dev.py demo|test|setup [extra args]", file=sys.stderr)
        return 2
    ensure_env()
    command, extra = argv[0], argv[1:]
    if command == "setup":
        return 0
    if command == "demo":
        return subprocess.call([str(BIN / "recio"), "demo", *extra])
    args = [str(BIN / "python"), "-m", "pytest", "-n", "2", "-q", *extra]
    return subprocess.call(args, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
