"""Map Runs of distributed Map states: DescribeMapRun's counts and the child executions that
ListExecutions(mapRunArn) shows, while the run goes on and once it has ended."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.states_api.conftest import client, machine, unique
from tests.states_api.test_executions import finished
from tests.states_api.test_machines import error_of
from tests.support.server import ServerProcess, wait_for


def distributed(processor: dict[str, Any], **map_fields: Any) -> dict[str, Any]:
    """A machine whose one state is a distributed Map labelled "fan" over its input array."""
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map", "Label": "fan", "End": True, **map_fields,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    **processor,
                },
            },
        },
    }


# Each item waits its own number of seconds, then echoes itself.
WAIT_ITEM = {
    "StartAt": "Nap",
    "States": {"Nap": {"Type": "Wait", "SecondsPath": "$", "End": True}},
}


def map_run_of(sfn: Any, execution: str) -> str:
    """The ARN of the (only) Map Run of ``execution``, once it is listed."""
    runs = wait_for(lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"],
                    what="the map run to be listed")
    assert len(runs) == 1
    return runs[0]["mapRunArn"]


def counts(sfn: Any, map_run: str) -> dict[str, int]:
    """The item counts of ``map_run`` without the counters that stay 0 here."""
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert described["executionCounts"] == described["itemCounts"]
    return {k: v for k, v in described["itemCounts"].items() if v or k == "total"}


def children(sfn: Any, map_run: str, **filters: Any) -> list[dict[str, Any]]:
    return sfn.list_executions(mapRunArn=map_run, **filters)["executions"]


def test_counts_and_children_while_running_and_after_a_stop(sfn: Any) -> None:
    arn = machine(sfn, distributed(WAIT_ITEM, MaxConcurrency=3))
    execution = sfn.start_execution(stateMachineArn=arn, input="[0, 0, 3600, 0, 3600]")[
        "executionArn"
    ]
    map_run = map_run_of(sfn, execution)
    # Three at a time: the two quick ones end and make room for the fourth; two go on napping.
    wait_for(
        lambda: counts(sfn, map_run) == {"succeeded": 3, "running": 2, "total": 5},
        what="three items done and two running",
    )
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "RUNNING"
    assert described["maxConcurrency"] == 3
    assert "stopDate" not in described

    listed = children(sfn, map_run)
    assert sorted(c["status"] for c in listed) == ["RUNNING"] * 2 + ["SUCCEEDED"] * 3
    machine_name = arn.split(":")[-1]
    prefix = arn.rsplit(":", 2)[0]
    for child in listed:
        assert child["mapRunArn"] == map_run
        assert child["stateMachineArn"] == f"{prefix}:stateMachine:{machine_name}/fan"
        assert child["executionArn"] == (
            f"{prefix}:execution:{machine_name}/fan:{child['name']}"
        )
        assert child["itemCount"] == 1
        assert ("stopDate" in child) == (child["status"] == "SUCCEEDED")
    assert len({c["executionArn"] for c in listed}) == 5
    running = children(sfn, map_run, statusFilter="RUNNING")
    assert [c["status"] for c in running] == ["RUNNING", "RUNNING"]

    sfn.stop_execution(executionArn=execution)
    wait_for(
        lambda: sfn.describe_map_run(mapRunArn=map_run)["status"] == "ABORTED",
        what="the map run to be aborted with its execution",
    )
    assert counts(sfn, map_run) == {"succeeded": 3, "aborted": 2, "total": 5}
    assert sorted(c["status"] for c in children(sfn, map_run)) == (
        ["ABORTED"] * 2 + ["SUCCEEDED"] * 3
    )
    assert "stopDate" in sfn.describe_map_run(mapRunArn=map_run)


def test_counts_of_a_finished_run_with_tolerated_failures(sfn: Any) -> None:
    processor = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Bad"}],
                "Default": "Good",
            },
            "Good": {"Type": "Pass", "End": True},
            "Bad": {"Type": "Fail", "Error": "TooBig"},
        },
    }
    arn = machine(sfn, distributed(processor, ToleratedFailureCount=2))
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3, 4]")["executionArn"]
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output[:2] == [1, 2]
    assert [o["Error"] for o in output[2:]] == ["TooBig", "TooBig"]

    map_run = map_run_of(sfn, execution)
    run = sfn.describe_map_run(mapRunArn=map_run)
    assert run["status"] == "SUCCEEDED"
    assert run["toleratedFailureCount"] == 2
    assert counts(sfn, map_run) == {"succeeded": 2, "failed": 2, "total": 4}
    failed = children(sfn, map_run, statusFilter="FAILED")
    assert len(failed) == 2
    assert all("stopDate" in c for c in failed)
    # Each child answers DescribeExecution: its item, its output or how it failed.
    by_input = {}
    for child in children(sfn, map_run):
        described_child = sfn.describe_execution(executionArn=child["executionArn"])
        assert described_child["mapRunArn"] == map_run
        assert described_child["stateMachineArn"] == child["stateMachineArn"]
        by_input[json.loads(described_child["input"])] = described_child
    assert sorted(by_input) == [1, 2, 3, 4]
    assert (by_input[2]["status"], json.loads(by_input[2]["output"])) == ("SUCCEEDED", 2)
    assert (by_input[4]["status"], by_input[4]["error"], "output" in by_input[4]) == (
        "FAILED", "TooBig", False,
    )
    with pytest.raises(ClientError, match="ExecutionDoesNotExist"):
        sfn.describe_execution(executionArn=child["executionArn"][:-4] + "0000")


def test_a_failed_run_aborts_its_running_children(sfn: Any) -> None:
    processor = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Bad"}],
                "Default": "Nap",
            },
            "Nap": {"Type": "Wait", "SecondsPath": "$", "End": True},
            "Bad": {"Type": "Fail", "Error": "Broken"},
        },
    }
    arn = machine(sfn, distributed(processor))
    execution = sfn.start_execution(stateMachineArn=arn, input="[3600, 0]")["executionArn"]
    assert finished(sfn, execution)["status"] == "FAILED"
    map_run = map_run_of(sfn, execution)
    assert sfn.describe_map_run(mapRunArn=map_run)["status"] == "FAILED"
    assert counts(sfn, map_run) == {"failed": 1, "aborted": 1, "total": 2}


def test_unknown_map_run(sfn: Any) -> None:
    arn = machine(sfn, distributed(WAIT_ITEM))
    execution = sfn.start_execution(stateMachineArn=arn, input="[0]")["executionArn"]
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    map_run = map_run_of(sfn, execution)
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(mapRunArn=map_run[:-1] + ("0" if map_run[-1] != "0" else "1"))
    assert error_of(exc)[0] == "ResourceNotFound"


def test_a_map_run_resumed_after_sigkill_keeps_its_records(
    new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = new_server(data_dir=data_dir)
    sfn = client(first)
    activity = sfn.create_activity(name=unique("item"))["activityArn"]
    work = {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": activity, "End": True}}}
    arn = machine(sfn, distributed(work, MaxConcurrency=1))
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_success(taskToken=task["taskToken"], output=task["input"])
    held = sfn.get_activity_task(activityArn=activity)
    map_run = map_run_of(sfn, execution)
    assert counts(sfn, map_run) == {"succeeded": 1, "running": 1, "pending": 1, "total": 3}

    first.kill()
    sfn = client(new_server(data_dir=data_dir))
    assert counts(sfn, map_run) == {"succeeded": 1, "running": 1, "pending": 1, "total": 3}
    # The worker that held the second item before the crash still answers for it.
    wait_for(lambda: answered(sfn, held), what="the resumed item to accept its token")
    last = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_success(taskToken=last["taskToken"], output=last["input"])
    described = finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert sorted(json.loads(described["output"])) == [1, 2, 3]
    assert [r["mapRunArn"] for r in sfn.list_map_runs(executionArn=execution)["mapRuns"]] == [
        map_run
    ]
    assert sfn.describe_map_run(mapRunArn=map_run)["status"] == "SUCCEEDED"
    assert counts(sfn, map_run) == {"succeeded": 3, "total": 3}
    assert len(children(sfn, map_run, statusFilter="SUCCEEDED")) == 3


def answered(sfn: Any, task: dict[str, Any]) -> bool:
    try:
        sfn.send_task_success(taskToken=task["taskToken"], output=task["input"])
    except sfn.exceptions.TaskDoesNotExist:
        return False
    return True


def test_more_failures_than_tolerated_fail_the_run(sfn: Any) -> None:
    processor = {"StartAt": "Bad", "States": {"Bad": {"Type": "Fail", "Error": "Nope"}}}
    arn = machine(sfn, distributed(processor, ToleratedFailureCount=1, MaxConcurrency=1))
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"]
    described = finished(sfn, execution)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED", "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )
    map_run = map_run_of(sfn, execution)
    assert sfn.describe_map_run(mapRunArn=map_run)["status"] == "FAILED"
    assert counts(sfn, map_run) == {"failed": 3, "total": 3}
