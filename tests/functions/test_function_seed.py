"""The Job Poller sample's two Lambda functions (seed 001), exactly as printed, against Batch."""

from __future__ import annotations

import base64
from typing import Any

from tests.batch.jobs_support import make_definition, make_stack
from tests.functions.support import call, unique, zip_of
from tests.support.server import wait_for

SUBMIT_JOB = """import json
import boto3

print('Loading function')

batch = boto3.client('batch')

def lambda_handler(event, context):
    # Log the received event
    print("Received event: " + json.dumps(event, indent=2))
    # Get parameters for the SubmitJob call
    jobName = event['jobName']
    jobQueue = event['jobQueue']
    jobDefinition = event['jobDefinition']
    # containerOverrides and parameters are optional
    if event.get('containerOverrides'):
        containerOverrides = event['containerOverrides']
    else:
        containerOverrides = {}
    if event.get('parameters'):
        parameters = event['parameters']
    else:
        parameters = {}

    try:
        # Submit a Batch Job
        response = batch.submit_job(jobQueue=jobQueue, jobName=jobName, jobDefinition=jobDefinition,
                                    containerOverrides=containerOverrides, parameters=parameters)
        # Log response from AWS Batch
        print("Response: " + json.dumps(response, indent=2))
        # Return the jobId
        jobId = response['jobId']
        return {
            'jobId': jobId
        }
    except Exception as e:
        print(e)
        message = 'Error submitting Batch Job'
        print(message)
        raise Exception(message)
"""

CHECK_JOB = """from __future__ import print_function

import json
import boto3

print('Loading function')

batch = boto3.client('batch')

def lambda_handler(event, context):
    # Log the received event
    print("Received event: " + json.dumps(event, indent=2))
    # Get jobId from the event
    jobId = event['jobId']

    try:
        # Call DescribeJobs
        response = batch.describe_jobs(jobs=[jobId])
        # Log response from AWS Batch
        print("Response: " + json.dumps(response, indent=2))
        # Return the jobtatus
        jobStatus = response['jobs'][0]['status']
        return jobStatus
    except Exception as e:
        print(e)
        message = 'Error getting Batch Job status'
        print(message)
        raise Exception(message)
"""


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
