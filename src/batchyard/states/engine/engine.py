"""The Step Functions engine component: starts, stops, resumes and answers for executions."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime
from batchyard.states.engine import records
from batchyard.states.engine.activities import ActivityDispatcher, ActivityTask
from batchyard.states.engine.activity_invoker import ActivityInvoker
from batchyard.states.engine.invokers import InvokerRegistry
from batchyard.states.engine.maps import MapRunChild, MapRunTracker
from batchyard.states.engine.records import Execution, HistoryEvent
from batchyard.states.engine.runner import ExecutionRunner
from batchyard.states.engine.tokens import TokenRegistry, read_token
from batchyard.states.resources import activities as activity_resources
from batchyard.states.resources import aliases, arns, machines
from batchyard.states.resources.machines import Machine
from batchyard.store.tables.states import activities

log = logging.getLogger(__name__)

MAX_PAYLOAD = 256 * 1024


def _check_input(text: str | None) -> str:
    text = "{}" if text is None else text
    try:
        json.loads(text)
    except ValueError as exc:
        raise ServiceError(
            "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'"
        ) from None
    if len(text.encode()) > MAX_PAYLOAD:
        raise ServiceError(
            "InvalidExecutionInput",
            "Invalid State Machine Execution Input: 'The input exceeds the maximum size of "
            f"{MAX_PAYLOAD} bytes'",
        )
    return text


def _source(machine: Machine, alias_arn: str | None, trace_header: str | None) -> dict[str, Any]:
    """Everything an execution needs to know about what started it, frozen at its start."""
    return {
        "type": machine.type, "definition": machine.definition, "roleArn": machine.role_arn,
        "machineName": machine.name, "revisionId": machine.revision_id,
        "updated": machine.updated, "versionArn": machine.version_arn, "aliasArn": alias_arn,
        "traceHeader": trace_header, "logging": machine.config.get("logging"),
        "tracing": machine.config.get("tracing"), "salt": secrets.token_hex(16),
    }


class StatesEngine:
    """Every execution this server runs, and the activity and token machinery they use."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self.time_scale = runtime.settings.time_scale
        self.tokens = TokenRegistry()
        self.dispatcher = ActivityDispatcher()
        self.invokers = InvokerRegistry()
        self.map_runs = MapRunTracker(self.store, runtime.bus)
        self.invokers.register(
            runtime.arn("states", "activity:"),
            ActivityInvoker(
                self.dispatcher, self.tokens, self._activity_exists, self._salt_of, self.settle
            ),
        )
        self._runs: dict[str, ExecutionRunner] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- life cycle ------------------------------------------------------------------------
    async def resume_all(self) -> None:
        """Continue every Standard execution that was running when the server last stopped."""
        pending = await self.store.read(records.running)
        for execution in pending:
            checkpoint = (execution.checkpoint or {}).get("resume")
            after = checkpoint["last_event_id"] if checkpoint is not None else 0
            execution.last_event_id = after
            await self.store.write(
                lambda conn, arn=execution.arn, n=after: records.truncate_events(conn, arn, n)
            )
            try:
                self._launch(execution, checkpoint)
            except Exception as exc:
                # One execution that cannot continue must not keep the server from starting.
                log.exception("cannot resume %s", execution.arn)
                await self._close(
                    execution, records.FAILED, "ExecutionFailed", "States.Runtime",
                    f"The execution could not be resumed after a restart: {exc}",
                )
        if pending:
            log.info("resumed %d execution(s)", len(pending))

    async def shutdown(self) -> None:
        """Park every running execution: their journals are flushed, they resume next start."""
        runners = list(self._runs.values())
        for runner in runners:
            if runner.task is not None:
                runner.task.cancel()
        for runner in runners:
            if runner.task is not None:
                await asyncio.gather(runner.task, return_exceptions=True)
            await runner.journal.flushed()

    def _launch(self, execution: Execution, checkpoint: dict[str, Any] | None) -> ExecutionRunner:
        runner = ExecutionRunner(
            execution,
            None if execution.is_express else self.store,
            self.invokers,
            self.time_scale,
            self.runtime.bus,
            map_runs=self.map_runs,
        )
        self._runs[execution.arn] = runner
        task = runner.start(checkpoint)
        task.add_done_callback(lambda _t, arn=execution.arn: self._forget(arn, runner))
        return runner

    def _forget(self, arn: str, runner: ExecutionRunner) -> None:
        if self._runs.get(arn) is runner:
            del self._runs[arn]
        self.tokens.release_execution(arn)

    # -- starting --------------------------------------------------------------------------
    async def _target(self, arn: str) -> tuple[Machine, str | None]:
        """The machine (or version) an execution of ``arn`` runs, and the alias it came by."""
        base, qualifier = arns.split_qualified(arn)

        def read(conn: Any) -> tuple[Machine, str | None]:
            if qualifier is None:
                return machines.get_machine(conn, base), None
            if qualifier.isdigit():
                return machines.get_version(conn, arn), None
            try:
                version = aliases.route(conn, arn)
            except ServiceError as exc:
                if exc.code == "ResourceNotFound":
                    raise machines.does_not_exist(arn) from None
                raise
            return machines.get_version(conn, version), arn

        return await self.store.read(read)

    def _new_execution(
        self, machine: Machine, alias: str | None, name: str | None, text: str,
        trace_header: str | None,
    ) -> Execution:
        name = arns.check_name(name) if name is not None else str(uuid.uuid4())
        if machine.type == "EXPRESS":
            arn = arns.express_execution_arn(machine.arn, name, str(uuid.uuid4()))
        else:
            arn = arns.execution_arn(machine.arn, name)
        return Execution(
            arn=arn, machine_arn=machine.arn, name=name, status=records.RUNNING,
            started=time.time(), input=text, source=_source(machine, alias, trace_header),
        )

    async def start_execution(
        self, target: str, name: str | None, input_text: str | None, trace_header: str | None
    ) -> Execution:
        """StartExecution: idempotent for a running execution of the same name and input."""
        text = _check_input(input_text)
        machine, alias = await self._target(target)
        execution = self._new_execution(machine, alias, name, text, trace_header)
        if execution.is_express:
            self._launch(execution, None)
            return execution

        def write(conn: Any) -> Execution:
            existing = records.load(conn, execution.arn)
            if existing is not None:
                if existing.status == records.RUNNING and existing.input == text:
                    return existing
                raise ServiceError(
                    "ExecutionAlreadyExists", f"Execution Already Exists: '{execution.arn}'"
                )
            records.insert(conn, execution)
            return execution

        stored = await self.store.write(write)
        if stored is execution:
            self._launch(execution, None)
        return stored

    async def start_sync_execution(
        self, target: str, name: str | None, input_text: str | None, trace_header: str | None
    ) -> Execution:
        """StartSyncExecution: run an Express machine to its end and answer with the result."""
        text = _check_input(input_text)
        machine, alias = await self._target(target)
        if machine.type != "EXPRESS":
            raise ServiceError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        execution = self._new_execution(machine, alias, name, text, trace_header)
        runner = self._launch(execution, None)
        await runner.done.wait()
        return execution

    # -- reading ---------------------------------------------------------------------------
    async def describe_execution(self, arn: str) -> Execution:
        """The execution ``arn`` (Standard from the store; running Express from memory)."""
        parsed = arns.parse_arn(arn, "execution", "express")
        if len(parsed.parts) < 2:
            raise arns.invalid_arn(arn)
        runner = self._runs.get(arn)
        if runner is not None:
            if runner.execution.status != records.RUNNING:
                # Its end is being committed: it is answered once it is.
                await runner.done.wait()
            return runner.execution
        execution = await self.store.read(lambda conn: records.load(conn, arn))
        if execution is None:
            raise records.does_not_exist(arn)
        return execution

    async def execution_description(self, arn: str) -> dict[str, Any]:
        """DescribeExecution: an execution's answer, or a distributed Map's child's."""
        try:
            return (await self.describe_execution(arn)).describe()
        except ServiceError as error:
            if error.code != "ExecutionDoesNotExist":
                raise
            child = await self.map_runs.child(arn)
            if child is None:
                raise
            return child.describe()

    async def history(self, arn: str) -> list[HistoryEvent]:
        """Every history event of execution ``arn``, oldest first."""
        execution = await self.describe_execution(arn)
        if execution.is_express:
            runner = self._runs.get(arn)
            return list(runner.journal.events) if runner is not None else []
        runner = self._runs.get(arn)
        if runner is not None:
            await runner.journal.flushed()
        return await self.store.read(lambda conn: records.load_events(conn, arn))

    async def list_executions(
        self, machine_arn: str | None, map_run_arn: str | None, status: str | None,
        redrive_filter: str | None,
    ) -> list[Execution] | list[MapRunChild]:
        """ListExecutions for a state machine (or, for a Map Run, its child executions)."""
        if (machine_arn is None) == (map_run_arn is None):
            raise ServiceError(
                "ValidationException",
                "Must provide a StateMachine ARN or a MapRun ARN",
            )
        if map_run_arn is not None:
            return await self.map_runs.children(map_run_arn, status)
        assert machine_arn is not None
        base, qualifier = arns.split_qualified(machine_arn)

        def read(conn: Any) -> list[Execution]:
            machine = machines.get_machine(conn, base)
            if machine.type == "EXPRESS":
                raise ServiceError(
                    "StateMachineTypeNotSupported",
                    "This operation is not supported by this type of state machine",
                )
            items = records.list_for(conn, base, status, redrive_filter)
            if qualifier is None:
                return items
            key = "versionArn" if qualifier.isdigit() else "aliasArn"
            return [e for e in items if e.source.get(key) == machine_arn]

        return await self.store.read(read)

    # -- stopping and redriving ------------------------------------------------------------
    def _lock(self, arn: str) -> asyncio.Lock:
        return self._locks.setdefault(arn, asyncio.Lock())

    async def stop_execution(self, arn: str, error: str | None, cause: str | None) -> float:
        """StopExecution: abort a running execution; a finished one is left as it is."""
        execution = await self.describe_execution(arn)
        if execution.is_express:
            raise ServiceError(
                "ValidationException", "This operation is not supported by EXPRESS executions"
            )
        async with self._lock(arn):
            runner = self._runs.get(arn)
            if runner is None or runner.execution.status != records.RUNNING:
                current = await self.describe_execution(arn)
                if current.status == records.RUNNING:
                    await self._close(current, records.ABORTED, "ExecutionAborted", error, cause)
                return current.stopped or time.time()
            self.tokens.release_execution(arn)
            await runner.abort(error, cause)
            return runner.execution.stopped or time.time()

    async def _close(
        self, execution: Execution, status: str, event_type: str, error: str | None,
        cause: str | None,
    ) -> None:
        """End an execution that has no runner: its closing event and row in one write."""
        details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        key = event_type[0].lower() + event_type[1:] + "EventDetails"
        event = HistoryEvent(
            id=execution.last_event_id + 1, previous_event_id=execution.last_event_id,
            type=event_type, timestamp=time.time(), details={key: details},
        )
        execution.last_event_id = event.id
        execution.status, execution.stopped = status, event.timestamp
        execution.error, execution.cause = error, cause

        def write(conn: Any) -> None:
            records.append_events(conn, execution.arn, [event])
            records.save(conn, execution)

        await self.store.write(write)

    async def redrive_execution(self, arn: str) -> float:
        """RedriveExecution: restart a failed, timed out or aborted execution where it failed."""
        execution = await self.describe_execution(arn)
        if execution.is_express:
            raise ServiceError(
                "ExecutionNotRedrivable",
                f"Execution with ARN {arn} cannot be redriven: EXPRESS executions are not "
                "redrivable",
            )
        async with self._lock(arn):
            execution = await self.describe_execution(arn)
            redrivable, reason = execution.redrivable()
            point = (execution.checkpoint or {}).get("redrive")
            if not redrivable or point is None:
                raise ServiceError(
                    "ExecutionNotRedrivable",
                    f"Execution with ARN {arn} cannot be redriven: "
                    f"{reason or 'no redrive point was recorded'}",
                )
            now = time.time()
            execution.status = records.RUNNING
            execution.redrive_count += 1
            execution.redrive_date = now
            execution.stopped = None
            execution.error = execution.cause = execution.output = None
            event = HistoryEvent(
                id=execution.last_event_id + 1, previous_event_id=execution.last_event_id,
                type="ExecutionRedriven", timestamp=now,
                details={
                    "executionRedrivenEventDetails": {"redriveCount": execution.redrive_count}
                },
            )
            execution.last_event_id = event.id
            checkpoint = {**point, "last_event_id": event.id}
            execution.checkpoint = {"resume": checkpoint, "redrive": point}

            def write(conn: Any) -> None:
                records.append_events(conn, arn, [event])
                records.save(conn, execution)

            await self.store.write(write)
            self._launch(execution, checkpoint)
            return now

    # -- tasks and activities ----------------------------------------------------------------
    async def send_task_success(self, token: str, output: str) -> None:
        """SendTaskSuccess: the output must be JSON."""
        try:
            value = json.loads(output)
        except ValueError:
            raise ServiceError("InvalidOutput", f"Invalid Output: '{output}'") from None
        await self._answer(token, lambda: self.tokens.succeed(token, value))

    async def send_task_failure(self, token: str, error: str | None, cause: str | None) -> None:
        """SendTaskFailure."""
        await self._answer(token, lambda: self.tokens.fail(token, error, cause))

    async def send_task_heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat."""
        await self._answer(token, lambda: self.tokens.heartbeat(token))

    async def _answer(self, token: str, deliver: Callable[[], None]) -> None:
        try:
            deliver()
        except ServiceError as exc:
            if exc.code != "TaskDoesNotExist":
                raise
            # The server may have restarted since the task ended: its execution still tells.
            arn, _ = read_token(token)
            execution = await self.store.read(lambda conn: records.load(conn, arn))
            if execution is not None and execution.status in records.TERMINAL:
                raise ServiceError(
                    "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"
                ) from None
            raise

    async def get_activity_task(self, arn: str, worker: str | None) -> ActivityTask | None:
        """GetActivityTask: the next task of an existing activity, long-polling for one."""
        arns.parse_arn(arn, "activity")
        if not await self._activity_exists(arn):
            raise activity_resources.does_not_exist(arn)
        task = await self.dispatcher.poll(arn, worker or "")
        if task is not None:
            # ActivityStarted is committed before the worker hears of its task, so a restart
            # resumes a task known to have started and does not record its start again.
            await self.settle(read_token(task.token)[0])
        return task

    async def _activity_exists(self, arn: str) -> bool:
        return await self.store.read(
            lambda conn: conn.execute(
                sa.select(activities.c.arn).where(activities.c.arn == arn)
            ).first() is not None
        )

    async def settle(self, execution_arn: str) -> None:
        """Return once everything a running execution has recorded (and its checkpoint) is
        committed: what a task hands out after this survives a restart of the server."""
        runner = self._runs.get(execution_arn)
        if runner is not None:
            await runner.journal.flushed()

    def _salt_of(self, execution_arn: str) -> str:
        runner = self._runs.get(execution_arn)
        return runner.execution.source["salt"] if runner is not None else ""
