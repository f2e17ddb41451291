"""The engine's plain-Python parts, without a server: tokens, pages, ARNs, the dispatcher,
the journal and the runner on the ASL interpreter, and how often a definition is parsed."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from batchyard.aws.caller import Caller
from batchyard.bus import Bus
from batchyard.protocol.errors import ServiceError
from batchyard.states import StepFunctions, arns, records
from batchyard.states.asl import EchoInvoker, definition
from batchyard.states.model import (
    Checkpoint,
    Execution,
    ExecutionSource,
    ExecutionStatus,
    MachineType,
)
from batchyard.states.runner import ExecutionRunner, Journal
from batchyard.states.service import page
from batchyard.states.tasks import (
    ActivityDispatcher,
    ActivityTask,
    TokenRegistry,
    make_token,
    read_token,
)
from batchyard.states.tools import validate
from batchyard.store import Store

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:m"


def test_tokens_name_their_task_and_reject_garbage() -> None:
    token = make_token("arn:exec", "salt", "Work|t|0|")
    assert read_token(token) == ("arn:exec", "Work|t|0|")
    assert make_token("arn:exec", "salt", "Work|t|0|") == token
    assert make_token("arn:exec", "other", "Work|t|0|") != token
    with pytest.raises(ServiceError) as exc:
        read_token("%%%")
    assert exc.value.code == "InvalidToken"


def test_registry_answers_and_forgets() -> None:
    async def scenario() -> None:
        registry = TokenRegistry()
        beats: list[int] = []
        token = make_token("arn:exec", "s", "k")
        waiting = asyncio.ensure_future(registry.answer(token, "arn:exec", lambda: beats.append(1)))
        await asyncio.sleep(0)
        registry.heartbeat(token)
        registry.succeed(token, {"ok": True})
        assert await waiting == {"ok": True}
        assert beats == [1]
        with pytest.raises(ServiceError) as exc:
            registry.succeed(token, {})
        assert exc.value.code == "TaskTimedOut"
        with pytest.raises(ServiceError) as exc:
            registry.succeed(make_token("arn:exec", "s", "never"), {})
        assert exc.value.code == "TaskDoesNotExist"

    asyncio.run(scenario())


def test_pages_resume_only_their_own_listing() -> None:
    items = list(range(5))
    first = page(items, None, 2, "a")
    assert first.items == [0, 1]
    assert first.next_token is not None
    second = page(items, first.next_token, 2, "a")
    assert second.items == [2, 3]
    with pytest.raises(ServiceError) as exc:
        page(items, second.next_token, None, "b")
    assert exc.value.code == "InvalidToken"


def test_arns() -> None:
    assert arns.execution_arn(MACHINE, "e") == "arn:aws:states:us-east-1:123456789012:execution:m:e"
    assert arns.split_qualified(MACHINE + ":3") == (MACHINE, "3")
    with pytest.raises(ServiceError) as exc:
        arns.parse_arn(MACHINE, "activity")
    assert exc.value.message == (
        "Invalid Arn: 'Resource type not valid in this context: stateMachine'"
    )
    for bad in ("a b", "x" * 81, "", "semi;colon"):
        with pytest.raises(ServiceError):
            arns.check_name(bad)


def test_dispatcher_matches_polls_and_tasks() -> None:
    async def scenario() -> None:
        dispatcher = ActivityDispatcher()
        started: list[str] = []
        assert await dispatcher.poll("act", "w", timeout=0.01) is None
        poll = asyncio.ensure_future(dispatcher.poll("act", "w1", timeout=5))
        await asyncio.sleep(0)
        dispatcher.offer("act", ActivityTask("t1", "{}", started.append))
        assert (await poll).token == "t1"
        dispatcher.offer("act", ActivityTask("t2", "{}", started.append))
        dispatcher.offer("act", ActivityTask("t3", "{}", started.append))
        dispatcher.withdraw("t2")
        assert (await dispatcher.poll("act", "w2")).token == "t3"
        assert started == ["w1", "w2"]

    asyncio.run(scenario())


def test_diagnostics_split_every_problem() -> None:
    bad = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Gone"}}}
    answer = validate(json.dumps(bad), None)
    assert answer.result == "FAIL"
    assert answer.diagnostics[0].location == "/States/P/Next"
    assert validate(json.dumps(bad), 1).truncated is False


def _execution(definition: dict[str, object], name: str) -> Execution:
    return Execution(
        arn=arns.execution_arn(MACHINE, name), machine_arn=MACHINE, name=name,
        status=ExecutionStatus.RUNNING, started=time.time(), input='{"a": 1}',
        source=ExecutionSource(
            type=MachineType.STANDARD, definition=json.dumps(definition), machine_name="m",
            role_arn="arn:aws:iam::123456789012:role/r", revision_id="", updated=0.0, salt="s",
        ),
    )


def test_runner_persists_history_and_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "B"},
            "B": {"Type": "Pass", "Result": "done", "End": True},
        },
    }
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")

    async def interrupted() -> None:
        execution = _execution(definition, "e1")
        await store.write(lambda conn: records.insert(conn, execution))
        runner = ExecutionRunner(execution, store, EchoInvoker(), 1.0, Bus())
        task = runner.start()
        while execution.last_event_id < 4:
            await asyncio.sleep(0.01)
        await runner.journal.flushed()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def resumed() -> Execution:
        arn = arns.execution_arn(MACHINE, "e1")
        stored = await store.read(lambda conn: records.load(conn, arn))
        assert stored is not None
        checkpoint = stored.checkpoint.resume
        assert checkpoint["last_event_id"] == stored.last_event_id == 4
        # Resume as a time-scaled server would, so the hour-long Wait is over at once.
        runner = ExecutionRunner(stored, store, EchoInvoker(), 1e9, Bus())
        await runner.start(checkpoint)
        return stored

    asyncio.run(interrupted())
    done = asyncio.run(resumed())
    assert done.status == ExecutionStatus.SUCCEEDED
    assert done.output == '"done"'
    events = store.read_sync(lambda conn: records.load_events(conn, done.arn))
    assert [e.type for e in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered",
        "WaitStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]
    assert [e.id for e in events] == list(range(1, 9))
    store.close()


def test_the_last_event_is_committed_only_with_the_executions_end(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    execution = _execution({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "e")

    def stored() -> tuple[str, list[str]]:
        row = store.read_sync(lambda conn: records.load(conn, execution.arn))
        assert row is not None
        events = store.read_sync(lambda conn: records.load_events(conn, execution.arn))
        return row.status, [e.type for e in events]

    async def scenario() -> None:
        await store.write(lambda conn: records.insert(conn, execution))
        journal = Journal(execution, store, lambda: Checkpoint({"at": "P"}))
        journal.record({"id": 1, "previousEventId": 0, "type": "ExecutionStarted"})
        await journal.flushed()
        assert stored() == ("RUNNING", ["ExecutionStarted"])
        journal.record({"id": 2, "previousEventId": 1, "type": "PassStateEntered"})
        journal.record({"id": 3, "previousEventId": 2, "type": "ExecutionSucceeded"})
        await journal.flushed()
        # A restart now must find the execution still inside its run, not ended under a
        # RUNNING row (it would run its end again).
        assert stored() == ("RUNNING", ["ExecutionStarted"])
        execution.status = ExecutionStatus.SUCCEEDED
        await journal.close()
        assert stored() == (
            "SUCCEEDED",
            ["ExecutionStarted", "PassStateEntered", "ExecutionSucceeded"],
        )

    asyncio.run(scenario())
    store.close()


def test_a_definition_is_parsed_once_however_often_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[object] = []
    real = definition.parse_definition
    monkeypatch.setattr(definition, "parse_definition", lambda text: parsed.append(1) or real(text))
    text = json.dumps({
        "Comment": f"unique {time.time_ns()}", "StartAt": "F",
        "States": {"F": {"Type": "Fail", "Error": "E"}},
    })
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    caller = Caller("123456789012", "us-east-1")

    async def scenario() -> None:
        sfn = StepFunctions(store, Bus())
        machine = (await sfn.create_state_machine(
            caller, "m", text, "arn:aws:iam::123456789012:role/r", publish=True
        )).state_machine_arn
        for name in ("a", "b"):
            execution = await sfn.start_execution(caller, machine, name)
            while (await sfn.describe_execution(caller, execution.arn)).status == "RUNNING":
                await asyncio.sleep(0.01)
        await sfn.redrive_execution(caller, execution.arn)
        while (await sfn.describe_execution(caller, execution.arn)).status == "RUNNING":
            await asyncio.sleep(0.01)
        await sfn.stop()

    asyncio.run(scenario())
    store.close()
    assert parsed == [1]
