"""Waiting for what a task started: a job or an execution to end, woken by the bus rather
than by polling, and a task token to be answered (``.waitForTaskToken``).

A ``.sync`` task first :meth:`Watch.expect`\\ s its child, then reads the child's current state
(it may have ended already, e.g. before a restart), then awaits the future: the bus event that
ends the child resolves it in the same event-loop turn that publishes it.

The task token of ``.waitForTaskToken`` is ``$$.Task.Token``, which the engine hands out
(committed) before the task's parameters are evaluated. It is registered before the service is
called, so an answer that comes back at once (a child execution that finishes quickly) still
finds its task.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from batchyard.bus import Bus
from batchyard.states.asl import TaskRequest
from batchyard.states.asl.task import WAIT_FOR_TASK_TOKEN
from batchyard.states.service import StepFunctions

log = logging.getLogger(__name__)

# Wait until what an execution has recorded so far is committed (StepFunctions.settle).
Settle = Callable[[str], Awaitable[None]]


class TokenWait:
    """Park a task on its token until SendTaskSuccess / SendTaskFailure answers it."""

    SUFFIX = WAIT_FOR_TASK_TOKEN

    def __init__(self, states: StepFunctions) -> None:
        self.states = states

    async def wait(self, request: TaskRequest, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``call()`` (the service request), then return the output sent for the token."""
        return await self.states.wait_for_task_token(request, call)


class Watch:
    """Futures for "this child has ended", keyed by the child's id, fed from one bus topic."""

    def __init__(
        self,
        bus: Bus,
        topic: str,
        key_of: Callable[[dict[str, Any]], str],
        ended: Callable[[dict[str, Any]], bool],
    ) -> None:
        self._key_of = key_of
        self._ended = ended
        self._waiting: dict[str, set[asyncio.Future[dict[str, Any]]]] = defaultdict(set)
        bus.subscribe(topic, self._on_event)

    def expect(self, key: str) -> asyncio.Future[dict[str, Any]]:
        """A future resolved with the event that ends child ``key``."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[key].add(future)
        return future

    @contextmanager
    def expecting(self, key: str) -> Iterator[asyncio.Future[dict[str, Any]]]:
        """:meth:`expect` for the duration of a ``with`` block."""
        future = self.expect(key)
        try:
            yield future
        finally:
            self.forget(key, future)

    def forget(self, key: str, future: asyncio.Future[dict[str, Any]]) -> None:
        """Stop feeding ``future`` (its task is over, one way or another)."""
        waiting = self._waiting.get(key)
        if waiting is None:
            return
        waiting.discard(future)
        if not waiting:
            del self._waiting[key]

    def _on_event(self, _topic: str, event: dict[str, Any]) -> None:
        if not self._ended(event):
            return
        for future in self._waiting.pop(self._key_of(event), ()):
            if not future.done():
                future.set_result(event)


Stop = Callable[[], Coroutine[Any, Any, None]]


class Children:
    """What each running execution has started in ``.sync`` tasks, to stop when it is stopped.

    A task that ends normally withdraws its child. A task cancelled because its execution was
    stopped leaves it here, and the execution's ABORTED (or TIMED_OUT) announcement stops it;
    a task cancelled by a server shutdown leaves it too, but no announcement follows, so the
    child keeps running and the resumed execution re-attaches to it.
    """

    STOPPING = ("ABORTED", "TIMED_OUT")

    def __init__(self, bus: Bus, topic: str) -> None:
        self._children: dict[str, dict[str, Stop]] = defaultdict(dict)
        self._pending: set[asyncio.Task[Any]] = set()
        bus.subscribe(topic, self._on_execution)

    def add(self, execution_arn: str, child: str, stop: Stop) -> None:
        """Remember that ``execution_arn`` waits on ``child``; ``stop()`` stops the child."""
        self._children[execution_arn][child] = stop

    def remove(self, execution_arn: str, child: str) -> None:
        """The task waiting on ``child`` is over: nothing to stop any more."""
        children = self._children.get(execution_arn)
        if children is not None:
            children.pop(child, None)
            if not children:
                del self._children[execution_arn]

    @contextmanager
    def tracking(self, execution_arn: str, child: str, stop: Stop) -> Iterator[None]:
        """Keep ``child`` registered while a ``with`` block waits on it.

        Cancellation (a stopped execution, a server shutdown) leaves it registered: the
        execution's announcement, or the lack of one, decides whether it is stopped.
        """
        self.add(execution_arn, child, stop)
        cancelled = False
        try:
            yield
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            if not cancelled:
                self.remove(execution_arn, child)

    def _on_execution(self, _topic: str, event: dict[str, Any]) -> None:
        if event.get("status") == "RUNNING":
            return
        children = self._children.pop(event["executionArn"], {})
        if event.get("status") not in self.STOPPING:
            return
        for stop in children.values():
            task = asyncio.get_running_loop().create_task(stop())
            self._pending.add(task)
            task.add_done_callback(self._stopped)

    def _stopped(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("stopping a child of a stopped execution failed", exc_info=task.exception())
