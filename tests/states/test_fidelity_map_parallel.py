"""Map and Parallel as AWS has them beyond the public corpus: how a failed branch or
iteration aborts the others (LocalStack's AWS-validated recordings of Task tests), the
ItemBatcher, ItemSelector's view of the item, MaxConcurrency, and what CreateStateMachine
refuses in Label, ToleratedFailure* and ItemBatcher."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from batchyard.states.asl import (
    EchoInvoker,
    Interpreter,
    InvalidDefinitionError,
    TaskFailure,
    TaskRequest,
    VirtualClock,
    parse_definition,
)

INVOKE = "arn:aws:states:::lambda:invoke"
PREFIX = "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "
CAUSE = '{"errorMessage":"Some exception was raised."}'


async def _raise(_request: TaskRequest) -> Any:
    raise TaskFailure("Exception", CAUSE)


async def _never(_request: TaskRequest) -> Any:
    await asyncio.Future()


def _run(definition: dict[str, Any], data: Any = None, **handlers: Any) -> Any:
    invoker = EchoInvoker(handlers.pop("handlers", {INVOKE: _raise}))
    interp = Interpreter(
        parse_definition(definition), {} if data is None else data, invoker=invoker,
        clock=VirtualClock(),
    )
    return asyncio.run(interp.run())


def _shape(events: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    return [(e["id"], e["previousEventId"], e["type"]) for e in events]


def _invoke(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": INVOKE, "End": True,
            "Parameters": {"FunctionName": "f", "Payload": {"foo": "foobar"}}, **fields}


def _parallel(*branches: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "ParallelState",
        "States": {
            "ParallelState": {
                "Type": "Parallel", "Branches": list(branches), "Next": "Finish", **fields,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}],
            },
            "Fallback": {"Type": "Pass", "End": True},
            "Finish": {"Type": "Pass", "End": True},
        },
    }


LAMBDA_BRANCH = {"StartAt": "ExecuteLambdaTask", "States": {"ExecuteLambdaTask": _invoke()}}


# -- a failure aborts the rest -------------------------------------------------------------
def test_a_task_failing_in_a_branch_is_aborted_before_the_parallel_fails() -> None:
    # AWS's recording (PARALLEL_CATCH_ERROR_OUTPUT): the failed Task state is aborted after
    # its TaskFailed, and ParallelStateFailed follows TaskFailed too.
    result = _run(_parallel(LAMBDA_BRANCH), {"inputData": "dummy"})
    assert _shape(result.events) == [
        (1, 0, "ExecutionStarted"), (2, 0, "ParallelStateEntered"),
        (3, 2, "ParallelStateStarted"), (4, 3, "TaskStateEntered"), (5, 4, "TaskScheduled"),
        (6, 5, "TaskStarted"), (7, 6, "TaskFailed"), (8, 7, "TaskStateAborted"),
        (9, 7, "ParallelStateFailed"), (10, 9, "ParallelStateExited"),
        (11, 10, "PassStateEntered"), (12, 11, "PassStateExited"),
        (13, 12, "ExecutionSucceeded"),
    ]
    assert result.output == {"Error": "Exception", "Cause": CAUSE}


def test_a_retried_parallel_starts_again_after_the_failed_task() -> None:
    # AWS's recording (PARALLEL_CATCH_ERROR_OUTPUT_WITH_RETRY): the retry's
    # ParallelStateStarted follows the TaskFailed, not the abort.
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    result = _run(_parallel(LAMBDA_BRANCH, Retry=retry), {"inputData": "dummy"})
    assert _shape(result.events)[6:10] == [
        (7, 6, "TaskFailed"), (8, 7, "TaskStateAborted"), (9, 7, "ParallelStateStarted"),
        (10, 9, "TaskStateEntered"),
    ]
    assert _shape(result.events)[12:16] == [
        (13, 12, "TaskFailed"), (14, 13, "TaskStateAborted"), (15, 13, "ParallelStateFailed"),
        (16, 15, "ParallelStateExited"),
    ]


def test_the_first_failing_branch_fails_the_parallel_and_aborts_the_others() -> None:
    waiting = {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 60,
                                                       "End": True}}}
    failing = {"StartAt": "Soon", "States": {
        "Soon": {"Type": "Wait", "Seconds": 1, "Next": "Boom"},
        "Boom": {"Type": "Fail", "Error": "First", "Cause": "the first"},
    }}
    later = {"StartAt": "Later", "States": {
        "Later": {"Type": "Wait", "Seconds": 5, "Next": "Bang"},
        "Bang": {"Type": "Fail", "Error": "Second"},
    }}
    result = _run(_parallel(waiting, failing, later))
    assert result.output == {"Error": "First", "Cause": "the first"}
    types = [e["type"] for e in result.events]
    assert "Second" not in str(result.events)
    fail_entered = types.index("FailStateEntered")
    # A Fail state ends its branch without an abort; the two still waiting are aborted.
    assert types[fail_entered + 1:fail_entered + 4] == [
        "WaitStateAborted", "WaitStateAborted", "ParallelStateFailed",
    ]
    entered_id = result.events[fail_entered]["id"]
    assert [e["previousEventId"] for e in result.events[fail_entered + 1:fail_entered + 4]] == [
        entered_id, entered_id, entered_id,
    ]


def test_a_map_iteration_that_times_out_aborts_the_others() -> None:
    # AWS's recording (SERVICE_LAMBDA_MAP_FUNCTION_INVOKE_WITH_TIMEOUT_SECONDS): the failed
    # iteration, then each other iteration and its state, all after the first timeout.
    definition = {
        "StartAt": "MapWait",
        "States": {"MapWait": {
            "Type": "Map", "InputPath": "$.Inputs", "End": True,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "LambdaInvoke",
                              "States": {"LambdaInvoke": _invoke(TimeoutSeconds=5)}},
        }},
    }
    result = _run(definition, {"Inputs": [{}, {}, {}, {}]}, handlers={INVOKE: _never})
    timed_out = next(e for e in result.events if e["type"] == "TaskTimedOut")
    tail = result.events[result.events.index(timed_out) + 1:]
    assert [(e["type"], e.get("mapIterationFailedEventDetails",
                             e.get("mapIterationAbortedEventDetails", {})).get("index"))
            for e in tail] == [
        ("MapIterationFailed", 0), ("TaskStateAborted", None), ("MapIterationAborted", 1),
        ("TaskStateAborted", None), ("MapIterationAborted", 2), ("TaskStateAborted", None),
        ("MapIterationAborted", 3), ("TaskStateAborted", None), ("MapStateFailed", None),
        ("ExecutionFailed", None),
    ]
    assert {e["previousEventId"] for e in tail[:-1]} == {timed_out["id"]}
    assert result.error == "States.Timeout"


def test_an_expression_failing_in_an_iteration_is_not_aborted() -> None:
    # AWS's recording (MAP_CATCH_ERROR_OUTPUT_WITH_RETRY): the iteration's Pass fails on its
    # Output, and the iteration and the Map fail right after EvaluationFailed.
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "ProcessItems",
        "States": {"ProcessItems": {
            "Type": "Map", "Items": "{% $states.input.items %}", "MaxConcurrency": 1,
            "End": True,
            "ItemProcessor": {"StartAt": "ProcessItem", "States": {
                "ProcessItem": {
                    "Type": "Task", "Resource": INVOKE, "Next": "Finish",
                    "Arguments": {"FunctionName": "f", "Payload": {"foo": "foobar"}},
                    "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                               "MaxAttempts": 1}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback", "Output": {
                        "stateInput": "{% $states.input %}",
                        "stateError": "{% $states.errorOutput %}"}}],
                },
                "Fallback": {"Type": "Pass", "Output": {"error": "{% $stateError %}"},
                             "End": True},
                "Finish": {"Type": "Pass", "End": True},
            }},
        }},
    }
    result = _run(definition, {"items": [1, 2, 3]})
    assert _shape(result.events)[11:] == [
        (12, 11, "TaskStateExited"), (13, 12, "PassStateEntered"),
        (14, 12, "EvaluationFailed"), (15, 14, "MapIterationFailed"),
        (16, 14, "MapStateFailed"), (17, 16, "ExecutionFailed"),
    ]
    assert result.cause == (
        "An error occurred while executing the state 'Fallback' (entered at the event id #13). "
        "The JSONata expression '$stateError' specified for the field 'Output/error' returned "
        "nothing (undefined)."
    )


def test_more_failures_than_tolerated_fail_with_aws_cause() -> None:
    # AWS's words, as TestState recorded them for a Map over its tolerance.
    definition = {
        "StartAt": "M",
        "States": {"M": {
            "Type": "Map", "ToleratedFailureCount": 0, "End": True,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED",
                                                  "ExecutionType": "STANDARD"},
                              "StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}},
        }},
    }
    result = _run(definition, [1])
    assert (result.error, result.cause) == (
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )


# -- items ---------------------------------------------------------------------------------
def _distributed(**fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "BatchMapState",
        "States": {"BatchMapState": {
            "Type": "Map", "End": True, **fields,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED",
                                                  "ExecutionType": "STANDARD"},
                              "StartAt": "ProcessBatch",
                              "States": {"ProcessBatch": {"Type": "Pass", "End": True}}},
        }},
    }


def test_an_item_batcher_hands_each_child_its_items_and_the_batch_input() -> None:
    # AWS's recording (MAP_ITEM_BATCHER_BASE_JSON_MAX_PER_BATCH_JSONATA): a child's input is
    # {"BatchInput": ..., "Items": [...]}, and the Map's output one result per batch.
    definition = _distributed(
        Items="{% $states.input.items %}",
        ItemBatcher={"MaxItemsPerBatch": "{% $states.input.MaxItemsPerBatch %}",
                     "BatchInput": {"BatchName": "{% $states.context.State.Name %}"}},
    )
    definition["QueryLanguage"] = "JSONata"
    result = _run(definition, {"items": [1, 2, 3, 4, 5], "MaxItemsPerBatch": 2})
    head = {"BatchInput": {"BatchName": "BatchMapState"}}
    assert result.output == [
        {**head, "Items": [1, 2]}, {**head, "Items": [3, 4]}, {**head, "Items": [5]},
    ]


def test_batch_limits_may_come_from_variables_holding_integer_text() -> None:
    # AWS's recording (MAP_STATE_REFERENCE_IN_MAX_PER_BATCH_PATH) assigns "2" and "15000".
    definition = _distributed(
        ItemsPath="$.items",
        ItemBatcher={"MaxItemsPerBatchPath": "$maxItemsPerBatch",
                     "MaxInputBytesPerBatchPath": "$maxBytesPerBatch"},
    )
    definition["StartAt"] = "Start"
    definition["States"]["Start"] = {
        "Type": "Pass", "Next": "BatchMapState",
        "Assign": {"maxItemsPerBatch": "2", "maxBytesPerBatch": "15000"},
    }
    result = _run(definition, {"items": ["a", "b", "c", "d"]})
    assert result.output == [{"Items": ["a", "b"]}, {"Items": ["c", "d"]}]


def test_a_byte_limit_closes_a_batch_before_it_grows_past_it() -> None:
    definition = _distributed(ItemBatcher={"MaxInputBytesPerBatch": 30})
    result = _run(definition, ["xxxx", "yyyy", "zzzz"])
    # {"Items":["xxxx","yyyy"]} is 25 bytes; a third item would make 32.
    assert result.output == [{"Items": ["xxxx", "yyyy"]}, {"Items": ["zzzz"]}]


def test_item_selector_sees_the_item_index_and_value_in_both_languages() -> None:
    processor = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    jsonpath = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": processor, "End": True,
        "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "in.$": "$.a"},
    }}}
    assert _run(jsonpath, {"a": 1, "xs": [10, 20]}).output == [
        {"i": 0, "v": 10, "in": 1}, {"i": 1, "v": 20, "in": 1},
    ]
    jsonata = {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map", "Items": [10, 20], "ItemProcessor": processor, "End": True,
        "ItemSelector": {"i": "{% $states.context.Map.Item.Index %}",
                         "v": "{% $states.context.Map.Item.Value %}"},
    }}}
    assert _run(jsonata, {}).output == [{"i": 0, "v": 10}, {"i": 1, "v": 20}]


def test_max_concurrency_bounds_the_iterations_running_at_once() -> None:
    running: list[int] = []
    peak: list[int] = []
    clock = VirtualClock()

    async def work(request: TaskRequest) -> Any:
        running.append(1)
        peak.append(len(running))
        await clock.sleep(1)
        running.pop()
        return request.parameters

    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "MaxConcurrency": 2, "End": True,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": INVOKE, "End": True}}},
    }}}
    interp = Interpreter(parse_definition(definition), [1, 2, 3, 4, 5],
                         invoker=EchoInvoker({INVOKE: work}), clock=clock)
    result = asyncio.run(interp.run())
    assert (result.output, max(peak)) == ([1, 2, 3, 4, 5], 2)


# -- what CreateStateMachine refuses -------------------------------------------------------
def _refusal(**fields: Any) -> str:
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(_distributed(**fields))
    return info.value.message


@pytest.mark.parametrize("character", [*' ?*<>{}[]:;,\\|^~$#%&`"', "\x00", "\x1f", "\x7f", "\x9f"])
def test_a_label_with_a_character_aws_refuses_is_refused(character: str) -> None:
    # The characters are AWS's (LocalStack's AWS-validated label test); the words are ours.
    assert _refusal(Label=f"label_{character}") == (
        PREFIX + f"Label contains an invalid character: {character!r} "
        "at /States/BatchMapState/Label'"
    )


@pytest.mark.parametrize(("label", "problem"), [
    ("", "Label cannot be empty"),
    ("x" * 41, "Label cannot exceed 40 characters"),
])
def test_a_label_must_hold_one_to_forty_characters(label: str, problem: str) -> None:
    assert _refusal(Label=label) == PREFIX + f"{problem} at /States/BatchMapState/Label'"


def test_a_label_of_forty_characters_is_taken_but_only_once() -> None:
    parse_definition(_distributed(Label="x" * 40))
    definition = _distributed(Label="same")
    inner = definition["States"]["BatchMapState"]["ItemProcessor"]
    inner["States"]["ProcessBatch"] = {
        "Type": "Map", "Label": "same", "End": True,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
    }
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(definition)
    # The outer Map is checked after the states it runs.
    assert info.value.message == (
        PREFIX + "Label must be unique within the state machine at /States/BatchMapState/Label'"
    )


@pytest.mark.parametrize(("fields", "problem", "where"), [
    ({"ToleratedFailurePercentage": 101}, "Maximum value is 100", "ToleratedFailurePercentage"),
    ({"ToleratedFailurePercentage": -1}, "Minimum value is 0", "ToleratedFailurePercentage"),
    ({"ToleratedFailureCount": -1}, "Minimum value is 0", "ToleratedFailureCount"),
    ({"MaxConcurrency": -1}, "Minimum value is 0", "MaxConcurrency"),
    ({"MaxConcurrency": 1.5}, "Expected value of type Integer", "MaxConcurrency"),
    ({"ItemBatcher": {"MaxItemsPerBatch": 0}}, "Minimum value is 1",
     "ItemBatcher/MaxItemsPerBatch"),
    ({"ItemBatcher": {"MaxInputBytesPerBatch": 262_145}}, "Maximum value is 262144",
     "ItemBatcher/MaxInputBytesPerBatch"),
])
def test_map_limits_out_of_range_are_refused(
    fields: dict[str, Any], problem: str, where: str
) -> None:
    assert _refusal(**fields) == PREFIX + f"{problem} at /States/BatchMapState/{where}'"


def test_a_percentage_may_be_fractional_and_a_batcher_needs_a_limit() -> None:
    parse_definition(_distributed(ToleratedFailurePercentage=12.5, MaxConcurrency=0))
    assert _refusal(ItemBatcher={"BatchInput": {}}) == (
        PREFIX + "At least one of MaxItemsPerBatch, MaxItemsPerBatchPath, "
        "MaxInputBytesPerBatch or MaxInputBytesPerBatchPath must be set "
        "at /States/BatchMapState/ItemBatcher'"
    )


@pytest.mark.parametrize(("config", "problem", "where"), [
    ({"Mode": "DISTRIBUTED"}, "These fields are required: [ExecutionType]", ""),
    ({"Mode": "DISTRIBUTED", "ExecutionType": "QUICK"},
     "The field 'ExecutionType' should have one of these values: [STANDARD, EXPRESS]",
     "/ExecutionType"),
    ({"Mode": "PARALLEL"},
     "The field 'Mode' should have one of these values: [INLINE, DISTRIBUTED]", "/Mode"),
    ({"Mode": "INLINE", "Workers": 2}, "Field 'Workers' is not supported", ""),
])
def test_a_processor_config_aws_refuses_is_refused(
    config: dict[str, Any], problem: str, where: str
) -> None:
    definition = _distributed()
    definition["States"]["BatchMapState"]["ItemProcessor"]["ProcessorConfig"] = config
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(definition)
    assert info.value.message == (
        PREFIX + f"{problem} at /States/BatchMapState/ItemProcessor/ProcessorConfig{where}'"
    )
