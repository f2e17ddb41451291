"""Interpreter behaviour beyond the corpus: tasks, retries, timeouts, limits, resume."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from batchyard.states.asl import (
    EchoInvoker,
    ExecutionInfo,
    Interpreter,
    TaskFailure,
    TaskRequest,
    VirtualClock,
    parse_definition,
)


def _run(defn: dict[str, Any], data: Any = None, **kw: Any) -> Any:
    kw.setdefault("clock", VirtualClock())
    interp = Interpreter(parse_definition(defn), {} if data is None else data, **kw)
    return asyncio.run(interp.run())


def _types(result: Any) -> list[str]:
    return [e["type"] for e in result.events]


TASK = "arn:aws:states:::lambda:invoke"


def test_task_success_events_and_result_shaping() -> None:
    sink: list[dict[str, Any]] = []
    res = _run(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": TASK,
                    "Parameters": {"v.$": "$.x"},
                    "ResultSelector": {"got.$": "$.v"},
                    "ResultPath": "$.out",
                    "End": True,
                }
            },
        },
        {"x": 7},
        event_sink=sink.append,
    )
    assert res.status == "SUCCEEDED"
    assert res.output == {"x": 7, "out": {"got": 7}}
    assert _types(res) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = res.events[2]["taskScheduledEventDetails"]
    assert scheduled["resourceType"] == "lambda" and scheduled["resource"] == "invoke"
    assert json.loads(scheduled["parameters"]) == {"v": 7}
    assert sink == res.events
    assert [e["id"] for e in sink] == list(range(1, len(sink) + 1))


def test_task_retry_backoff_uses_the_clock_then_catch() -> None:
    clock = VirtualClock()
    start = clock.now()
    calls: list[Any] = []

    async def flaky(req: TaskRequest) -> Any:
        calls.append(clock.now())
        raise TaskFailure("Boom", "it broke")

    res = _run(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": TASK,
                    "Retry": [
                        {
                            "ErrorEquals": ["Boom"],
                            "IntervalSeconds": 2,
                            "MaxAttempts": 2,
                            "BackoffRate": 3,
                        }
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C", "ResultPath": "$.err"}],
                    "End": True,
                },
                "C": {"Type": "Pass", "End": True},
            },
        },
        {"k": 1},
        clock=clock,
        invoker=EchoInvoker({TASK: flaky}),
    )
    assert res.status == "SUCCEEDED"
    assert res.output == {"k": 1, "err": {"Error": "Boom", "Cause": "it broke"}}
    # First try at t=0, retries after 2 s and then 6 s more: virtual time, no real sleeping.
    assert [(t - start).total_seconds() for t in calls] == [0, 2, 8]
    assert _types(res).count("TaskFailed") == 3


def test_task_timeout_and_heartbeat() -> None:
    async def slow(req: TaskRequest) -> Any:
        await asyncio.Future()  # never finishes on its own

    async def beating(req: TaskRequest) -> Any:
        for _ in range(3):
            await clock.sleep(4)
            req.heartbeat()
        return "done"

    defn = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": TASK, "TimeoutSeconds": 30, "End": True}},
    }
    res = _run(defn, invoker=EchoInvoker({TASK: slow}))
    assert (res.status, res.error) == ("FAILED", "States.Timeout")
    assert "TaskTimedOut" in _types(res)
    hb = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": TASK, "HeartbeatSeconds": 5, "End": True}},
    }
    res = _run(hb, invoker=EchoInvoker({TASK: slow}))
    # AWS records a missed heartbeat as States.Timeout (see test_fidelity_timeouts).
    assert res.error == "States.Timeout"
    clock = VirtualClock()
    res = _run(hb, clock=clock, invoker=EchoInvoker({TASK: beating}))
    assert (res.status, res.output) == ("SUCCEEDED", "done")


def test_execution_timeout_is_timed_out() -> None:
    res = _run(
        {
            "TimeoutSeconds": 5,
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}},
        }
    )
    assert res.status == "TIMED_OUT"
    assert _types(res)[-1] == "ExecutionTimedOut"
    first, last = res.events[0]["timestamp"], res.events[-1]["timestamp"]
    assert last - first == timedelta(seconds=5)


def test_history_limit_fails_the_execution() -> None:
    loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    res = _run(loop, max_events=101)
    assert res.status == "FAILED"
    assert res.error == "States.Runtime"
    assert len(res.events) == 101
    assert res.events[-1]["type"] == "ExecutionFailed"


def test_variables_scope_in_map() -> None:
    res = _run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "S",
            "States": {
                "S": {"Type": "Pass", "Assign": {"outer": 10}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "Items": "{% [1, 2] %}",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {
                            "I": {
                                "Type": "Pass",
                                "Assign": {"inner": "{% $states.input %}"},
                                "Next": "J",
                            },
                            "J": {"Type": "Pass", "Output": "{% $outer + $inner %}", "End": True},
                        },
                    },
                    "Assign": {"total": "{% $sum($states.result) %}"},
                    "Output": "{% $sum($states.result) %}",
                    "Next": "E",
                },
                "E": {"Type": "Pass", "Output": "{% [$total, $exists($inner)] %}", "End": True},
            },
        }
    )
    assert res.status == "SUCCEEDED", res.cause
    assert res.output == [23, False]


def test_output_and_assign_see_variables_from_before_the_state() -> None:
    res = _run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "S",
            "States": {
                "S": {"Type": "Pass", "Assign": {"x": 1}, "Next": "T"},
                "T": {
                    "Type": "Pass",
                    "Assign": {"x": 2, "y": "{% $x %}"},
                    "Output": "{% $x %}",
                    "Next": "U",
                },
                "U": {"Type": "Pass", "Output": "{% [$x, $y] %}", "End": True},
            },
        }
    )
    assert res.output == [2, 1]
    exited = [e for e in res.events if e["type"] == "PassStateExited"][1]
    assert exited["stateExitedEventDetails"]["assignedVariables"] == {"x": "2", "y": "1"}
    assert exited["stateExitedEventDetails"]["output"] == "1"


# -- checkpoint / resume -------------------------------------------------------------------
MAP_WITH_WAIT = {
    "StartAt": "Prep",
    "States": {
        "Prep": {"Type": "Pass", "Assign": {"base": 100}, "Next": "M"},
        "M": {
            "Type": "Map",
            "ItemsPath": "$.xs",
            "MaxConcurrency": 1,
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
            "ItemProcessor": {
                "StartAt": "Pause",
                "States": {
                    "Pause": {"Type": "Wait", "Seconds": 30, "Next": "Calc"},
                    "Calc": {
                        "Type": "Pass",
                        "Parameters": {"sum.$": "States.MathAdd($.v, $base)", "i.$": "$.i"},
                        "End": True,
                    },
                },
            },
            "ResultPath": "$.out",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


class StopAtSleep(VirtualClock):
    """A virtual clock whose n-th sleep never returns: the test interrupts it there."""

    def __init__(self, stop_at: int) -> None:
        super().__init__()
        self.stop_at = stop_at
        self.count = 0
        self.stopped = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.count += 1
        if self.count == self.stop_at:
            self.stopped.set()
            await asyncio.Future()
        await super().sleep(seconds)


def _shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["id"], e["previousEventId"], e["type"]) for e in events]


def test_resume_from_checkpoint_after_interrupt_in_map_wait() -> None:
    machine = parse_definition(MAP_WITH_WAIT)
    data = {"xs": [1, 2, 3]}
    info = ExecutionInfo(name="resume-me")

    # The reference: one uninterrupted run.
    clean = asyncio.run(Interpreter(machine, data, info, clock=VirtualClock()).run())
    assert clean.status == "SUCCEEDED"
    assert clean.output["out"] == [{"sum": 101, "i": 0}, {"sum": 102, "i": 1}, {"sum": 103, "i": 2}]

    checkpoints: list[dict[str, Any]] = []
    persisted: list[dict[str, Any]] = []

    async def interrupted() -> None:
        clock = StopAtSleep(stop_at=2)  # inside the second iteration's Wait
        interp = Interpreter(
            machine,
            data,
            ExecutionInfo(name="resume-me"),
            clock=clock,
            event_sink=persisted.append,
            checkpoint_sink=lambda cp: checkpoints.append(json.loads(json.dumps(cp))),
        )
        task = asyncio.ensure_future(interp.run())
        await clock.stopped.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(interrupted())
    last = checkpoints[-1]
    # The checkpoint survives a JSON round trip and shows the Map mid-way.
    root = last["root"]
    assert root["state"] == "M"
    assert root["entered_data"]["results"] == {"0": {"sum": 101, "i": 0}}
    assert root["children"]["1"]["state"] == "Pause"

    # The engine keeps the events the checkpoint covers and resumes from it.
    kept = [e for e in persisted if e["id"] <= last["last_event_id"]]
    resumed_events: list[dict[str, Any]] = []
    again = Interpreter(
        machine,
        None,
        ExecutionInfo(name="resume-me"),
        clock=VirtualClock(),
        event_sink=resumed_events.append,
    )
    result = asyncio.run(again.run(checkpoint=last))
    assert result.status == "SUCCEEDED"
    assert result.output == clean.output
    assert _shape(kept + resumed_events) == _shape(clean.events)


def test_resume_parallel_branch_and_top_level_wait() -> None:
    defn = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}},
                    {
                        "StartAt": "W",
                        "States": {
                            "W": {"Type": "Wait", "Seconds": 5, "Next": "B"},
                            "B": {"Type": "Pass", "Result": 2, "End": True},
                        },
                    },
                ],
                "Next": "Z",
            },
            "Z": {"Type": "Wait", "Seconds": 1, "End": True},
        },
    }
    machine = parse_definition(defn)
    clean = asyncio.run(Interpreter(machine, {}, clock=VirtualClock()).run())
    assert clean.output == [1, 2]
    for stop_at in (1, 2):
        checkpoints: list[dict[str, Any]] = []

        async def interrupted(n: int = stop_at, sink: list[Any] = checkpoints) -> None:
            clock = StopAtSleep(stop_at=n)
            interp = Interpreter(machine, {}, clock=clock, checkpoint_sink=sink.append)
            task = asyncio.ensure_future(interp.run())
            await clock.stopped.wait()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(interrupted())
        cp = json.loads(json.dumps(checkpoints[-1]))
        result = asyncio.run(Interpreter(machine, None, clock=VirtualClock()).run(checkpoint=cp))
        assert (result.status, result.output) == ("SUCCEEDED", [1, 2])


def test_iterations_entering_a_task_together_are_different_attempts() -> None:
    """Task tokens (and activity tasks) are named by the attempt: two Map iterations that
    enter the same task state at the same instant must not share a name."""
    seen: list[str] = []
    invoker = EchoInvoker()

    async def token(context: dict[str, Any], attempt: str) -> str:
        seen.append(attempt)
        return f"token-{len(seen)}"

    res = _run(
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "Ask",
                        "States": {
                            "Ask": {
                                "Type": "Task",
                                "Resource": f"{TASK}.waitForTaskToken",
                                "Parameters": {"token.$": "$$.Task.Token"},
                                "End": True,
                            }
                        },
                    },
                }
            },
        },
        [1, 2, 3],
        invoker=invoker,
        task_tokens=token,
    )
    assert res.status == "SUCCEEDED"
    assert len(set(seen)) == 3
    assert sorted(c.parameters["token"] for c in invoker.calls) == ["token-1", "token-2", "token-3"]
    assert len({c.attempt for c in invoker.calls}) == 3
    assert set(seen) == {c.attempt for c in invoker.calls}
