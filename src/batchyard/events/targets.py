"""Where events go: the deliverers other code registers, by the kind of a target's ARN.

A kind is ``<service>:<resource type>`` from the ARN (``logs:log-group``,
``lambda:function``, ``states:stateMachine``, ``batch:job-queue``). EventBridge knows no
other service: the composition root registers a :class:`Deliverer` for each kind this server
delivers to (``EventBridge.register_target``), and PutTargets refuses the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from batchyard.aws import arns
from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.events.model import Target

LOG_GROUP = "logs:log-group"
FUNCTION = "lambda:function"
STATE_MACHINE = "states:stateMachine"
JOB_QUEUE = "batch:job-queue"


@dataclass(frozen=True, slots=True)
class TargetEvent:
    """One event on its way to one target: the event, the text the target receives (built
    from its Input, InputPath or InputTransformer) and the rule that matched it."""

    event: JsonObject
    input: str
    rule_arn: str

    @property
    def event_id(self) -> str:
        return str(self.event.get("id", ""))


class TargetError(Exception):
    """A delivery the target refused; ``retryable`` says whether EventBridge tries again, and
    ``retry_after`` how many (real) seconds the target asked it to wait first."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


class Deliverer(Protocol):
    """What delivers events to the targets of one kind."""

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        """Hand ``event`` to ``target`` on behalf of ``caller`` (the rule's account and
        region); raise :class:`TargetError` when the target refuses it."""


def kind_of(arn: str) -> str | None:
    """The kind of a target ARN, or None when it is not an ARN."""
    parsed = arns.parse(arn)
    return f"{parsed.service}:{parsed.resource_type}" if parsed is not None else None


class Deliverers:
    """The registered deliverers, by kind."""

    def __init__(self) -> None:
        self._by_kind: dict[str, Deliverer] = {}

    def register(self, kind: str, deliverer: Deliverer) -> None:
        """Deliver events to targets of ``kind`` with ``deliverer``."""
        self._by_kind[kind] = deliverer

    def delivers_to(self, kind: str) -> bool:
        """Whether a deliverer is registered for ``kind``."""
        return kind in self._by_kind

    @property
    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        """Hand ``event`` to its target's deliverer; raises :class:`TargetError` when
        refused."""
        kind = kind_of(target.arn)
        deliverer = self._by_kind.get(kind) if kind is not None else None
        if deliverer is None:
            raise TargetError(
                "TargetUnavailable", f"No service on this server delivers to {target.arn}"
            )
        await deliverer.deliver(caller, target, event)
