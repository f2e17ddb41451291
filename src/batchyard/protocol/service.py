"""A service's API as the server sees it: its botocore model and its operation handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.model import OperationModel, ServiceModel

if TYPE_CHECKING:
    from batchyard.runtime import Runtime

Handler = Callable[["RequestContext", dict[str, Any]], Awaitable[dict[str, Any] | None]]
Hook = Callable[["Runtime"], Awaitable[None]]

# Above this a request is refused before it is read, whatever the operation.
DEFAULT_BODY_LIMIT = 8 * 1024 * 1024


@cache
def load_model(name: str) -> ServiceModel:
    """botocore's model of service ``name`` (e.g. ``batch``, ``stepfunctions``)."""
    return botocore.session.get_session().get_service_model(name)


@dataclass
class RequestContext:
    """What a handler may know about the request besides its input."""

    runtime: Runtime
    service: str
    operation: str
    request_id: str
    region: str
    account_id: str


@dataclass
class ServiceApi:
    """The operations one service implements, plus how it reports invalid input.

    ``validation_error`` is the error code the real service answers for input that fails its
    shape (Batch: ClientException; Step Functions: ValidationException ...). ``body_limits``
    holds per-operation request size limits in bytes, with AWS's message for each.
    ``case_insensitive_enums`` names enum shapes the service accepts in any letter case.
    """

    name: str
    validation_error: str
    body_limits: dict[str, tuple[int, str]] = field(default_factory=dict)
    default_body_limit: int = DEFAULT_BODY_LIMIT
    case_insensitive_enums: frozenset[str] = frozenset()
    handlers: dict[str, Handler] = field(default_factory=dict)
    startup: list[Hook] = field(default_factory=list)
    shutdown: list[Hook] = field(default_factory=list)

    @property
    def model(self) -> ServiceModel:
        return load_model(self.name)

    def operation(self, name: str) -> Callable[[Handler], Handler]:
        """Register ``handler`` for the model's operation ``name``."""
        if name not in self.model.operation_names:
            raise ValueError(f"{self.name} has no operation {name}")

        def register(handler: Handler) -> Handler:
            self.handlers[name] = handler
            return handler

        return register

    def on_startup(self, hook: Hook) -> Hook:
        """Run ``hook(runtime)`` after the store is open, before the first request."""
        self.startup.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Run ``hook(runtime)`` on clean shutdown, before the store closes."""
        self.shutdown.append(hook)
        return hook

    def operation_model(self, name: str) -> OperationModel:
        return self.model.operation_model(name)

    def error_status(self, code: str) -> int:
        """The HTTP status the model gives error ``code`` (400 when it does not say)."""
        for shape in self.model.error_shapes:
            if shape.name == code:
                return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        return 400
