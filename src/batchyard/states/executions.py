"""Every execution this server runs: starting, describing, stopping, redriving and resuming
them, and the task tokens and activity polls their tasks wait on.

The facade checks that an ARN it is given is the caller's before it calls in here; what
arrives is known to be of the caller's account and region.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from functools import partial

from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.bus import Bus
from batchyard.protocol.errors import ServiceError
from batchyard.states import arns, machines, records
from batchyard.states.asl import TaskRequest
from batchyard.states.asl.values import JsonTextError, loads
from batchyard.states.map_runs import MapRunTracker
from batchyard.states.model import (
    TERMINAL,
    Checkpoint,
    Execution,
    ExecutionSource,
    ExecutionStatus,
    HistoryEvent,
    Machine,
    MachineType,
    MapRunChild,
)
from batchyard.states.runner import ExecutionRunner, Lifecycle
from batchyard.states.tasks import (
    ActivityDispatcher,
    ActivityInvoker,
    ActivityTask,
    InvokerRegistry,
    TokenRegistry,
    read_token,
)
from batchyard.store import Store

log = logging.getLogger(__name__)

MAX_PAYLOAD = 256 * 1024
# Activity ARNs of every account and region: the integrations' own resources
# (``arn:aws:states:::…``) are longer prefixes and win.
ACTIVITY_PREFIX = "arn:aws:states:"


def _not_supported() -> ServiceError:
    return ServiceError(
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
    )


def check_input(text: str | None) -> str:
    """An execution's input text: JSON of at most 256 KiB (InvalidExecutionInput otherwise)."""
    text = "{}" if text is None else text
    try:
        loads(text)
    except JsonTextError as exc:
        raise ServiceError(
            "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc.message}'"
        ) from None
    if len(text.encode()) > MAX_PAYLOAD:
        raise ServiceError(
            "InvalidExecutionInput",
            "Invalid State Machine Execution Input: 'The input exceeds the maximum size of "
            f"{MAX_PAYLOAD} bytes'",
        )
    return text


def _source(machine: Machine, alias_arn: str | None, trace_header: str | None) -> ExecutionSource:
    return ExecutionSource(
        type=machine.type, definition=machine.definition, role_arn=machine.role_arn,
        machine_name=machine.name, revision_id=machine.revision_id, updated=machine.updated,
        salt=secrets.token_hex(16), version_arn=machine.version_arn, alias_arn=alias_arn,
        trace_header=trace_header, logging=machine.config.logging,
        tracing=machine.config.tracing,
    )


class Executions:
    """The executions in flight, and the activity and token machinery their tasks use."""

    def __init__(self, store: Store, bus: Bus, time_scale: float) -> None:
        self.store = store
        self.bus = bus
        self.time_scale = time_scale
        self.lifecycle = Lifecycle(store, bus)
        self.tokens = TokenRegistry()
        self.dispatcher = ActivityDispatcher()
        self.invokers = InvokerRegistry()
        self.map_runs = MapRunTracker(store, bus)
        self.invokers.register(
            ACTIVITY_PREFIX,
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
            checkpoint = execution.checkpoint.resume
            after = checkpoint["last_event_id"] if checkpoint is not None else 0
            execution.last_event_id = after
            await self.store.write(
                partial(records.truncate_events, arn=execution.arn, after=after)
            )
            try:
                self._launch(execution, checkpoint)
            except Exception as exc:
                # One execution that cannot continue must not keep the server from starting.
                log.exception("cannot resume %s", execution.arn)
                await self._close(
                    execution, ExecutionStatus.FAILED, "ExecutionFailed", "States.Runtime",
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

    def _launch(self, execution: Execution, checkpoint: JsonObject | None) -> ExecutionRunner:
        runner = ExecutionRunner(
            execution,
            None if execution.is_express else self.store,
            self.invokers,
            self.time_scale,
            self.bus,
            map_runs=self.map_runs,
        )
        self._runs[execution.arn] = runner
        runner.start(checkpoint).add_done_callback(partial(self._forget, runner))
        return runner

    def _forget(self, runner: ExecutionRunner, _task: object) -> None:
        arn = runner.execution.arn
        if self._runs.get(arn) is runner:
            del self._runs[arn]
        self.tokens.release_execution(arn)

    # -- starting --------------------------------------------------------------------------
    def _new_execution(
        self, machine: Machine, alias: str | None, name: str | None, text: str,
        trace_header: str | None,
    ) -> Execution:
        name = arns.check_name(name) if name is not None else str(uuid.uuid4())
        if machine.type == MachineType.EXPRESS:
            arn = arns.express_execution_arn(machine.arn, name, str(uuid.uuid4()))
        else:
            arn = arns.execution_arn(machine.arn, name)
        return Execution(
            arn=arn, machine_arn=machine.arn, name=name, status=ExecutionStatus.RUNNING,
            started=time.time(), input=text, source=_source(machine, alias, trace_header),
        )

    async def start(
        self, target: str, name: str | None, input_text: str | None, trace_header: str | None
    ) -> Execution:
        """StartExecution: idempotent for a running execution of the same name and input."""
        text = check_input(input_text)
        machine, alias = await self.store.read(lambda conn: machines.target(conn, target))
        execution = self._new_execution(machine, alias, name, text, trace_header)
        if execution.is_express:
            self._launch(execution, None)
            return execution

        def write(conn: Connection) -> Execution:
            existing = records.load(conn, execution.arn)
            if existing is not None:
                if existing.status == ExecutionStatus.RUNNING and existing.input == text:
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

    async def start_sync(
        self, target: str, name: str | None, input_text: str | None, trace_header: str | None
    ) -> Execution:
        """StartSyncExecution: run an Express machine to its end and answer with the result."""
        text = check_input(input_text)
        machine, alias = await self.store.read(lambda conn: machines.target(conn, target))
        if machine.type != MachineType.EXPRESS:
            raise _not_supported()
        execution = self._new_execution(machine, alias, name, text, trace_header)
        runner = self._launch(execution, None)
        await runner.done.wait()
        return execution

    # -- reading ---------------------------------------------------------------------------
    async def get(self, arn: str) -> Execution:
        """The execution ``arn`` (Standard from the store; running Express from memory)."""
        runner = self._runs.get(arn)
        if runner is not None:
            if runner.execution.status != ExecutionStatus.RUNNING:
                # Its end is being committed: it is answered once it is.
                await runner.done.wait()
            return runner.execution
        execution = await self.store.read(lambda conn: records.load(conn, arn))
        if execution is None:
            raise arns.execution_does_not_exist(arn)
        return execution

    async def describe(self, arn: str) -> Execution | MapRunChild:
        """DescribeExecution: an execution, or a distributed Map's child."""
        try:
            return await self.get(arn)
        except ServiceError as error:
            if error.code != "ExecutionDoesNotExist":
                raise
            child = await self.map_runs.child(arn)
            if child is None:
                raise
            return child

    async def history(self, arn: str) -> list[HistoryEvent]:
        """Every history event of execution ``arn``, oldest first."""
        execution = await self.get(arn)
        runner = self._runs.get(arn)
        if execution.is_express:
            return list(runner.journal.events) if runner is not None else []
        if runner is not None:
            await runner.journal.flushed()
        return await self.store.read(lambda conn: records.load_events(conn, arn))

    async def list_for_machine(
        self, machine_arn: str, status: ExecutionStatus | None, redrive_filter: str | None
    ) -> list[Execution]:
        """ListExecutions of a state machine (or of one version or alias of it)."""
        base, qualifier = arns.split_qualified(machine_arn)

        def read(conn: Connection) -> list[Execution]:
            machine = machines.get_machine(conn, base)
            if machine.type == MachineType.EXPRESS:
                raise _not_supported()
            items = records.list_for(conn, base, status, redrive_filter)
            if qualifier is None:
                return items
            if qualifier.isdigit():
                return [e for e in items if e.source.version_arn == machine_arn]
            return [e for e in items if e.source.alias_arn == machine_arn]

        return await self.store.read(read)

    # -- stopping and redriving ------------------------------------------------------------
    def _lock(self, arn: str) -> asyncio.Lock:
        return self._locks.setdefault(arn, asyncio.Lock())

    async def stop(self, arn: str, error: str | None, cause: str | None) -> float:
        """StopExecution: abort a running execution; a finished one is left as it is."""
        execution = await self.get(arn)
        if execution.is_express:
            raise ServiceError(
                "ValidationException", "This operation is not supported by EXPRESS executions"
            )
        async with self._lock(arn):
            runner = self._runs.get(arn)
            if runner is None or runner.execution.status != ExecutionStatus.RUNNING:
                current = await self.get(arn)
                if current.status == ExecutionStatus.RUNNING:
                    await self._close(
                        current, ExecutionStatus.ABORTED, "ExecutionAborted", error, cause
                    )
                return current.stopped or time.time()
            self.tokens.release_execution(arn)
            await runner.abort(error, cause)
            return runner.execution.stopped or time.time()

    async def _close(
        self, execution: Execution, status: ExecutionStatus, event_type: str,
        error: str | None, cause: str | None,
    ) -> None:
        """End an execution that has no runner: its closing event and row in one write."""
        details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        await self.lifecycle.change(
            execution, status, event=(event_type, details), error=error, cause=cause
        )

    async def redrive(self, arn: str) -> float:
        """RedriveExecution: restart a failed, timed out or aborted execution where it failed."""
        execution = await self.get(arn)
        if execution.is_express:
            raise ServiceError(
                "ExecutionNotRedrivable",
                f"Execution with ARN {arn} cannot be redriven: EXPRESS executions are not "
                "redrivable",
            )
        async with self._lock(arn):
            execution = await self.get(arn)
            reason = execution.not_redrivable_because()
            point = execution.checkpoint.redrive
            if reason is not None or point is None:
                raise ServiceError(
                    "ExecutionNotRedrivable",
                    f"Execution with ARN {arn} cannot be redriven: "
                    f"{reason or 'no redrive point was recorded'}",
                )
            resume = {**point, "last_event_id": execution.last_event_id + 1}
            await self.lifecycle.change(
                execution, ExecutionStatus.RUNNING,
                event=("ExecutionRedriven", {"redriveCount": execution.redrive_count + 1}),
                checkpoint=Checkpoint(resume, point),
            )
            self._launch(execution, resume)
            assert execution.redrive_date is not None
            return execution.redrive_date

    # -- tasks and activities ----------------------------------------------------------------
    async def send_task_success(self, caller: Caller, token: str, output: str) -> None:
        """SendTaskSuccess: the output must be JSON."""
        try:
            value = loads(output)
        except JsonTextError:
            raise ServiceError("InvalidOutput", f"Invalid Output: '{output}'") from None
        await self._answer(caller, token, lambda: self.tokens.succeed(token, value))

    async def send_task_failure(
        self, caller: Caller, token: str, error: str | None, cause: str | None
    ) -> None:
        """SendTaskFailure."""
        await self._answer(caller, token, lambda: self.tokens.fail(token, error, cause))

    async def send_task_heartbeat(self, caller: Caller, token: str) -> None:
        """SendTaskHeartbeat."""
        await self._answer(caller, token, lambda: self.tokens.heartbeat(token))

    async def _answer(self, caller: Caller, token: str, deliver: Callable[[], None]) -> None:
        # A token of another account's or region's execution names no task of the caller's.
        execution, _ = read_token(token)
        try:
            owned = arns.parse_arn(execution, "execution", "express").seen_by(caller)
        except ServiceError:
            owned = False
        if not owned:
            raise ServiceError(
                "TaskDoesNotExist", "Task Does Not Exist: 'Provided task does not exist'"
            )
        try:
            deliver()
        except ServiceError as exc:
            if exc.code != "TaskDoesNotExist":
                raise
            # The server may have restarted since the task ended: its execution still tells.
            ended = await self.store.read(partial(records.load, arn=execution))
            if ended is not None and ended.status in TERMINAL:
                raise ServiceError(
                    "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"
                ) from None
            raise

    async def get_activity_task(self, arn: str, worker: str | None) -> ActivityTask | None:
        """GetActivityTask: the next task of an existing activity, long-polling for one."""
        exists = await self.store.read(lambda conn: machines.find_activity(conn, arn))
        if exists is None:
            raise arns.activity_does_not_exist(arn)
        task = await self.dispatcher.poll(arn, worker or "")
        if task is not None:
            # ActivityStarted is committed before the worker hears of its task, so a restart
            # resumes a task known to have started and does not record its start again.
            await self.settle(read_token(task.token)[0])
        return task

    async def _activity_exists(self, request: TaskRequest) -> bool:
        try:
            arns.owned(request.caller, request.resource, arns.activity_does_not_exist,
                       "activity")
        except ServiceError:
            return False
        arn = request.resource
        return await self.store.read(lambda conn: machines.find_activity(conn, arn)) is not None

    async def settle(self, execution_arn: str) -> None:
        """Return once everything a running execution has recorded (and its checkpoint) is
        committed: what a task hands out after this survives a restart of the server."""
        runner = self._runs.get(execution_arn)
        if runner is not None:
            await runner.journal.flushed()

    def _salt_of(self, execution_arn: str) -> str:
        runner = self._runs.get(execution_arn)
        return runner.execution.source.salt if runner is not None else ""
