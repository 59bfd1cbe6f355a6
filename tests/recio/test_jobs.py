"""`recio job ...` as a user runs it: real subprocesses, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recio.cli.jobs import split_beam_args

REPO = Path(__file__).resolve().parents[2]


def recio(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recio", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def test_help_lists_the_three_jobs() -> None:
    done = recio("job", "--help")
    assert done.returncode == 0
    for name in ("csv", "transform", "augment"):
        assert name in done.stdout


def test_beam_options_are_only_what_follows_the_double_dash() -> None:
    args = ["job", "csv", "a.csv", "-o", "out", "--", "--job_endpoint=localhost:8099", "x"]
    assert split_beam_args(args) == (
        ["job", "csv", "a.csv", "-o", "out"],
        ["--job_endpoint=localhost:8099", "x"],
    )
    assert split_beam_args(["read", "--", "-odd.tfrecord"]) == (["read", "--", "-odd.tfrecord"], [])
    assert split_beam_args(["job", "csv", "a.csv"]) == (["job", "csv", "a.csv"], [])


@pytest.mark.parametrize("command", ["csv", "transform", "augment"])
def test_a_mistyped_option_is_a_usage_error_that_names_it(command: str, tmp_path) -> None:
    data = tmp_path / "a.csv"
    data.write_text("x,label\n1,0\n")
    done = recio("job", command, str(data), "--output", str(tmp_path / "o"), "--lable", "x")
    assert done.returncode == 2, done.stderr
    assert (
        _error_lines(done.stderr)
        == [
            f"Error: No such option: --lable (Possible options: --label, --label-feature)"
            f" (see 'recio job {command} --help')"
        ]
        or "--lable" in _error_lines(done.stderr)[0]
    )
    assert not (tmp_path / "o").exists()


def test_missing_input_is_one_clean_line(tmp_path) -> None:
    done = recio("job", "csv", str(tmp_path / "nope-*.csv"), "--output", str(tmp_path / "o"))
    assert done.returncode == 1
    assert _error_lines(done.stderr) == [f"Error: {tmp_path}/nope-*.csv: no CSV files match; "
                                         "check the path or the glob"]  # fmt: skip
    assert "Traceback" not in done.stderr


def test_dataflow_without_project_is_refused_before_anything_runs(tmp_path) -> None:
    done = recio("job", "transform", "builtin:people:10", "--output", str(tmp_path / "o"),
                 "--runner", "DataflowRunner", "--setup-file", "setup.py")  # fmt: skip
    assert done.returncode == 2
    assert _error_lines(done.stderr) == [
        "Error: DataflowRunner needs --project, --region, --temp-location"
    ]


@pytest.mark.requires_beam
@pytest.mark.slow
def test_malformed_csv_over_the_limit_fails_with_dead_letters(tmp_path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("id,x\n1,1.5\n2,oops\n3,2.5\n4,\n")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"columns": [{"name": "id", "type": "int"},
                                              {"name": "x", "type": "float"}]}))  # fmt: skip
    out = tmp_path / "out"
    done = recio("job", "csv", str(data), "--output", str(out), "--schema", str(schema),
                 "--max-bad-rows", "1")  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert _error_lines(done.stderr) == [
        f"Error: 2 bad rows exceed --max-bad-rows 1; they are listed in {out}/bad_rows.jsonl"
    ]
    assert "Traceback" not in done.stderr
    bad = [json.loads(line) for line in (out / "bad_rows.jsonl").read_text().splitlines()]
    assert sorted(b["reason"] for b in bad) == [
        "column 'x' is empty but required",
        "column 'x': 'oops' is not a number",
    ]
    assert not list(out.glob("data-*")) and not list(out.glob("beam-temp-*"))


@pytest.mark.requires_beam
@pytest.mark.slow
def test_csv_job_on_builtin_data_with_a_pass_through_option(tmp_path) -> None:
    out = tmp_path / "people"
    done = recio("job", "csv", "builtin:people:300", "--output", str(out), "--shards", "2",
                 "--", "--direct_running_mode", "in_memory")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "recio job csv: finished" in done.stderr and "rows processed" in done.stderr
    job = json.loads((out / "recio_job.json").read_text())
    assert job["rows_in"] == 300 and job["splits"]["data"]["rows"] == 300
    assert len(job["splits"]["data"]["files"]) == 2
    schema = json.loads((out / "schema.json").read_text())
    assert [c["name"] for c in schema["columns"]] == ["id", "age", "income", "color", "label"]


@pytest.mark.requires_beam
@pytest.mark.slow
def test_augment_job_on_builtin_images(tmp_path) -> None:
    out = tmp_path / "shapes"
    done = recio("job", "augment", "builtin:shapes:2", "--output", str(out), "--copies", "1",
                 "--no-rotate", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    job = json.loads((out / "recio_job.json").read_text())
    assert job["rows_in"] == 6 and job["splits"]["data"]["rows"] == 12
    assert job["classes"] == ["circle", "square", "stripes"]
    assert "rows processed" not in done.stderr


@pytest.mark.requires_beam
@pytest.mark.slow
def test_csv_job_dataflow_dry_run_from_the_cli(tmp_path) -> None:
    done = recio("job", "csv", "builtin:people:20", "--output", str(tmp_path / "o"),
                 "--runner", "DataflowRunner", "--project", "my-project", "--region",
                 "europe-west1", "--temp-location", "gs://my-bucket/tmp", "--setup-file",
                 "setup.py", "--", "--dry_run=True", "--sdk_location=container")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "translated for DataflowRunner (dry run, nothing submitted)" in done.stderr
    assert "workflow.tar.gz" in done.stderr


@pytest.mark.parametrize("item", ["builtin:people:-5", "builtin:shapes:many"])
def test_builtin_size_must_be_a_whole_number(item: str, tmp_path) -> None:
    done = recio("job", "csv", item, "--output", str(tmp_path / "o"))
    assert done.returncode == 2
    assert _error_lines(done.stderr) == [
        f"Error: {item}: the size after the second ':' must be a whole number >= 0"
    ]


def test_bad_inputs_fail_before_beam_or_tensorflow_is_imported(tmp_path) -> None:
    script = f"""
import json, sys
from pipeline import (AugmentJobOptions, CsvJobOptions, PipelineError, TransformJobOptions,
                      run_augment_job, run_csv_job, run_transform_job)
root = {str(tmp_path)!r}
open(root + "/a.csv", "w").write("x,y\\n1,2\\n")
open(root + "/s.json", "w").write(json.dumps({{"columns": [{{"name": "z", "type": "int"}}]}}))
runs = [(run_csv_job, CsvJobOptions((root + "/nope.csv",), root + "/o1")),
        (run_csv_job, CsvJobOptions((root + "/a.csv",), root + "/o2", schema=root + "/s.json")),
        (run_transform_job, TransformJobOptions((root + "/nope-*.csv",), root + "/o3")),
        (run_augment_job, AugmentJobOptions((root + "/no_images",), root + "/o4"))]
for run, options in runs:
    try:
        run(options)
    except PipelineError as error:
        print("ERROR", error)
print("HEAVY", sorted(m for m in ("apache_beam", "tensorflow") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len([x for x in lines if x.startswith("ERROR")]) == 4, done.stdout
    assert "lacks column 'z'" in done.stdout
    assert lines[-1] == "HEAVY []"


@pytest.mark.requires_beam
def test_a_real_dataflow_submission_says_why_it_cannot_start_within_a_minute(tmp_path) -> None:
    started = time.monotonic()
    done = recio("job", "csv", "gs://my-bucket/in/*.csv", "--output", "gs://my-bucket/out",
                 "--runner", "DataflowRunner", "--project", "my-project", "--region",
                 "us-central1", "--temp-location", "gs://my-bucket/tmp", "--setup-file",
                 "setup.py", timeout=120)  # fmt: skip
    assert time.monotonic() - started < 60
    assert done.returncode == 1, done.stderr
    (line,) = _error_lines(done.stderr)
    assert "cannot reach" in line or "no Google Cloud credentials" in line
    assert "Traceback" not in done.stderr


@pytest.mark.requires_beam
def test_a_misspelt_beam_option_after_the_double_dash_is_refused(tmp_path) -> None:
    done = recio("job", "csv", "builtin:people:5", "--output", str(tmp_path / "o"),
                 "--", "--job_endpiont=localhost:1")  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert _error_lines(done.stderr) == [
        "Error: Beam has no option --job_endpiont; check the spelling of the Beam options "
        "(those after '--')"
    ]
    assert not (tmp_path / "o").exists()


def test_a_job_command_without_the_beam_extra_names_the_extra(tmp_path) -> None:
    """A bare `pip install recio` has no Beam: simulate it by hiding the module."""
    hide = tmp_path / "hide"
    (hide / "apache_beam").mkdir(parents=True)
    (hide / "apache_beam" / "__init__.py").write_text("raise ImportError('hidden')\n")
    code = (
        "import sys, importlib.util as u\n"
        "real = u.find_spec\n"
        "u.find_spec = lambda name, *a: None if name.split('.')[0] == 'apache_beam' "
        "else real(name, *a)\n"
        "from recio.cli import main\n"
        f"main(['job', 'csv', 'x.csv', '--output', {str(tmp_path / 'o')!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1, done.stderr
    assert _error_lines(done.stderr) == [
        "Error: this command needs apache_beam, which is not installed; install it with: "
        "pip install 'recio[beam]'"
    ]
