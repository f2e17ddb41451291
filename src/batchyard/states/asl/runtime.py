"""What a state module sees while it runs, and the ports the interpreter is given.

A state module runs one state through a :class:`StateRun`: its input, its frame (the thread of
states it belongs to), the I/O processing every state type shares (InputPath/Parameters/
ResultSelector/ResultPath/OutputPath for JSONPath, Arguments/Output/Assign for JSONata), and
:class:`Interpreting`, the narrow view of the interpreter a state needs (events, sleeping,
tasks, child frames). The ports are how the world around the interpreter plugs in: a
:class:`TaskInvoker` runs Task resources, a :class:`MapRunObserver` hears how distributed
Maps fare.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any, Protocol, runtime_checkable

from batchyard.aws.caller import Caller
from batchyard.states.asl import jsonata, paths
from batchyard.states.asl.definition import PassState, State, StateMachine
from batchyard.states.asl.errors import (
    STATES_DATA_LIMIT_EXCEEDED,
    FailureError,
    QueryEvaluationError,
)
from batchyard.states.asl.intrinsics import assign_template, payload_template
from batchyard.states.asl.paths import Scope
from batchyard.states.asl.timestamps import iso
from batchyard.states.asl.values import MISSING, dumps

# AWS's payload quota: 256 KiB of UTF-8 for any state input/output and execution I/O.
PAYLOAD_LIMIT_BYTES = 256 * 1024
# Who an execution is when nobody says (the interpreter run on its own, in tests).
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"

_FROM_STATE: Any = object()


@dataclass(slots=True)
class ExecutionInfo:
    """Who the execution is: names and ARNs the context object and events show."""

    name: str = field(default_factory=lambda: str(uuid.uuid4()))
    state_machine_name: str = "StateMachine"
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    partition: str = "aws"
    role_arn: str = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/batchyard"
    express: bool = False
    redrive_count: int = 0
    start_time: datetime | None = None
    # The last redrive restarts the machine's TimeoutSeconds, not $$.Execution.StartTime.
    redrive_time: datetime | None = None
    # Express execution ARNs end in an id of their own after the name.
    express_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def state_machine_arn(self) -> str:
        return (
            f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:"
            f"{self.state_machine_name}"
        )

    @property
    def execution_arn(self) -> str:
        kind = "express" if self.express else "execution"
        arn = (
            f"arn:{self.partition}:states:{self.region}:{self.account}:{kind}:"
            f"{self.state_machine_name}:{self.name}"
        )
        return f"{arn}:{self.express_id}" if self.express else arn

    @property
    def caller(self) -> Caller:
        """The account and region the execution's tasks act in."""
        return Caller(self.account, self.region)


# -- the Task port ---------------------------------------------------------------------------
@dataclass(slots=True)
class TaskRequest:
    """Everything an invoker gets for one attempt of a Task state."""

    resource: str
    parameters: Any
    context: dict[str, Any]
    state_name: str
    timeout_seconds: int | None = None
    heartbeat_seconds: int | None = None
    credentials: Any = None
    # Call to report liveness; resets the HeartbeatSeconds timer.
    heartbeat: Callable[[], None] = field(default=lambda: None)
    # Call with the worker's name when a worker takes the task (activities: ActivityStarted).
    started: Callable[[str], None] = field(default=lambda _worker: None)
    # Names this attempt of this state in the execution, the same after a resume; unlike the
    # context object it tells apart the iterations and branches that enter a state together.
    attempt: str = ""
    # The account and region of the execution: what the task does, it does there.
    caller: Caller = field(default_factory=lambda: Caller(DEFAULT_ACCOUNT, DEFAULT_REGION))

    @property
    def execution_arn(self) -> str:
        """The ARN of the execution running the task."""
        return str(self.context["Execution"]["Id"])


class TaskInvoker(Protocol):
    """Runs a Task state's resource: returns its result (a JSON value) or raises
    :class:`~batchyard.states.asl.errors.TaskFailure` for a task error."""

    async def invoke(self, request: TaskRequest) -> Any: ...


@runtime_checkable
class SchedulingCheck(Protocol):
    """An invoker that can tell, before a task is scheduled, that its resource cannot be:
    AWS fails such a task (an activity that does not exist) without scheduling it."""

    async def unschedulable(self, request: TaskRequest) -> FailureError | None:
        """The failure of a task whose resource cannot be scheduled, None when it can."""


@runtime_checkable
class ResourceCheck(Protocol):
    """An invoker that knows which of the resources it is routed are real: CreateStateMachine
    refuses a definition with a Task whose resource it does not recognize, as AWS does."""

    def recognizes(self, resource: str) -> bool:
        """Whether ``resource`` names something this invoker can run."""


# -- the Map Run port ------------------------------------------------------------------------
class ItemStatus(StrEnum):
    """What became of one item's child execution of a distributed Map."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"


@dataclass(frozen=True, slots=True)
class MapRunStart:
    """A Map Run that just began: its items and the settings it runs them with."""

    map_run_arn: str
    execution_arn: str
    inputs: list[Any]
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float


class MapRunObserver(Protocol):
    """Receives the progress of every Map Run of an execution (each call may repeat after a
    resume: an item re-run after a restart reports its start again).

    A distributed Map's items run as the Map Run's child executions; the interpreter runs them
    itself (silently: the parent's history shows only the Map Run's own events).
    """

    def started(self, run: MapRunStart) -> None:
        """The Map Run began (MapRunStarted)."""

    def item(self, map_run_arn: str, index: int, status: ItemStatus, data: Any = None) -> None:
        """Item ``index`` reached ``status``; ``data`` is its input when it starts RUNNING,
        its output when it SUCCEEDED, its error output (Error, Cause) when it failed."""

    def ended(self, map_run_arn: str, succeeded: bool) -> None:
        """The Map Run ended (its running children are aborted)."""


# -- what a state needs from the interpreter -------------------------------------------------
class Interpreting(Protocol):
    """The interpreter as the state modules see it."""

    @property
    def info(self) -> ExecutionInfo:
        """Who the execution is."""

    @property
    def last_event_id(self) -> int:
        """The id of the newest history event."""

    @property
    def map_runs(self) -> MapRunObserver | None:
        """Who hears how distributed Maps fare, if anyone."""

    @property
    def task_tokens(self) -> Callable[[dict[str, Any], str], Awaitable[str]] | None:
        """Hands out the ``$$.Task.Token`` of a task attempt, when tokens are available."""

    @property
    def inspection(self) -> dict[str, Any] | None:
        """Where the top-level states note each step of their data processing by state name
        (TestState's inspection data), or None when nobody looks."""

    def execution_context(self) -> dict[str, Any]:
        """``$$`` without its State part."""

    def emit(
        self,
        frame: Frame,
        event_type: str,
        details: dict[str, Any] | None = None,
        update: bool = True,
        prev: int | None = None,
    ) -> int:
        """Append a history event from ``frame``; returns its id (0 for silent frames)."""

    async def sleep_until(self, when: datetime) -> None:
        """Sleep until ``when`` on the execution's clock."""

    async def invoke_with_timeouts(self, request: TaskRequest, beats: asyncio.Event) -> Any:
        """Run a task, failing it with States.Timeout / States.HeartbeatTimeout."""

    async def unschedulable(self, request: TaskRequest) -> FailureError | None:
        """Why the task's resource cannot be scheduled at all, None when it can."""

    def report_evaluation_failed(self, run: StateRun, exc: QueryEvaluationError) -> None:
        """Emit EvaluationFailed for a JSONata/typed-field error of a state (once)."""

    def map_run_arn(self, label: str | None) -> str:
        """A fresh Map Run ARN for a distributed Map state."""

    def abort_threads(self, frame: Frame, exc: FailureError, iterations: str | None) -> None:
        """Record the abort of the threads a failed branch or iteration (``exc``) of the
        Parallel or Map in ``frame`` leaves running (``iterations``: the Map's name)."""

    def keep_finished(self, exc: FailureError, frame: Frame, results: dict[str, Any]) -> None:
        """Let the branches or iterations that finished keep their results in the redrive
        point of the failure ``exc`` of a Parallel or Map in ``frame``."""

    def child_frame(
        self, parent: Frame, machine: StateMachine, key: str, cursor: int, silent: bool = False
    ) -> Frame:
        """A frame for one branch or iteration, registered with its parent."""

    async def run_frame(self, frame: Frame, data: Any, resume: dict[str, Any] | None = None) -> Any:
        """Run a frame from its StartAt (or a snapshot) to its end; returns its output."""


# -- frames and state runs -------------------------------------------------------------------
class Frame:
    """A thread of states: the whole machine, one Parallel branch or one Map iteration.

    It owns its variable scope, its event cursor (the previousEventId its next event gets)
    and its place for the checkpoint: the state it is in, that state's input and progress.
    """

    def __init__(
        self,
        machine: StateMachine,
        key: str,
        cursor: int,
        parent: Frame | None = None,
        silent: bool = False,
    ) -> None:
        self.machine = machine
        self.key = key
        self.cursor = cursor
        self.parent = parent
        self.silent: bool = silent or (parent.silent if parent else False)
        self.variables: dict[str, Any] = {}
        self.state_name: str | None = None
        self.state_input: Any = None
        self.entered: dict[str, Any] | None = None
        self.entered_data: dict[str, Any] = {}
        self.children: dict[str, Frame] = {}

    def visible_variables(self) -> dict[str, Any]:
        """Variables of this scope and every enclosing one (inner names win)."""
        chain: list[Frame] = []
        f: Frame | None = self
        while f is not None:
            chain.append(f)
            f = f.parent
        out: dict[str, Any] = {}
        for fr in reversed(chain):
            out.update(fr.variables)
        return out

    def assign(self, values: dict[str, Any]) -> None:
        self.variables.update(copy.deepcopy(values))

    def snapshot(self) -> dict[str, Any]:
        """JSON-serialisable progress of this frame and its running children."""
        return {
            "key": self.key,
            "state": self.state_name,
            "input": copy.deepcopy(self.state_input),
            "cursor": self.cursor,
            "variables": copy.deepcopy(self.variables),
            "entered": copy.deepcopy(self.entered),
            "entered_data": copy.deepcopy(self.entered_data),
            "children": {k: c.snapshot() for k, c in self.children.items()},
        }


@dataclass(slots=True)
class Outcome:
    """How a state finished: its output, the next state (None: end of the frame) and the
    variables its Assign produced (None: the state has no Assign)."""

    output: Any
    next: str | None
    assigned: dict[str, Any] | None = None
    exited: bool = True  # False for states that emit no *StateExited (Fail)


def check_size(state_name: str, value: Any) -> None:
    """Fail with States.DataLimitExceeded when a state's output is over the payload quota."""
    if len(dumps(value).encode()) > PAYLOAD_LIMIT_BYTES:
        raise FailureError(
            STATES_DATA_LIMIT_EXCEEDED,
            f"The state/task '{state_name}' returned a result with a size exceeding the "
            "maximum number of bytes service limit.",
        )


def check_variables(state_name: str, assigned: dict[str, Any] | None) -> None:
    """Fail with States.DataLimitExceeded when an Assign sets a variable, or variables, over
    the developer guide's 256 KiB (each, and all of one Assign together)."""
    if not assigned:
        return
    sizes = {name: len(dumps(value).encode()) for name, value in assigned.items()}
    # Our own words: AWS's cause for a variable over the quota is on no record.
    for name, size in sizes.items():
        if size > PAYLOAD_LIMIT_BYTES:
            raise FailureError(
                STATES_DATA_LIMIT_EXCEEDED,
                f"The state/task '{state_name}' assigned the variable '{name}' a value of "
                f"{size} bytes, over the maximum of {PAYLOAD_LIMIT_BYTES}.",
            )
    if sum(sizes.values()) > PAYLOAD_LIMIT_BYTES:
        raise FailureError(
            STATES_DATA_LIMIT_EXCEEDED,
            f"The state/task '{state_name}' assigned variables of {sum(sizes.values())} bytes "
            f"together, over the maximum of {PAYLOAD_LIMIT_BYTES}.",
        )


async def gather_first_failure(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Wait for all ``tasks`` (branches, iterations); on the first failure cancel the rest
    and re-raise it."""
    if not tasks:
        return
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                error = t.exception()
                if error is not None:
                    raise error
    finally:
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


class StateRun:
    """One attempt at running one state inside a frame."""

    def __init__(
        self,
        interp: Interpreting,
        frame: Frame,
        state: State,
        raw_input: Any,
        entered_event_id: int,
        entry_prev: int,
        entered_time: datetime,
        retry_count: int = 0,
        resume: dict[str, Any] | None = None,
    ) -> None:
        self.interp = interp
        self.frame = frame
        self.state = state
        self.raw_input = raw_input
        self.entered_event_id = entered_event_id
        self.entry_prev = entry_prev
        self.entered_time = entered_time
        self.retry_count = retry_count
        self.resume = resume or {}
        # Checkpoint snapshots of this state's running branches/iterations, keyed by index.
        self.resume_children: dict[str, Any] = {}
        # ``$$.Task.Token`` of a ``.waitForTaskToken`` task, once handed out.
        self.task_token: str | None = None

    # -- context and scope -------------------------------------------------------------
    def context_object(self, map_item: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``$$`` context object as seen by this state."""
        ctx = self.interp.execution_context()
        state_ctx: dict[str, Any] = {"Name": self.state.name, "EnteredTime": iso(self.entered_time)}
        if self.state.type == "Task":
            state_ctx["RetryCount"] = self.retry_count
        ctx["State"] = state_ctx
        if self.task_token is not None:
            ctx["Task"] = {"Token": self.task_token}
        if map_item is not None:
            ctx["Map"] = {"Item": map_item}
        return ctx

    def scope(self, map_item: dict[str, Any] | None = None) -> Scope:
        return Scope(partial(self.context_object, map_item), self.frame.visible_variables)

    def states_binding(
        self,
        data: Any = MISSING,
        result: Any = MISSING,
        error_output: Any = MISSING,
        map_item: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``$states`` object for JSONata expressions."""
        out: dict[str, Any] = {
            "input": self.raw_input if data is MISSING else data,
            "context": self.context_object(map_item),
        }
        if result is not MISSING:
            out["result"] = result
        if error_output is not MISSING:
            out["errorOutput"] = error_output
        return out

    # -- events ------------------------------------------------------------------------
    def emit(
        self,
        event_type: str,
        details: dict[str, Any] | None = None,
        update: bool = True,
        prev: int | None = None,
    ) -> int:
        return self.interp.emit(self.frame, event_type, details, update=update, prev=prev)

    def note(self, step: str, value: Any) -> None:
        """Record what the data looked like after ``step`` (``afterInputPath`` …) for
        TestState; only the states of the top-level frame are inspected."""
        notes = self.interp.inspection
        if notes is not None and self.frame.parent is None:
            notes.setdefault(self.state.name, {})[step] = copy.deepcopy(value)

    def remember(self, **data: Any) -> None:
        """Keep state-specific progress in the checkpoint (e.g. a Wait's wake-up time)."""
        self.frame.entered_data.update(data)

    # -- JSONata helpers ---------------------------------------------------------------
    def jsonata(self, value: Any, field: str, **binding: Any) -> Any:
        """Evaluate a JSONata template (``{% %}`` strings anywhere inside ``value``)."""
        return jsonata.evaluate_template(
            value, self.states_binding(**binding), self.frame.visible_variables(), field
        )

    # -- shared I/O processing -----------------------------------------------------------
    def effective_input(self, inspected: bool = True) -> Any:
        """JSONPath: InputPath then Parameters. JSONata: Arguments (or the raw input).

        ``inspected`` False keeps the steps out of the inspection data (a Pass state's Result
        stands in for its input, and AWS shows no input processing for it)."""
        st = self.state
        if st.is_jsonata:
            args = getattr(st, "arguments", MISSING)
            if args is MISSING:
                return self.raw_input
            data = self.jsonata(args, "Arguments")
            if inspected:
                self.note("afterArguments", data)
            return data
        scope = self.scope()
        data = paths.input_path(st.input_path, self.raw_input, scope)
        if inspected:
            self.note("afterInputPath", data)
        params = getattr(st, "parameters", MISSING)
        if params is not MISSING:
            data = payload_template(params, data, scope)
        if inspected:
            self.note("afterParameters", data)
        return data

    def finish(
        self,
        result: Any,
        has_result: bool = True,
        assign: Any = _FROM_STATE,
        output: Any = _FROM_STATE,
    ) -> Outcome:
        """Shape a state's result into its output and evaluate its Assign.

        ``has_result`` is False for states without a result of their own (Wait, Choice,
        Succeed, and Pass without Result in JSONata), whose Output defaults to the input.
        ``assign``/``output`` override the state's own fields (a Choice rule's, a Catcher's).
        """
        st = self.state
        assign_tpl = st.assign if assign is _FROM_STATE else assign
        output_tpl = st.output if output is _FROM_STATE else output
        if st.is_jsonata:
            binding: dict[str, Any] = {}
            if has_result:
                binding["result"] = result
            assigned = None
            if assign_tpl is not MISSING:
                assigned = self.jsonata(assign_tpl, "Assign", **binding)
            if output_tpl is not MISSING:
                out = self.jsonata(output_tpl, "Output", **binding)
            else:
                out = result if has_result else self.raw_input
            return Outcome(out, self._next(), assigned)
        scope = self.scope()
        selector = getattr(st, "result_selector", MISSING)
        if selector is not MISSING and has_result:
            result = payload_template(selector, result, scope)
        assigned = None
        if assign_tpl is not MISSING:
            assigned = assign_template(assign_tpl, result, scope)
        rp = getattr(st, "result_path", MISSING)
        if isinstance(st, PassState) or hasattr(st, "result_selector"):
            self.note("afterResultSelector", result)
            combined = paths.result_path(rp, self.raw_input, result)
            self.note("afterResultPath", combined)
        else:
            combined = result
        out = paths.output_path(st.output_path, combined, scope)
        return Outcome(out, self._next(), assigned)

    def _next(self) -> str | None:
        return None if self.state.end else self.state.next
