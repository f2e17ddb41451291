"""Task tokens: what an activity worker or a ``.waitForTaskToken`` callback answers with.

A token names its execution and the event that scheduled the task, sealed with the execution's
secret salt. The same task re-dispatched after a restart therefore gets the same token, so a
worker that received it before the crash can still answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batchyard.protocol.errors import ServiceError


def make_token(execution_arn: str, salt: str, key: str) -> str:
    """The token of the task ``key`` (e.g. its scheduled event id) of an execution."""
    seal = hmac.new(salt.encode(), f"{execution_arn}|{key}".encode(), hashlib.sha256).hexdigest()
    body = json.dumps([execution_arn, key, seal[:32]], separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


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


@dataclass
class PendingTask:
    """A task waiting for its worker's answer; ``heartbeat`` resets its heartbeat timer."""

    token: str
    execution_arn: str
    future: asyncio.Future[Any]
    heartbeat: Callable[[], None]


class TaskSucceeded:
    """The worker's answer: the task's output document."""

    def __init__(self, output: Any) -> None:
        self.output = output


class TaskFailedAnswer(Exception):
    """The worker's answer: an error name and cause."""

    def __init__(self, error: str | None, cause: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.cause = cause


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
        self, token: str, execution_arn: str, heartbeat: Callable[[], None]
    ) -> Any:
        """Wait for SendTaskSuccess (its output) or SendTaskFailure (raised) for ``token``.

        Activities and ``.waitForTaskToken`` integrations both park their task here.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.register(PendingTask(token, execution_arn, future, heartbeat))
        try:
            return (await future).output
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
            task.future.set_result(TaskSucceeded(output))
        self.release(token)

    def fail(self, token: str, error: str | None, cause: str | None) -> None:
        """SendTaskFailure."""
        task = self._get(token)
        if not task.future.done():
            task.future.set_exception(TaskFailedAnswer(error, cause))
        self.release(token)

    def heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat: push the task's heartbeat deadline out."""
        self._get(token).heartbeat()
