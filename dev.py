#!/usr/bin/env python3
"""One entry point for a fresh machine: `python3 dev.py demo` or `python3 dev.py test`.

`python3 dev.py core` checks the bare `pip install recio` (no TensorFlow, Beam or Keras) in a
fresh venv: the recordio tests, the record commands and the NumpyLoader run there.

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
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = ROOT / ".dev-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    sources = ("recordio/_speedups.c", "pipeline/loaders/_imageops.c")
    for name in ("pyproject.toml", "setup.py", *sources):
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


CORE_VENV = ROOT / ".venv-core"
# Run against the installed package, from a copy of the tests (so the checkout is not imported).
CORE_TESTS = (
    "tests/recordio",
    "tests/recio/test_records.py",
    "tests/pipeline/loaders/test_numpy_loader.py",
)
HEAVY = ("tensorflow", "apache_beam", "tensorflow_transform", "keras", "jax", "torch")
CORE_RUN = f"""
import sys, tempfile, importlib.util
heavy = {HEAVY!r}
installed = [m for m in heavy if importlib.util.find_spec(m) is not None]
assert not installed, f"the bare install pulled in {{installed}}"
import numpy as np, recordio
from pipeline.loaders import NumpyLoader
with tempfile.TemporaryDirectory() as d:
    recordio.write_records(d + "/x.tfrecord.gz", [recordio.encode_example(
        {{"x": [float(i)], "label": i % 2}}) for i in range(100)], "GZIP")
    batches = list(NumpyLoader(d, label="label", batch_size=16))
    assert sum(len(y) for _, y in batches) == 100, batches
loaded = [m for m in heavy if m in sys.modules]
assert not loaded, f"TensorFlow-free code imported {{loaded}}"
print("core install: NumpyLoader read 100 records; no TensorFlow, Beam or Keras")
"""


def check_core() -> int:
    """A fresh venv with `pip install .[test]` (the core and the test tools, nothing heavy)."""
    shutil.rmtree(CORE_VENV, ignore_errors=True)
    print("dev.py: creating .venv-core with the bare recio install", file=sys.stderr)
    venv.EnvBuilder(with_pip=True).create(CORE_VENV)
    python = str(CORE_VENV / BIN.name / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, f"{ROOT}[test]"], check=True)
    if subprocess.call([python, "-c", CORE_RUN]) != 0:
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copytree(ROOT / "tests", Path(scratch) / "tests")
        shutil.copy2(ROOT / "pyproject.toml", scratch)  # pytest's markers and options
        env = {**os.environ, "PATH": f"{CORE_VENV / BIN.name}{os.pathsep}{os.environ['PATH']}"}
        args = [python, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", *CORE_TESTS]
        return subprocess.call(args, cwd=scratch, env=env)


def main(argv: list[str]) -> int:
    _prefer_python311()
    if not argv or argv[0] not in {"demo", "test", "setup", "core"}:
        print("usage: python3 dev.py demo|test|setup|core [extra args]", file=sys.stderr)
        return 2
    if argv[0] == "core":
        return check_core()
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
