"""The TaskInvoker the engine gives the interpreter: integrations registered by ARN prefix.

Integrations (activities here; batch, lambda, events ... later) plug in with
:meth:`InvokerRegistry.register`; the longest matching prefix wins. A resource nothing claims
fails the task the way AWS fails a task whose resource it cannot schedule.
"""

from __future__ import annotations

from typing import Any

from batchyard.states.asl.errors import STATES_RUNTIME, TaskFailure
from batchyard.states.asl.runtime import TaskInvoker, TaskRequest


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
