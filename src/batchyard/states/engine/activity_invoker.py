"""The activity integration: a Task whose resource is an activity ARN waits for a worker."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from batchyard.states.asl import ScheduleFailure, TaskRequest
from batchyard.states.asl.errors import TaskFailure
from batchyard.states.engine.activities import ActivityDispatcher, ActivityTask
from batchyard.states.engine.invokers import unknown_resource
from batchyard.states.engine.tokens import TaskFailedAnswer, TokenRegistry, make_token, task_key


class ActivityInvoker:
    """Offer the task to the activity's workers and wait for SendTask* with its token."""

    def __init__(
        self,
        dispatcher: ActivityDispatcher,
        tokens: TokenRegistry,
        exists: Callable[[str], Awaitable[bool]],
        salt_of: Callable[[str], str],
        settle: Callable[[str], Awaitable[None]],
    ) -> None:
        self.dispatcher = dispatcher
        self.tokens = tokens
        self.exists = exists
        self.salt_of = salt_of
        self.settle = settle

    async def invoke(self, request: TaskRequest) -> Any:
        """Schedule the activity task; return the worker's output or raise its failure."""
        if not await self.exists(request.resource):
            unknown = unknown_resource(request)
            raise ScheduleFailure(unknown.error, unknown.cause)
        execution = request.context["Execution"]["Id"]
        key = request.attempt or task_key(request.context)
        token = make_token(execution, self.salt_of(execution), key)
        # Hand the token out only once the task's scheduling is committed: after a crash the
        # execution then resumes inside this task and re-issues the very same token.
        await self.settle(execution)
        payload = json.dumps(request.parameters, separators=(",", ":"), ensure_ascii=False)
        task = ActivityTask(token, payload, on_started=lambda worker: self._taken(request, worker))
        self.dispatcher.offer(request.resource, task)
        try:
            return await self.tokens.answer(token, execution, request.heartbeat)
        except TaskFailedAnswer as failure:
            raise TaskFailure(failure.error, failure.cause) from None
        finally:
            self.dispatcher.withdraw(token)

    @staticmethod
    def _taken(request: TaskRequest, worker: str) -> None:
        request.started(worker)
        # A worker taking the task counts as its first sign of life.
        request.heartbeat()
