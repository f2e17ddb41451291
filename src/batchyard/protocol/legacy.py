"""The decorator-registered handlers of the services not yet behind a facade (transitional).

Until a service has its facade and its operation table, its handler modules register on a
:class:`LegacyApi` and get a :class:`RequestContext` holding the shared runtime; the
composition root turns it into a :class:`ServiceApi`. This module goes when the last service
has moved (issue 13).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from batchyard.aws.caller import Caller
from batchyard.protocol.service import DEFAULT_BODY_LIMIT, Handler, ServiceApi, load_model

if TYPE_CHECKING:
    from batchyard.runtime import Runtime

LegacyHandler = Callable[["RequestContext", dict[str, Any]], Awaitable[dict[str, Any] | None]]
Hook = Callable[["Runtime"], Awaitable[None]]


@dataclass
class RequestContext:
    """What a legacy handler may know about the request besides its input."""

    runtime: Runtime
    service: str
    operation: str
    request_id: str
    region: str
    account_id: str


@dataclass
class LegacyApi:
    """Operations registered by decorator, and start-up and shutdown hooks."""

    name: str
    validation_error: str
    body_limits: dict[str, tuple[int, str]] = field(default_factory=dict)
    default_body_limit: int = DEFAULT_BODY_LIMIT
    case_insensitive_enums: frozenset[str] = frozenset()
    handlers: dict[str, LegacyHandler] = field(default_factory=dict)
    startup: list[Hook] = field(default_factory=list)
    shutdown: list[Hook] = field(default_factory=list)

    def operation(self, name: str) -> Callable[[LegacyHandler], LegacyHandler]:
        """Register ``handler`` for the model's operation ``name``."""
        if name not in load_model(self.name).operation_names:
            raise ValueError(f"{self.name} has no operation {name}")

        def register(handler: LegacyHandler) -> LegacyHandler:
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

    def error_status(self, code: str) -> int:
        """The HTTP status the model gives error ``code`` (400 when it does not say)."""
        return self.bound({}).error_status(code)

    @property
    def model(self) -> Any:
        return load_model(self.name)

    def bound(self, operations: dict[str, Handler]) -> ServiceApi:
        """The :class:`ServiceApi` of these limits with ``operations``."""
        return ServiceApi(
            self.name,
            self.validation_error,
            operations,
            body_limits=self.body_limits,
            default_body_limit=self.default_body_limit,
            case_insensitive_enums=self.case_insensitive_enums,
        )

    def serve(self, runtime: Runtime) -> ServiceApi:
        """The operations bound to ``runtime``: each handler gets a context of its caller."""

        def bind(name: str, handler: LegacyHandler) -> Handler:
            async def handle(caller: Caller, params: dict[str, Any]) -> object:
                context = RequestContext(
                    runtime, self.name, name, caller.request_id, caller.region, caller.account_id
                )
                return await handler(context, params)

            return handle

        return self.bound({name: bind(name, h) for name, h in self.handlers.items()})
