"""The activity integration: a Task whose resource is an activity ARN waits for a worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from batchyard.states.asl.errors import TaskFailure
from batchyard.states.asl.task import TaskRequest
from batchyard.states.engine.activities import ActivityDispatcher, ActivityTask
from batchyard.states.engine.invokers import unknown_resource
from batchyard.states.engine.tokens import (
    PendingTask,
    TaskFailedAnswer,
    TokenRegistry,
    make_token,
)


def task_key(context: dict[str, Any]) -> str:
    """What tells one task attempt from another in an execution, stable across a restart."""
    state = context.get("State", {})
    item = context.get("Map", {}).get("Item", {})
    return "|".join(
        str(part) for part in (
            state.get("Name"), state.get("EnteredTime"), state.get("RetryCount", 0),
            item.get("Index", ""),
        )
    )


class ActivityInvoker:
    """Offer the task to the activity's workers and wait for SendTask* with its token."""

    def __init__(
        self,
        dispatcher: ActivityDispatcher,
        tokens: TokenRegistry,
        exists: Callable[[str], Awaitable[bool]],
        salt_of: Callable[[str], str],
    ) -> None:
        self.dispatcher = dispatcher
        self.tokens = tokens
        self.exists = exists
        self.salt_of = salt_of

    async def invoke(self, request: TaskRequest) -> Any:
        """Schedule the activity task; return the worker's output or raise its failure."""
        if not await self.exists(request.resource):
            raise unknown_resource(request)
        execution = request.context["Execution"]["Id"]
        token = make_token(execution, self.salt_of(execution), task_key(request.context))
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.tokens.register(PendingTask(token, execution, answer, request.heartbeat))
        payload = json.dumps(request.parameters, separators=(",", ":"), ensure_ascii=False)
        started = ActivityTask(token, payload, on_started=lambda _worker: request.heartbeat())
        self.dispatcher.offer(request.resource, started)
        try:
            result = await answer
        except TaskFailedAnswer as failure:
            raise TaskFailure(failure.error, failure.cause) from None
        finally:
            self.tokens.release(token)
            self.dispatcher.withdraw(token)
        return result.output
