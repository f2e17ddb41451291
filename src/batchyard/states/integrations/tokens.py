"""The ``.waitForTaskToken`` pattern: call the service, then wait for SendTask* with the token.

The token is ``$$.Task.Token``, which the engine hands out (committed) before the task's
parameters are evaluated. It is registered before the service is called, so an answer that
comes back at once (a child execution that finishes quickly) still finds its task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from batchyard.states.asl.errors import RuntimeFailure, TaskFailure
from batchyard.states.asl.runtime import TaskRequest
from batchyard.states.asl.task import WAIT_FOR_TASK_TOKEN
from batchyard.states.engine.tokens import (
    PendingTask,
    TaskFailedAnswer,
    TaskSucceeded,
    TokenRegistry,
)


class TokenWait:
    """Park a task on its token until SendTaskSuccess / SendTaskFailure answers it."""

    SUFFIX = WAIT_FOR_TASK_TOKEN

    def __init__(self, tokens: TokenRegistry) -> None:
        self.tokens = tokens

    async def wait(self, request: TaskRequest, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``call()`` (the service request), then return the output sent for the token."""
        token = request.context.get("Task", {}).get("Token")
        if not isinstance(token, str):
            raise RuntimeFailure("No task token was issued for this task")
        execution = request.context["Execution"]["Id"]
        answer: asyncio.Future[TaskSucceeded] = asyncio.get_running_loop().create_future()
        self.tokens.register(PendingTask(token, execution, answer, request.heartbeat))
        try:
            await call()
            return (await answer).output
        except TaskFailedAnswer as failure:
            raise TaskFailure(failure.error, failure.cause) from None
        finally:
            self.tokens.release(token)
