"""The asyncio interpreter: runs a parsed state machine on an input.

It produces the execution's result and its history events shaped like AWS's
GetExecutionHistory. Everything with a side effect is injected, so the durable engine can wrap
it: Task states go to a :class:`TaskInvoker`, waits and backoffs to a :class:`Clock`, events
to an event sink as they happen, and a JSON-serialisable checkpoint to a checkpoint sink at
every state transition. :meth:`Interpreter.run` takes such a checkpoint to resume from.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
import itertools
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from batchyard.states.asl.branches import run_map, run_parallel
from batchyard.states.asl.definition import (
    Catcher,
    MapState,
    ParallelState,
    State,
    StateMachine,
    TaskState,
    find_catcher,
    find_retrier,
    retry_delay,
)
from batchyard.states.asl.errors import (
    STATES_QUERY_EVALUATION_ERROR,
    STATES_TIMEOUT,
    FailureError,
    HeartbeatTimedOut,
    QueryEvaluationError,
    RuntimeFailure,
    TaskFailure,
    state_error_prefix,
)
from batchyard.states.asl.flow import run_choice, run_fail, run_pass, run_succeed, run_wait
from batchyard.states.asl.intrinsics import assign_template
from batchyard.states.asl.paths import result_path
from batchyard.states.asl.runtime import (
    ExecutionInfo,
    Frame,
    MapRunObserver,
    Outcome,
    SchedulingCheck,
    StateRun,
    TaskInvoker,
    TaskRequest,
    check_size,
    check_variables,
)
from batchyard.states.asl.task import EchoInvoker, run_task
from batchyard.states.asl.timestamps import iso
from batchyard.states.asl.values import MISSING, dumps

MAX_HISTORY_EVENTS = 25_000
CHECKPOINT_VERSION = 1

_RESILIENT = (TaskState, ParallelState, MapState)
# The states a thread can be in while it waits, and so be aborted in (AWS has a
# <Type>StateAborted event for these four only).
_ABORTABLE = frozenset({"Task", "Wait", "Parallel", "Map"})

_HANDLERS = {
    "Pass": run_pass,
    "Succeed": run_succeed,
    "Fail": run_fail,
    "Wait": run_wait,
    "Choice": run_choice,
    "Task": run_task,
    "Parallel": run_parallel,
    "Map": run_map,
}


# -- clocks ----------------------------------------------------------------------------------
class Clock(Protocol):
    """Where the interpreter gets the time and does all of its sleeping."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time; ``time_scale`` < 1 shortens every sleep (0 makes them instant)."""

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) * self.time_scale)


class VirtualClock:
    """Simulated time for tests: sleeping never waits for real.

    Sleepers queue up by wake-up time; once every other task has had its turn, time jumps to
    the earliest wake-up. A 60-second Wait inside a 5-second execution timeout thus times out
    at the 5th virtual second, in microseconds of real time.
    """

    def __init__(self, start: datetime | None = None, settle_rounds: int = 20) -> None:
        self._now = start or datetime(2024, 6, 3, 12, 0, 0, tzinfo=UTC)
        self._heap: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self._settle_rounds = settle_rounds

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (sleepers due by then wake on their next turn)."""
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self._now + timedelta(seconds=seconds), next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.ensure_future(self._drive())
        await fut

    async def _drive(self) -> None:
        while self._heap:
            # Let every runnable task reach its next await before time moves on.
            for _ in range(self._settle_rounds):
                await asyncio.sleep(0)
            if not self._heap:
                break
            when, _, fut = heapq.heappop(self._heap)
            if fut.done():
                continue
            if when > self._now:
                self._now = when
            fut.set_result(None)


# -- the execution's result -------------------------------------------------------------------
@dataclass
class ExecutionResult:
    """How an execution ended."""

    status: str  # SUCCEEDED | FAILED | TIMED_OUT
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    # FAILED: where a redrive starts over (None: from the last state transition).
    redrive_point: dict[str, Any] | None = None


class HistoryLimitExceeded(RuntimeFailure):
    """The execution reached the 25,000-event history quota."""


# -- the interpreter -----------------------------------------------------------------------
class Interpreter:
    """Runs one execution of a parsed :class:`StateMachine`.

    ``event_sink(event)`` receives each history event (a dict with ``id``,
    ``previousEventId``, ``timestamp``, ``type`` and its ``*EventDetails``) as it happens;
    ``checkpoint_sink(checkpoint)`` receives the JSON-serialisable checkpoint at every state
    transition. Both are plain callables: the durable engine persists from them.
    ``task_tokens(context, attempt)`` hands out the ``$$.Task.Token`` of a ``.waitForTaskToken``
    task (``attempt`` is :attr:`TaskRequest.attempt`);
    ``map_runs`` hears how the child executions of each distributed Map's Map Run fare.
    """

    def __init__(
        self,
        machine: StateMachine,
        input_value: Any,
        info: ExecutionInfo | None = None,
        *,
        invoker: TaskInvoker | None = None,
        clock: Clock | None = None,
        event_sink: Callable[[dict[str, Any]], None] | None = None,
        checkpoint_sink: Callable[[dict[str, Any]], None] | None = None,
        max_events: int = MAX_HISTORY_EVENTS,
        rng: random.Random | None = None,
        input_text: str | None = None,
        task_tokens: Callable[[dict[str, Any], str], Awaitable[str]] | None = None,
        map_runs: MapRunObserver | None = None,
    ) -> None:
        self.machine = machine
        self.input = input_value
        self.info = info or ExecutionInfo()
        self.invoker: TaskInvoker = invoker or EchoInvoker()
        self.clock: Clock = clock or SystemClock()
        self.event_sink = event_sink
        self.checkpoint_sink = checkpoint_sink
        self.max_events = max_events
        self.rng = rng or random.Random()
        # ExecutionStarted echoes the input text as the caller sent it, like AWS does.
        self.input_text = input_text
        self.task_tokens = task_tokens
        self.map_runs = map_runs
        # TestState sets a dict here to receive the steps of its state's data processing.
        self.inspection: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []
        self.last_event_id = 0
        self.root: Frame | None = None
        self._limit_hit = False
        self._map_runs = 0

    @property
    def region(self) -> str:
        return self.info.region

    # -- context -------------------------------------------------------------------------
    def execution_context(self) -> dict[str, Any]:
        """``$$`` without the State part (each state adds its own)."""
        start = self.info.start_time or self.clock.now()
        execution: dict[str, Any] = {
            "Id": self.info.execution_arn,
            "Input": copy.deepcopy(self.input),
            "StartTime": iso(start),
            "Name": self.info.name,
            "RoleArn": self.info.role_arn,
        }
        if not self.info.express:
            execution["RedriveCount"] = self.info.redrive_count
        return {
            "Execution": execution,
            "StateMachine": {
                "Id": self.info.state_machine_arn,
                "Name": self.info.state_machine_name,
            },
        }

    def map_run_arn(self, label: str | None) -> str:
        """A fresh Map Run ARN for a distributed Map state."""
        self._map_runs += 1
        run_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        name = label or str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return (
            f"arn:{self.info.partition}:states:{self.info.region}:{self.info.account}:mapRun:"
            f"{self.info.state_machine_name}/{name}:{run_id}"
        )

    # -- events --------------------------------------------------------------------------
    def emit(
        self,
        frame: Frame,
        event_type: str,
        details: dict[str, Any] | None = None,
        update: bool = True,
        prev: int | None = None,
    ) -> int:
        """Append a history event from ``frame``; returns its id (0 for silent frames)."""
        if frame.silent:
            return 0
        at_limit = self._limit_hit or self.last_event_id + 1 >= self.max_events
        if at_limit and not event_type.startswith("Execution"):
            self._limit_hit = True
            raise HistoryLimitExceeded(
                f"The execution reached the maximum number of history events ({self.max_events})."
            )
        self.last_event_id += 1
        event: dict[str, Any] = {
            "id": self.last_event_id,
            "previousEventId": frame.cursor if prev is None else prev,
            "timestamp": self.clock.now(),
            "type": event_type,
        }
        if details:
            event.update(details)
        if update:
            frame.cursor = self.last_event_id
        self.events.append(event)
        if self.event_sink is not None:
            self.event_sink(event)
        return self.last_event_id

    def report_evaluation_failed(self, run: StateRun, exc: QueryEvaluationError) -> None:
        """Emit EvaluationFailed for a JSONata/typed-field error of a state (once)."""
        if exc.reported:
            return
        self._prefix(exc, run.state.name, run.entered_event_id)
        details: dict[str, Any] = {"error": exc.error, "cause": exc.cause, "state": run.state.name}
        if exc.location:
            details["location"] = exc.location
        self.emit(
            run.frame,
            "EvaluationFailed",
            {"evaluationFailedEventDetails": details},
            prev=run.entered_event_id if exc.after_entry else run.entry_prev,
        )
        exc.reported = True

    def _text(self, value: Any) -> str:
        """JSON text of a payload; the execution input untouched keeps the caller's text."""
        if value is self.input and self.input_text is not None:
            return self.input_text
        return dumps(value)

    @staticmethod
    def _prefix(exc: FailureError, state_name: str, entered_id: int) -> None:
        if isinstance(exc, RuntimeFailure) and not exc.prefixed:
            if not isinstance(exc, HistoryLimitExceeded):
                exc.cause = state_error_prefix(state_name, entered_id) + exc.message
            exc.prefixed = True

    # -- sleeping and tasks ----------------------------------------------------------------
    async def sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds)

    async def sleep_until(self, when: datetime) -> None:
        delta = (when - self.clock.now()).total_seconds()
        if delta > 0:
            await self.clock.sleep(delta)

    async def unschedulable(self, request: TaskRequest) -> FailureError | None:
        """Why the task's resource cannot be scheduled at all, when the invoker can tell."""
        if isinstance(self.invoker, SchedulingCheck):
            return await self.invoker.unschedulable(request)
        return None

    async def invoke_with_timeouts(self, request: TaskRequest, beats: asyncio.Event) -> Any:
        """Call the invoker, failing with States.Timeout when TimeoutSeconds pass or a
        HeartbeatSeconds passes without a heartbeat."""
        call = asyncio.ensure_future(self.invoker.invoke(request))
        timers: list[asyncio.Future[Any]] = []
        try:
            if request.timeout_seconds is None and request.heartbeat_seconds is None:
                return await call
            timeout = asyncio.ensure_future(self.clock.sleep(request.timeout_seconds or 10**9))
            timers.append(timeout)
            while True:
                hb = asyncio.ensure_future(self.clock.sleep(request.heartbeat_seconds or 10**9))
                beat = asyncio.ensure_future(beats.wait())
                timers += [hb, beat]
                done, _ = await asyncio.wait(
                    {call, timeout, hb, beat}, return_when=asyncio.FIRST_COMPLETED
                )
                if call in done:
                    return call.result()
                if timeout in done:
                    raise FailureError(STATES_TIMEOUT, None)
                if hb in done and beat not in done:
                    raise HeartbeatTimedOut
                beats.clear()
                hb.cancel()
        finally:
            for t in [call, *timers]:
                if not t.done():
                    t.cancel()

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        """The current JSON-serialisable checkpoint (resume with ``run(checkpoint=...)``)."""
        assert self.root is not None
        return {
            "version": CHECKPOINT_VERSION,
            "last_event_id": self.last_event_id,
            "input": copy.deepcopy(self.input),
            "start_time": (self.info.start_time or self.clock.now()).isoformat(),
            "root": self.root.snapshot(),
        }

    def redrive_point(self) -> dict[str, Any]:
        """The checkpoint a redrive starts from, taken as a failure leaves the state that
        raised it: every thread re-enters the state it is in (the failed one, and those the
        failure aborts), while the branches and iterations that finished keep their results
        in their Parallel's or Map's progress and are not run again."""
        point = self.checkpoint()

        def restart(snapshot: dict[str, Any]) -> None:
            if snapshot["children"]:
                for child in snapshot["children"].values():
                    restart(child)
            elif snapshot["entered"] is not None:
                snapshot["cursor"] = snapshot["entered"]["entry_prev"]
                snapshot["entered"], snapshot["entered_data"] = None, {}

        restart(point["root"])
        return point

    @staticmethod
    def keep_finished(exc: FailureError, frame: Frame, results: dict[str, Any]) -> None:
        """A Parallel or Map in ``frame`` fails with ``exc``: the branches or iterations that
        finished since its redrive point was taken keep their ``results`` in it."""
        point = exc.redrive_point
        if point is None:
            return
        stack = [point["root"]]
        while stack:
            node = stack.pop()
            if node["key"] == frame.key and node["entered"] is not None:
                done = node["entered_data"].setdefault("results", {})
                done.update(copy.deepcopy(results))
                for key in results:
                    node["children"].pop(key, None)
                return
            stack.extend(node["children"].values())

    def _transition(self) -> None:
        if self.checkpoint_sink is not None and self.root is not None:
            self.checkpoint_sink(self.checkpoint())

    # -- frames ----------------------------------------------------------------------------
    def child_frame(
        self, parent: Frame, machine: StateMachine, key: str, cursor: int, silent: bool = False
    ) -> Frame:
        """A frame for one branch or iteration, registered with its parent for checkpoints."""
        child = Frame(machine, f"{parent.key}/{parent.state_name}/{key}", cursor, parent, silent)
        parent.children[key] = child
        return child

    async def run_frame(self, frame: Frame, data: Any, resume: dict[str, Any] | None = None) -> Any:
        """Run a frame from its StartAt (or a snapshot) to its end; returns its output."""
        resumed_children: dict[str, Any] = {}
        if resume is not None:
            name = resume["state"]
            data = resume["input"]
            frame.cursor = resume["cursor"]
            frame.variables = copy.deepcopy(resume["variables"])
            frame.entered = copy.deepcopy(resume["entered"])
            frame.entered_data = copy.deepcopy(resume["entered_data"])
            resumed_children = resume.get("children", {})
        else:
            name = frame.machine.start_at
        try:
            while True:
                state = frame.machine.states[name]
                frame.state_name, frame.state_input = name, data
                if resume is None:
                    frame.entered, frame.entered_data, frame.children = None, {}, {}
                    self._transition()
                outcome = await self._execute(frame, state, data, resumed_children)
                resume, resumed_children = None, {}
                if outcome.next is None:
                    return outcome.output
                name, data = outcome.next, outcome.output
        except FailureError as exc:
            exc.frame_cursor, exc.frame_key = frame.cursor, frame.key
            raise

    def abort_threads(self, frame: Frame, exc: FailureError, iterations: str | None) -> None:
        """A branch or iteration of the Parallel or Map in ``frame`` failed with ``exc``: the
        threads still running there are aborted, as AWS records it.

        The failed thread's Task state, left by a task failure, is aborted first; then each
        other thread in turn: its MapIterationAborted (``iterations`` names the Map state)
        and the state it is in, nested threads before the state that runs them. Every event
        follows the failure's last event. A Fail state, or a state that failed on its own
        (a Parallel, a Map, an expression), ends its thread without an abort.
        """
        cursor = exc.frame_cursor
        threads = sorted(frame.children.items(), key=lambda item: int(item[0]))
        for _, child in threads:
            if child.key == exc.frame_key:
                state = child.machine.states.get(child.state_name or "")
                if state is not None and state.type == "Task" and isinstance(exc, TaskFailure):
                    self.emit(child, "TaskStateAborted", prev=cursor, update=False)
        for key, child in threads:
            if child.key != exc.frame_key:
                if iterations is not None:
                    details = {"index": int(key), "name": iterations}
                    self.emit(
                        child, "MapIterationAborted",
                        {"mapIterationAbortedEventDetails": details}, prev=cursor, update=False,
                    )
                self._abort_state(child, cursor)

    def _abort_state(self, frame: Frame, cursor: int | None) -> None:
        if frame.entered is None or frame.state_name is None:
            return
        state = frame.machine.states[frame.state_name]
        if state.type not in _ABORTABLE:
            return
        for key, child in sorted(frame.children.items(), key=lambda item: int(item[0])):
            if state.type == "Map":
                details = {"index": int(key), "name": state.name}
                self.emit(
                    child, "MapIterationAborted", {"mapIterationAbortedEventDetails": details},
                    prev=cursor, update=False,
                )
            self._abort_state(child, cursor)
        self.emit(frame, f"{state.type}StateAborted", prev=cursor, update=False)

    async def _execute(
        self, frame: Frame, state: State, data: Any, resumed_children: dict[str, Any]
    ) -> Outcome:
        kind = state.type
        if frame.entered is None:
            entry_prev = frame.cursor
            entered_time = self.clock.now()
            # Input that nothing has transformed yet is still the caller's own text.
            text = self._text(data)
            eid = self.emit(
                frame,
                f"{kind}StateEntered",
                {
                    "stateEnteredEventDetails": {
                        "input": text,
                        "inputDetails": {"truncated": False},
                        "name": state.name,
                    }
                },
            )
            frame.entered = {
                "event_id": eid,
                "entry_prev": entry_prev,
                "time": entered_time.isoformat(),
                "retry_count": 0,
                "attempts": {},
            }
        entered = frame.entered
        while True:
            run = StateRun(
                self,
                frame,
                state,
                data,
                entered["event_id"],
                entered["entry_prev"],
                datetime.fromisoformat(entered["time"]),
                entered["retry_count"],
                resume=frame.entered_data,
            )
            run.resume_children = resumed_children
            try:
                outcome = await _HANDLERS[state.type](run)
                check_size(state.name, outcome.output)
                check_variables(state.name, outcome.assigned)
                break
            except FailureError as exc:
                self._prefix(exc, state.name, entered["event_id"])
                if isinstance(exc, QueryEvaluationError) and exc.error == (
                    STATES_QUERY_EVALUATION_ERROR
                ):
                    self.report_evaluation_failed(run, exc)
                if isinstance(exc, HistoryLimitExceeded):
                    raise
                pending, exc.pending_event = exc.pending_event, None
                retriers = state.retry if isinstance(state, _RESILIENT) else []
                catchers = state.catch if isinstance(state, _RESILIENT) else []
                wildcards = exc.wildcards if isinstance(exc, TaskFailure) else None
                idx = find_retrier(retriers, exc.error, wildcards, exc.aliases)
                if idx is not None:
                    retrier = retriers[idx]
                    done = entered["attempts"].get(str(idx), 0)
                    if done < retrier.max_attempts:
                        entered["attempts"][str(idx)] = done + 1
                        entered["retry_count"] += 1
                        if pending is not None and pending[1] is not None:
                            frame.cursor = pending[1]
                        frame.entered_data, frame.children = {}, {}
                        resumed_children = {}
                        delay = retry_delay(retrier, done, self.rng)
                        self._note_handler(run, retryIndex=idx, retryBackoffIntervalSeconds=delay)
                        await self.sleep(delay)
                        continue
                if pending is not None:
                    self.emit(frame, pending[0], prev=pending[1])
                catcher = find_catcher(catchers, exc.error, wildcards, exc.aliases)
                if catcher is None:
                    if exc.redrive_point is None:
                        exc.redrive_point = self.redrive_point()
                    raise
                self._note_handler(run, catchIndex=catchers.index(catcher))
                run.note("caught", exc.error_output())
                outcome = self._caught(run, catcher, exc)
                break
        if outcome.exited:
            details: dict[str, Any] = {
                "name": state.name,
                "output": self._text(outcome.output),
                "outputDetails": {"truncated": False},
            }
            if outcome.assigned is not None:
                details["assignedVariables"] = {
                    k: dumps(v) for k, v in outcome.assigned.items()
                }
                details["assignedVariablesDetails"] = {"truncated": False}
            self.emit(frame, f"{kind}StateExited", {"stateExitedEventDetails": details})
        if outcome.assigned:
            frame.assign(outcome.assigned)
        return outcome

    @staticmethod
    def _note_handler(run: StateRun, **details: Any) -> None:
        # TestState reports the first handler that took the state's error.
        notes = run.interp.inspection
        if notes is not None and "errorDetails" not in notes.get(run.state.name, {}):
            run.note("errorDetails", details)

    def _caught(self, run: StateRun, catcher: Catcher, exc: FailureError) -> Outcome:
        error_output = exc.error_output()
        st = run.state
        if st.is_jsonata:
            assigned = None
            if catcher.assign is not MISSING:
                assigned = run.jsonata(catcher.assign, "Assign", error_output=error_output)
            if catcher.output is not MISSING:
                out = run.jsonata(catcher.output, "Output", error_output=error_output)
            else:
                out = error_output
            return Outcome(out, catcher.next, assigned)
        scope = run.scope()
        assigned = None
        if catcher.assign is not MISSING:
            assigned = assign_template(catcher.assign, error_output, scope)
        out = result_path(catcher.result_path, run.raw_input, error_output)
        return Outcome(out, catcher.next, assigned)

    # -- the execution -------------------------------------------------------------------
    async def run(self, checkpoint: dict[str, Any] | None = None) -> ExecutionResult:
        """Run the execution to its end, or resume it from ``checkpoint``.

        When resuming, events up to the checkpoint's ``last_event_id`` are taken as already
        recorded (the engine keeps them); new events continue from there.
        """
        self.root = Frame(self.machine, "root", 0)
        if checkpoint is None:
            if self.info.start_time is None:
                self.info.start_time = self.clock.now()
            self.emit(
                self.root,
                "ExecutionStarted",
                {
                    "executionStartedEventDetails": {
                        "input": self.input_text
                        if self.input_text is not None
                        else dumps(self.input),
                        "inputDetails": {"truncated": False},
                        "roleArn": self.info.role_arn,
                    }
                },
                update=False,
            )
            resume = None
        else:
            if checkpoint.get("version") != CHECKPOINT_VERSION:
                raise ValueError("unsupported checkpoint version")
            self.last_event_id = checkpoint["last_event_id"]
            self.input = copy.deepcopy(checkpoint["input"])
            self.info.start_time = datetime.fromisoformat(checkpoint["start_time"])
            resume = checkpoint["root"]
        main = asyncio.ensure_future(self.run_frame(self.root, self.input, resume))
        waiters: set[asyncio.Future[Any]] = {main}
        timer: asyncio.Future[Any] | None = None
        if self.machine.timeout_seconds is not None:
            since = self.info.redrive_time or self.info.start_time
            deadline = since + timedelta(seconds=self.machine.timeout_seconds)
            timer = asyncio.ensure_future(self.sleep_until(deadline))
            waiters.add(timer)
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            main.cancel()
            if timer is not None:
                timer.cancel()
            await asyncio.gather(main, return_exceptions=True)
            raise
        if main not in done:
            main.cancel()
            await asyncio.gather(main, return_exceptions=True)
            self.emit(
                self.root,
                "ExecutionTimedOut",
                {"executionTimedOutEventDetails": {"error": STATES_TIMEOUT}},
            )
            return ExecutionResult("TIMED_OUT", error=STATES_TIMEOUT, events=self.events)
        if timer is not None:
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)
        try:
            output = main.result()
        except FailureError as exc:
            details: dict[str, Any] = {}
            if exc.error is not None:
                details["error"] = exc.error
            if exc.cause is not None:
                details["cause"] = exc.cause
            self.emit(self.root, "ExecutionFailed", {"executionFailedEventDetails": details})
            return ExecutionResult(
                "FAILED", error=exc.error, cause=exc.cause, events=self.events,
                redrive_point=exc.redrive_point,
            )
        self.emit(
            self.root,
            "ExecutionSucceeded",
            {
                "executionSucceededEventDetails": {
                    "output": self._text(output),
                    "outputDetails": {"truncated": False},
                }
            },
        )
        return ExecutionResult("SUCCEEDED", output=output, events=self.events)

