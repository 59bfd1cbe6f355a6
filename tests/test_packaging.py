"""The package as others build and run it: a stock venv's setuptools, Beam's --setup-file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _checkout_copy(target: Path) -> Path:
    """The files a clean clone would have (tracked, and new ones not ignored), copied."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            (target / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / os.fsdecode(name))
    return target


def _stock_venv(where: Path, *, with_project_packages: bool = False) -> Path:
    """A `python3.11 -m venv` as a user makes it: ensurepip's own pip and setuptools only.

    With `with_project_packages`, this test environment's site-packages are appended to its
    path (after its own), so Beam and TF import while the stock setuptools stays first.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # ensurepip must not fetch newer wheels from an index
    env["PIP_NO_INDEX"] = "1"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(where)], check=True, env=env, timeout=300)
    python = where / "bin" / "python"
    if with_project_packages:
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(site, "zz-project-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _setuptools_major(python: Path) -> int:
    out = subprocess.run(
        [str(python), "-c", "import setuptools; print(setuptools.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split(".")[0])


@pytest.mark.slow
def test_sdist_builds_with_a_stock_venvs_setuptools(tmp_path: Path) -> None:
    python = _stock_venv(tmp_path / "venv")
    assert _setuptools_major(python) < 77, "not a stock venv: its setuptools is too new"
    tree = _checkout_copy(tmp_path / "src")
    done = subprocess.run(
        [str(python), "setup.py", "-q", "sdist", "--dist-dir", str(tmp_path / "dist")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (archive,) = (tmp_path / "dist").glob("recio-*.tar.gz")
    with tarfile.open(archive) as tar:
        info = tar.extractfile(f"{archive.name[: -len('.tar.gz')]}/PKG-INFO")
        assert info is not None
        metadata = info.read().decode()
    assert "License: Apache-2.0" in metadata
    assert "Name: recio" in metadata


@pytest.mark.slow
@pytest.mark.requires_beam
def test_the_readme_dataflow_dry_run_works_from_a_stock_venv(tmp_path: Path) -> None:
    python = _stock_venv(tmp_path / "venv", with_project_packages=True)
    assert _setuptools_major(python) < 77
    tree = _checkout_copy(tmp_path / "src")
    csv = tmp_path / "people.csv"
    csv.write_text("id,age,label\n" + "".join(f"{i},{20 + i % 50},{i % 2}\n" for i in range(40)))
    done = subprocess.run(
        [
            str(python),
            "-m",
            "recio",
            "job",
            "transform",
            str(csv),
            "--output",
            str(tmp_path / "out"),
            "--label",
            "label",
            "--key",
            "id",
            "--runner",
            "DataflowRunner",
            "--project",
            "my-project",
            "--region",
            "us-central1",
            "--temp-location",
            "gs://my-bucket/tmp",
            "--setup-file",
            "./setup.py",
            "--",
            "--dry_run=True",
            "--sdk_location=container",
        ],  # fmt: skip
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "translated for DataflowRunner (dry run, nothing submitted)" in done.stderr
    assert "building the recio package for the workers" in done.stderr
    steps = next(line for line in done.stderr.splitlines() if line.strip().startswith("steps"))
    for step in ("ReadInput", "AnalyzeAndTransformTrain", "WriteTrain", "WriteTransformFn"):
        assert step in steps
    assert "workflow.tar.gz" in done.stderr
    assert not (tmp_path / "out").exists()
