"""The activity task dispatcher: scheduled activity tasks wait here for GetActivityTask.

A poll is answered the moment a task is offered (no polling loop): each activity has a queue
of tasks nobody has taken and a queue of polls nobody has answered, and whichever side
arrives second completes the other.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# AWS holds a GetActivityTask poll open for up to 60 seconds.
POLL_SECONDS = 60.0


@dataclass
class ActivityTask:
    """One scheduled activity task: its token, its input text and who to tell it started."""

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
