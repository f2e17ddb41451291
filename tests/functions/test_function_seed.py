"""The Job Poller sample's two Lambda functions (seed 001), exactly as printed, against Batch."""

from __future__ import annotations

import base64
from typing import Any

from tests.batch.jobs_support import make_definition, make_stack
from tests.functions.support import call, unique, zip_of
from tests.support.server import REPO, wait_for

# The sample's functions are kept once, in examples/, exactly as seed 001 prints them.
FUNCTIONS = REPO / "examples" / "job-poller" / "functions"
SUBMIT_JOB = (FUNCTIONS / "submit_job.py").read_text()
CHECK_JOB = (FUNCTIONS / "check_job.py").read_text()


def deploy(lam: Any, source: str, prefix: str) -> str:
    """Create a python3.9 function from ``index.py``, as the sample's template does."""
    name = unique(prefix)
    lam.create_function(
        FunctionName=name, Runtime="python3.9",
        Role="arn:aws:iam::123456789012:role/LambdaExecutionRole",
        Handler="index.lambda_handler", Code={"ZipFile": zip_of({"index.py": source})},
    )
    return name


def test_submit_then_check_until_the_job_succeeds(lam: Any, batch: Any) -> None:
    _, queue = make_stack(batch)
    definition = make_definition(batch, ["echo", "Hello world"])
    submit_fn = deploy(lam, SUBMIT_JOB, "SubmitJobFunction")
    check_fn = deploy(lam, CHECK_JOB, "CheckJobFunction")

    response, guid = call(lam, submit_fn, {"jobName": "my-job", "jobDefinition": definition,
                                           "jobQueue": queue, "wait_time": 1}, LogType="Tail")
    assert "FunctionError" not in response, guid
    assert set(guid) == {"jobId"}
    assert "Loading function" in base64.b64decode(response["LogResult"]).decode()
    wait_for(lambda: call(lam, check_fn, guid)[1] == "SUCCEEDED", timeout=60,
             what="CheckJobFunction to report SUCCEEDED")
    assert batch.describe_jobs(jobs=[guid["jobId"]])["jobs"][0]["jobName"] == "my-job"


def test_check_job_reports_an_unknown_job_as_the_seed_raises(lam: Any) -> None:
    check_fn = deploy(lam, CHECK_JOB, "CheckJobFunction")
    response, body = call(lam, check_fn, {"jobId": "no-such-job"}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert (body["errorType"], body["errorMessage"]) == (
        "Exception", "Error getting Batch Job status")
    assert '"jobId": "no-such-job"' in base64.b64decode(response["LogResult"]).decode()
