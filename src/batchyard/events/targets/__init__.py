"""Where events go: a registry of deliverers keyed by the kind of the target's ARN.

A kind is ``<service>:<resource type>`` from the ARN (``logs:log-group``,
``lambda:function``, ``states:stateMachine``, ``batch:job-queue``). Each deliverer lives in
its own module under ``events/targets`` and registers itself with ``@deliverer(kind)``;
``ADAPTERS`` lists the modules to load, so wiring a new target service is one line there.
A kind PutTargets accepts but no loaded module delivers fails each delivery, recorded,
until its service is wired.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batchyard.runtime import Runtime

LOG_GROUP = "logs:log-group"
FUNCTION = "lambda:function"
STATE_MACHINE = "states:stateMachine"
JOB_QUEUE = "batch:job-queue"
KINDS = (LOG_GROUP, FUNCTION, STATE_MACHINE, JOB_QUEUE)

ADAPTERS = [
    "batchyard.events.targets.log_groups",
    "batchyard.events.targets.functions",
    "batchyard.events.targets.state_machines",
    "batchyard.events.targets.job_queues",
]

_ARN = re.compile(r"arn:aws[\w-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)")


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one target: the target's document and the text it receives."""

    target: dict[str, Any]
    input: str
    event: dict[str, Any]
    rule_arn: str

    @property
    def arn(self) -> str:
        return str(self.target["Arn"])


class TargetError(Exception):
    """A delivery the target refused; ``retryable`` says whether EventBridge tries again."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


Deliverer = Callable[["Runtime", Delivery], Awaitable[None]]
_deliverers: dict[str, Deliverer] = {}


def deliverer(kind: str) -> Callable[[Deliverer], Deliverer]:
    """Register the decorated coroutine as the deliverer of target ARNs of ``kind``."""

    def register(fn: Deliverer) -> Deliverer:
        _deliverers[kind] = fn
        return fn

    return register


def load_adapters() -> None:
    """Import every adapter module in ``ADAPTERS`` (each registers its kind)."""
    for module in ADAPTERS:
        importlib.import_module(module)


def parse_arn(arn: str) -> tuple[str, str] | None:
    """``(kind, resource name)`` of a target ARN, or None when it is not an ARN."""
    match = _ARN.fullmatch(arn)
    if match is None:
        return None
    service, resource = match.group(1), match.group(4)
    resource_type = re.split(r"[:/]", resource, maxsplit=1)[0]
    name = resource[len(resource_type) + 1 :]
    return f"{service}:{resource_type}", name


async def deliver(runtime: Runtime, delivery: Delivery) -> None:
    """Hand ``delivery`` to its kind's deliverer; raises ``TargetError`` when refused."""
    parsed = parse_arn(delivery.arn)
    kind = parsed[0] if parsed else None
    fn = _deliverers.get(kind) if kind else None
    if fn is None:
        raise TargetError(
            "TargetUnavailable",
            f"No service on this server delivers to {delivery.arn} yet",
        )
    await fn(runtime, delivery)
