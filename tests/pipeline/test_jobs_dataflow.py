"""The Dataflow path, offline: jobs translated with Beam's --dry_run=True (nothing submitted).

The translation runs everything DataflowRunner does before calling the service: environment
resolution, staging the worker package, the runner-v2 pipeline proto. We assert the job type,
our step names, the worker image and the staged files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import JobOptionsError, RunnerOptions

pytestmark = [pytest.mark.requires_beam]

REPO = Path(__file__).resolve().parents[2]
CLOUD = {"project": "my-project", "region": "us-central1", "temp_location": "gs://my-bucket/tmp"}
DRY = ("--dry_run=True", "--sdk_location=container")


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory) -> Path:
    from recio.demo.data import write_people_csv

    return write_people_csv(tmp_path_factory.mktemp("dataflow") / "people.csv", 50)


@pytest.mark.slow
def test_transform_job_translates_with_setup_file(csv_file, tmp_path) -> None:
    from apache_beam.runners.dataflow.internal import apiclient

    from pipeline import TransformJobOptions, run_transform_job

    runner = RunnerOptions(
        runner="DataflowRunner", setup_file=str(REPO / "setup.py"), beam_args=DRY, **CLOUD
    )
    result = run_transform_job(
        TransformJobOptions(
            inputs=(str(csv_file),),
            output=str(tmp_path / "out"),
            transform_temp_dir=str(tmp_path / "tft"),  # gs:// would need credentials here
            runner=runner,
        )
    )
    assert result.dry_run and not (tmp_path / "out").exists()
    job = result.pipeline_result.job
    assert job.proto.type == apiclient.dataflow.JobType.JOB_TYPE_BATCH
    details = result.extra["dry_run"]
    names = set(details["step_names"])
    for step in ("ReadInput", "SplitTrainEval", "AnalyzeAndTransformTrain", "TransformEval",
                 "EncodeTrain", "WriteTrain", "EncodeEval", "WriteEval", "WriteTransformFn",
                 "WriteRawMetadata", "WriteBadRows"):  # fmt: skip
        assert step in names, step
    assert "workflow.tar.gz" in details["staged"]  # recio's sdist, built from setup.py
    assert details["image"].startswith("gcr.io/cloud-dataflow/v1beta3/beam_python3")
    assert "translated for DataflowRunner" in result.summary()


@pytest.mark.slow
def test_csv_job_translates_with_container_image(csv_file, tmp_path) -> None:
    from pipeline import CsvJobOptions, run_csv_job

    image = "us-docker.pkg.dev/my-project/recio/worker:1.0"
    runner = RunnerOptions(
        runner="dataflow", container_image=image, workers=3, beam_args=("--dry_run=True",), **CLOUD
    )
    assert "--sdk_location=container" in runner.pipeline_args()
    assert "--num_workers=3" in runner.pipeline_args()
    result = run_csv_job(
        CsvJobOptions(inputs=(str(csv_file),), output=str(tmp_path / "out"), runner=runner)
    )
    details = result.extra["dry_run"]
    assert details["image"] == image
    assert "workflow.tar.gz" not in details["staged"]
    names = set(details["step_names"])
    assert {"ReadCsv", "EncodeExamples", "WriteExamples", "WriteBadRows"} <= names
    assert any(n.startswith("ReadCsv/SpreadBatches") for n in names)  # fan out on a cluster


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"runner": "DataflowRunner", "setup_file": "setup.py"},
         "needs project, region, temp_location"),
        ({"runner": "DataflowRunner", **CLOUD}, "container_image=IMAGE (recio preinstalled)"),
        ({"runner": "DataflowRunner", "container_image": "img",
          **{**CLOUD, "temp_location": "/tmp"}}, "must be gs://BUCKET/FOLDER"),
        ({"runner": "DataflowRunner", "container_image": "i",
          **{**CLOUD, "temp_location": "gs://b/tmp"}}, "valid bucket name"),
        ({"runner": "PortableRunner", "workers": 4}, "--parallelism"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"setup_file": "/no/such/setup.py"}, "does not exist"),
    ],
)  # fmt: skip
def test_runner_option_errors(kwargs, message) -> None:
    with pytest.raises(JobOptionsError, match=re.escape(message)):
        RunnerOptions(**kwargs)


def test_pass_through_options_reach_beam() -> None:
    runner = RunnerOptions(runner="flink", beam_args=("--job_endpoint=localhost:8099",))
    assert runner.runner == "FlinkRunner"
    assert runner.pipeline_args() == ["--runner=FlinkRunner", "--job_endpoint=localhost:8099"]
    local = RunnerOptions(workers=2)
    assert "--direct_running_mode=multi_processing" in local.pipeline_args()
    assert local.pipeline_args()[0] == "--runner=FnApiRunner"
    assert RunnerOptions(beam_args=("--dry_run", "true")).dry_run is True  # both argv forms
    assert RunnerOptions(beam_args=("--dry_run=False",)).dry_run is False
