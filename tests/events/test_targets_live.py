"""Events reaching the other services on a live server: a function, a state machine started
by a "Batch Job State Change", and a Batch job queue fed by an input transformer."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.batch.jobs_support import make_definition, make_stack, submit, wait_status
from tests.functions import support as functions
from tests.support.server import ServerProcess, wait_for

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/events"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_function_target_receives_the_event(server: ServerProcess) -> None:
    events, lam, logs = server.client("events"), server.client("lambda"), server.client("logs")
    name = functions.create(
        lam,
        """
        import json
        def handler(event, context):
            print("EVENT " + json.dumps(event))
    """,
    )
    source, rule = _unique("my.app"), _unique("to-function")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(
        Rule=rule,
        Targets=[{"Id": "fn", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"}],
    )
    event_id = events.put_events(
        Entries=[{"Source": source, "DetailType": "t", "Detail": '{"hello": "world"}'}]
    )["Entries"][0]["EventId"]

    def printed() -> list[dict[str, Any]]:
        try:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [
            json.loads(e["message"].split("EVENT ", 1)[1])
            for e in found
            if "EVENT " in e["message"]
        ]

    [event] = wait_for(printed, timeout=30, what="the function's log of the event")
    assert event["id"] == event_id
    assert event["detail"] == {"hello": "world"}


def test_job_success_starts_a_state_machine_with_the_event(server: ServerProcess) -> None:
    events, batch = server.client("events"), server.client("batch")
    sfn = server.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=_unique("on-success"),
        roleArn=ROLE,
        definition=json.dumps(
            {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
        ),
    )["stateMachineArn"]
    job_name = _unique("evented")
    rule = _unique("job-succeeded")
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps(
            {
                "source": ["aws.batch"],
                "detail-type": ["Batch Job State Change"],
                "detail": {"status": ["SUCCEEDED"], "jobName": [job_name]},
            }
        ),
    )
    events.put_targets(Rule=rule, Targets=[{"Id": "sm", "Arn": machine, "RoleArn": ROLE}])
    _, queue = make_stack(batch)
    definition = make_definition(batch, ["echo", "hello"])
    job_id = submit(batch, queue, definition, jobName=job_name)
    job = wait_status(batch, job_id, "SUCCEEDED")

    executions = wait_for(
        lambda: sfn.list_executions(stateMachineArn=machine)["executions"],
        timeout=30,
        what="an execution started by the rule",
    )
    assert len(executions) == 1
    started = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    event = json.loads(started["input"])
    assert event["source"] == "aws.batch"
    assert event["detail-type"] == "Batch Job State Change"
    assert event["resources"] == [job["jobArn"]]
    assert event["detail"]["jobId"] == job_id
    assert event["detail"]["status"] == "SUCCEEDED"
    assert event["detail"]["jobQueue"] == job["jobQueue"]


def test_job_queue_target_submits_with_transformed_parameters(server: ServerProcess) -> None:
    events, batch = server.client("events"), server.client("batch")
    _, queue = make_stack(batch)
    queue_arn = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["jobQueueArn"]
    definition = make_definition(batch, ["echo", "Ref::greeting", "Ref::count"])
    job_name = _unique("from-events")
    source, rule = _unique("my.app"), _unique("to-queue")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "queue",
                "Arn": queue_arn,
                "RoleArn": ROLE,
                "BatchParameters": {
                    "JobDefinition": definition,
                    "JobName": job_name,
                    "RetryStrategy": {"Attempts": 2},
                },
                "InputTransformer": {
                    "InputPathsMap": {"who": "$.detail.who", "n": "$.detail.n"},
                    "InputTemplate": '{"greeting": "hello <who>", "count": <n>}',
                },
            }
        ],
    )
    events.put_events(
        Entries=[
            {"Source": source, "DetailType": "t", "Detail": json.dumps({"who": "world", "n": 3})}
        ]
    )

    def submitted() -> list[dict[str, Any]]:
        listed = batch.list_jobs(
            jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [job_name]}]
        )
        return listed["jobSummaryList"]

    [summary] = wait_for(submitted, timeout=30, what="the job the rule submitted")
    job = wait_status(batch, summary["jobId"])
    assert job["status"] == "SUCCEEDED"
    assert job["parameters"]["greeting"] == "hello world"
    assert job["parameters"]["count"] == "3"
    assert job["container"]["command"] == ["echo", "hello world", "3"]
    assert job["retryStrategy"]["attempts"] == 2
