"""How Task states reach whoever does their work: the integrations registered by resource ARN,
task tokens, and activities with the workers that poll them.

Integrations (activities here; batch, lambda, events ... from outside) plug in with
:meth:`InvokerRegistry.register`; the longest matching prefix wins, and a resource nothing
claims fails the task the way AWS fails a task whose resource it cannot schedule.

A task token names its execution and the event that scheduled the task, sealed with the
execution's secret salt. The same task re-dispatched after a restart therefore gets the same
token, so a worker that received it before the crash can still answer.

An activity poll is answered the moment a task is offered (no polling loop): each activity has
a queue of tasks nobody has taken and a queue of polls nobody has answered, and whichever side
arrives second completes the other.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from batchyard.protocol.errors import ServiceError
from batchyard.states.asl import (
    FailureError,
    RuntimeFailure,
    ScheduleFailure,
    TaskFailure,
    TaskInvoker,
    TaskRequest,
)
from batchyard.states.asl.errors import STATES_RUNTIME
from batchyard.states.asl.runtime import ResourceCheck, SchedulingCheck

# AWS holds a GetActivityTask poll open for up to 60 seconds.
POLL_SECONDS = 60.0


# -- the integrations ------------------------------------------------------------------------
def unknown_resource(request: TaskRequest) -> TaskFailure:
    """AWS's failure for a Task whose resource cannot be scheduled (States.Runtime: terminal)."""
    return TaskFailure(
        STATES_RUNTIME,
        f"An error occurred while scheduling the state '{request.state_name}'. "
        f"The provided ARN '{request.resource}' is invalid."
    )


class InvokerRegistry:
    """Route each Task request to the integration that owns its resource ARN."""

    def __init__(self) -> None:
        self._routes: dict[str, TaskInvoker] = {}

    def register(self, prefix: str, invoker: TaskInvoker) -> None:
        """Send tasks whose resource starts with ``prefix`` to ``invoker``."""
        self._routes[prefix] = invoker

    def route(self, resource: str) -> TaskInvoker | None:
        """The invoker for ``resource``, None when no integration claims it."""
        best = max((p for p in self._routes if resource.startswith(p)), key=len, default=None)
        return self._routes[best] if best is not None else None

    async def invoke(self, request: TaskRequest) -> Any:
        """Run the task through its integration."""
        invoker = self.route(request.resource)
        if invoker is None:
            raise unknown_resource(request)
        return await invoker.invoke(request)

    def recognizes(self, resource: str) -> bool:
        """Whether a definition may name ``resource``: False only when the integration that
        owns it knows it names nothing (an SDK action no service has)."""
        invoker: object = self.route(resource)
        return not isinstance(invoker, ResourceCheck) or invoker.recognizes(resource)

    async def unschedulable(self, request: TaskRequest) -> FailureError | None:
        """Why the task's integration cannot schedule it, if that integration can tell."""
        # Only some integrations can tell; the others schedule every task they are given.
        invoker: object = self.route(request.resource)
        if isinstance(invoker, SchedulingCheck):
            return await invoker.unschedulable(request)
        return None


# -- task tokens ---------------------------------------------------------------------------------
def make_token(execution_arn: str, salt: str, key: str) -> str:
    """The token of the task ``key`` (e.g. its scheduled event id) of an execution."""
    seal = hmac.new(salt.encode(), f"{execution_arn}|{key}".encode(), hashlib.sha256).hexdigest()
    body = json.dumps([execution_arn, key, seal[:32]], separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def read_token(token: str) -> tuple[str, str]:
    """(execution ARN, task key) of a well-formed token; InvalidToken otherwise."""
    try:
        padded = token + "=" * (-len(token) % 4)
        arn, key, _seal = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(arn, str) or not isinstance(key, str):
            raise ValueError(token)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ServiceError("InvalidToken", "Invalid Token: 'Invalid token'") from None
    return arn, key


@dataclass(slots=True)
class PendingTask:
    """A task waiting for its worker's answer; ``heartbeat`` resets its heartbeat timer."""

    token: str
    execution_arn: str
    future: asyncio.Future[Any]
    heartbeat: Callable[[], None]


class TokenRegistry:
    """Tokens of the tasks in flight on this server, and the answers sent for them."""

    def __init__(self) -> None:
        self._pending: dict[str, PendingTask] = {}
        # Tokens whose task ended: answering them again is TaskTimedOut, not TaskDoesNotExist.
        self._finished: dict[str, float] = {}

    def register(self, task: PendingTask) -> None:
        """Start accepting answers for ``task.token``."""
        self._pending[task.token] = task
        self._finished.pop(task.token, None)

    async def answer(
        self,
        token: str,
        execution_arn: str,
        heartbeat: Callable[[], None],
        call: Callable[[], Awaitable[object]] | None = None,
    ) -> Any:
        """Wait for SendTaskSuccess (its output) or SendTaskFailure (raised as
        :class:`TaskFailure`) for ``token``, after running ``call()`` if given.

        Activities and ``.waitForTaskToken`` integrations both park their task here. The token
        is accepted before ``call()`` runs, so an answer that comes back at once (a child
        execution that finishes quickly) still finds its task.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.register(PendingTask(token, execution_arn, future, heartbeat))
        try:
            if call is not None:
                await call()
            return await future
        finally:
            self.release(token)

    def release(self, token: str) -> None:
        """Stop accepting answers: the task finished, timed out or its execution stopped."""
        if self._pending.pop(token, None) is not None:
            self._finished[token] = time.monotonic()

    def release_execution(self, execution_arn: str) -> None:
        """Release every token of an execution that stopped."""
        for token in [t for t, p in self._pending.items() if p.execution_arn == execution_arn]:
            task = self._pending[token]
            if not task.future.done():
                task.future.cancel()
            self.release(token)

    def _get(self, token: str) -> PendingTask:
        read_token(token)
        task = self._pending.get(token)
        if task is None:
            if token in self._finished:
                raise ServiceError(
                    "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"
                )
            raise ServiceError(
                "TaskDoesNotExist", "Task Does Not Exist: 'Provided task does not exist'"
            )
        return task

    def succeed(self, token: str, output: Any) -> None:
        """SendTaskSuccess."""
        task = self._get(token)
        if not task.future.done():
            task.future.set_result(output)
        self.release(token)

    def fail(self, token: str, error: str | None, cause: str | None) -> None:
        """SendTaskFailure."""
        task = self._get(token)
        if not task.future.done():
            task.future.set_exception(TaskFailure(error, cause))
        self.release(token)

    def heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat: push the task's heartbeat deadline out."""
        self._get(token).heartbeat()


# -- activities ----------------------------------------------------------------------------------
@dataclass(slots=True)
class ActivityTask:
    """One scheduled activity task: its token, its input text and who to tell it started."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {"taskToken": "token"}

    token: str
    input: str
    on_started: Callable[[str], None]


class ActivityDispatcher:
    """Match scheduled activity tasks with worker polls, per activity ARN."""

    def __init__(self) -> None:
        self._tasks: dict[str, deque[ActivityTask]] = {}
        self._polls: dict[str, deque[asyncio.Future[ActivityTask]]] = {}

    def offer(self, activity_arn: str, task: ActivityTask) -> None:
        """Hand ``task`` to a waiting poll, or queue it for the next one."""
        polls = self._polls.get(activity_arn)
        while polls:
            poll = polls.popleft()
            if not poll.done():
                poll.set_result(task)
                return
        self._tasks.setdefault(activity_arn, deque()).append(task)

    def withdraw(self, token: str) -> None:
        """Forget a queued task that is no longer wanted (its execution stopped or timed out)."""
        for queue in self._tasks.values():
            for task in list(queue):
                if task.token == token:
                    queue.remove(task)

    async def poll(
        self, activity_arn: str, worker_name: str, timeout: float = POLL_SECONDS
    ) -> ActivityTask | None:
        """The next task of ``activity_arn``, waiting up to ``timeout`` seconds for one."""
        queue = self._tasks.get(activity_arn)
        if queue:
            task = queue.popleft()
        else:
            poll: asyncio.Future[ActivityTask] = asyncio.get_running_loop().create_future()
            self._polls.setdefault(activity_arn, deque()).append(poll)
            try:
                task = await asyncio.wait_for(asyncio.shield(poll), timeout)
            except TimeoutError:
                if poll.done() and not poll.cancelled():
                    task = poll.result()
                else:
                    poll.cancel()
                    return None
            except asyncio.CancelledError:
                # The client went away: give a task that already reached us to the next poll.
                if poll.done() and not poll.cancelled():
                    self._tasks.setdefault(activity_arn, deque()).appendleft(poll.result())
                poll.cancel()
                raise
        task.on_started(worker_name)
        return task


class ActivityInvoker:
    """Offer the task to the activity's workers and wait for SendTask* with its token.

    ``exists(request)`` tells whether the task's activity exists where its execution runs;
    ``salt_of(execution)`` is the execution's secret; ``settle(execution)`` returns once what
    the execution recorded so far is committed.
    """

    def __init__(
        self,
        dispatcher: ActivityDispatcher,
        tokens: TokenRegistry,
        exists: Callable[[TaskRequest], Awaitable[bool]],
        salt_of: Callable[[str], str],
        settle: Callable[[str], Awaitable[None]],
    ) -> None:
        self.dispatcher = dispatcher
        self.tokens = tokens
        self.exists = exists
        self.salt_of = salt_of
        self.settle = settle

    async def unschedulable(self, request: TaskRequest) -> FailureError | None:
        """AWS's failure for a task of an activity that does not exist (States.Runtime)."""
        if await self.exists(request):
            return None
        return RuntimeFailure(f"The activity {request.resource} does not exist.")

    async def invoke(self, request: TaskRequest) -> Any:
        """Schedule the activity task; return the worker's output or raise its failure."""
        if not await self.exists(request):
            unknown = unknown_resource(request)
            raise ScheduleFailure(unknown.error, unknown.cause)
        execution = request.execution_arn
        token = make_token(execution, self.salt_of(execution), request.attempt)
        # Hand the token out only once the task's scheduling is committed: after a crash the
        # execution then resumes inside this task and re-issues the very same token.
        await self.settle(execution)
        payload = json.dumps(request.parameters, separators=(",", ":"), ensure_ascii=False)
        task = ActivityTask(token, payload, on_started=lambda worker: self._taken(request, worker))
        self.dispatcher.offer(request.resource, task)
        try:
            return await self.tokens.answer(token, execution, request.heartbeat)
        finally:
            self.dispatcher.withdraw(token)

    @staticmethod
    def _taken(request: TaskRequest, worker: str) -> None:
        request.started(worker)
        # A worker taking the task counts as its first sign of life.
        request.heartbeat()
