"""Execution-wide rules as AWS has them: the payload quota on what states hand on and on the
execution input, a Choice nothing matches, a Fail state's JSONata Error and Cause, the history
quota, and the fields of a whole definition."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.states_api.conftest import PASS, client, machine
from tests.states_api.test_executions import finished
from tests.support.server import ServerProcess

from batchyard.states.asl import (
    Interpreter,
    InvalidDefinitionError,
    VirtualClock,
    parse_definition,
)

QUOTA = 256 * 1024


def _run(definition: dict[str, Any], data: Any = None, **options: Any) -> Any:
    machine_ = parse_definition(definition)
    return asyncio.run(
        Interpreter(machine_, {} if data is None else data, clock=VirtualClock(),
                    **options).run()
    )


def _types(result: Any) -> list[str]:
    return [e["type"] for e in result.events]


def test_a_parallel_whose_joined_results_pass_the_quota_names_itself() -> None:
    half = {"Type": "Pass", "Result": "x" * (QUOTA // 2), "End": True}
    definition = {
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "A", "States": {"A": half}}, {"StartAt": "B", "States": {"B": half}},
        ]}},
    }
    result = _run(definition)
    # AWS's words (the public corpus's test_start_large_input), for the state that joins.
    assert (result.status, result.error, result.cause) == (
        "FAILED", "States.DataLimitExceeded",
        "The state/task 'Both' returned a result with a size exceeding the maximum number of "
        "bytes service limit.",
    )
    assert _types(result)[-2:] == ["ParallelStateSucceeded", "ExecutionFailed"]


def test_a_jsonata_output_at_the_quota_passes_and_one_byte_more_fails() -> None:
    def output(size: int) -> dict[str, Any]:
        # The quotes of a JSON string take two of the bytes.
        return {"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {
            "Type": "Pass", "Output": f"{{% $pad('', {size - 2}, 'x') %}}", "End": True}}}

    assert _run(output(QUOTA)).status == "SUCCEEDED"
    assert _run(output(QUOTA + 1)).error == "States.DataLimitExceeded"


def test_a_choice_nothing_matches_fails_with_no_choice_matched() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]},
            "D": {"Type": "Succeed"},
        },
    }
    result = _run(definition, {"x": 2})
    assert (result.status, result.error, result.cause) == (
        "FAILED", "States.NoChoiceMatched", "No Matches!",
    )
    assert _types(result) == ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]


@pytest.mark.parametrize(("field", "value"), [("Error", "Exception"), ("Cause", "It broke.")])
def test_a_fail_state_takes_its_error_or_cause_from_jsonata(field: str, value: str) -> None:
    # AWS's recordings (RAISE_FAILURE_ERROR_JSONATA, RAISE_FAILURE_CAUSE_JSONATA): the field
    # it does not have is absent from the failure.
    definition = {
        "QueryLanguage": "JSONata", "StartAt": "FailState",
        "States": {"FailState": {"Type": "Fail",
                                 field: f"{{% $states.input.{field.lower()} %}}"}},
    }
    result = _run(definition, {field.lower(): value})
    assert _types(result) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert result.events[2]["executionFailedEventDetails"] == {field.lower(): value}


def test_the_history_quota_fails_the_execution_at_its_last_event() -> None:
    loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                       "B": {"Type": "Pass", "Next": "A"}}}
    result = _run(loop, max_events=51)
    assert (result.status, result.error, result.cause) == (
        "FAILED", "States.Runtime",
        "The execution reached the maximum number of history events (51).",
    )
    assert (len(result.events), result.events[-1]["type"]) == (51, "ExecutionFailed")


@pytest.fixture(scope="module")
def sfn(server: ServerProcess) -> Any:
    """A Step Functions client on the shared server."""
    return client(server)


def test_start_execution_takes_an_input_of_the_quota_and_refuses_a_longer_one(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    at_quota = json.dumps("x" * (QUOTA - 2))
    execution = sfn.start_execution(stateMachineArn=arn, input=at_quota)["executionArn"]
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=arn, input=json.dumps("x" * (QUOTA - 1)))
    # The input member's limit in botocore's model: 262,144 characters.
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "262144" in info.value.response["Error"]["Message"]
    assert "'input'" in info.value.response["Error"]["Message"]


def test_start_execution_refuses_an_input_over_the_quota_in_bytes(sfn: Any) -> None:
    arn = machine(sfn, PASS)
    # Half as many characters as the quota, each two bytes of UTF-8.
    text = json.dumps("é" * (QUOTA // 2), ensure_ascii=False)
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=arn, input=text)
    assert info.value.response["Error"]["Code"] == "InvalidExecutionInput"


def test_a_definition_missing_both_required_fields_names_them_in_one_problem(sfn: Any) -> None:
    # AWS's recording (test_validate_state_machine_definition_not_a_definition[EMPTY_DICT]).
    answer = sfn.validate_state_machine_definition(definition="{}")
    assert (answer["result"], answer["truncated"]) == ("FAIL", False)
    assert answer["diagnostics"] == [{
        "code": "SCHEMA_VALIDATION_FAILED", "location": "/",
        "message": "These fields are required: [States, StartAt]", "severity": "ERROR",
    }]


def test_a_definition_field_aws_does_not_have_and_a_version_other_than_1_0_are_refused() -> None:
    definition = {"StartAt": "P", "Version": "2.0", "Timeout": 5,
                  "States": {"P": {"Type": "Pass", "End": True}}}
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(definition)
    assert info.value.message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Field 'Timeout' is not "
        "supported at /, SCHEMA_VALIDATION_FAILED: Value should be one of the following: [1.0] "
        "at /Version'"
    )
    # AWS's recording (test_decl_version_1_0) runs a definition that declares 1.0.
    definition.update(Version="1.0")
    del definition["Timeout"]
    assert _run(definition).status == "SUCCEEDED"
