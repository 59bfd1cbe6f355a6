"""The portable-runner path (what Flink and Spark job servers speak), end to end, offline.

Beam's own local job service stands in for the engine's job server. Such runners return no
Beam metrics to the submitter, so the counts in the summary must come from what was written.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recio.demo.data import write_people_csv
from recordio import read_records

pytestmark = [pytest.mark.requires_beam, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def job_endpoint() -> Iterator[str]:
    port = _free_port()
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apache_beam.runners.portability.local_job_service_main",
            "--port",
            str(port),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("localhost", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or service.poll() is not None:
                    pytest.fail("Beam's local job service did not start")
                time.sleep(0.2)
        yield f"localhost:{port}"
    finally:
        service.terminate()
        service.wait(timeout=30)


def _records(folder: Path, files: tuple[str, ...]) -> int:
    return sum(sum(1 for _ in read_records(folder / name)) for name in files)


def test_transform_job_through_a_job_server_reports_true_counts(
    job_endpoint: str, tmp_path: Path
) -> None:
    from pipeline import RunnerOptions, TransformJobOptions, run_transform_job

    csv = write_people_csv(tmp_path / "people.csv", 600)
    runner = RunnerOptions(
        runner="PortableRunner",
        beam_args=(f"--job_endpoint={job_endpoint}", "--environment_type=LOOPBACK"),
    )
    out = tmp_path / "out"
    result = run_transform_job(
        TransformJobOptions(
            inputs=(str(csv),), output=str(out), label="label", key="id", runner=runner
        )  # fmt: skip
    )
    train, evaluation = result.splits["train"], result.splits["eval"]
    assert result.rows_in == 600 and result.bad_rows == 0
    assert train.rows == _records(out, train.files) > 0
    assert evaluation.rows == _records(out, evaluation.files) > 0
    assert train.rows + evaluation.rows == 600
    assert "rows in      600" in result.summary()


def test_csv_job_through_a_job_server_from_the_cli(job_endpoint: str, tmp_path: Path) -> None:
    csv = write_people_csv(tmp_path / "people.csv", 250)
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recio",
            "job",
            "csv",
            str(csv),
            "--output",
            str(out),
            "--runner",
            "PortableRunner",
            "--",
            f"--job_endpoint={job_endpoint}",
            "--environment_type=LOOPBACK",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rows in      250" in done.stderr
    assert "data         250 rows" in done.stderr
