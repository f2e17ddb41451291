"""EventBridge: event buses (the default one of each account and region, and custom ones),
rules with event patterns and schedules, targets (API destinations through connections among
them), archives and replays. :class:`EventBridge` is the service's one door; the names below
are what other code needs to call it: the entries and events it takes, and the
target-registration port (a :class:`Deliverer` per kind of target ARN, given a
:class:`Target` and a :class:`TargetEvent`, raising :class:`TargetError` when the target
refuses)."""

from batchyard.events.model import (
    BatchParameters,
    PutEventsEntry,
    PutEventsResult,
    PutEventsResultEntry,
    ServiceEvent,
    Target,
)
from batchyard.events.service import EventBridge
from batchyard.events.targets import (
    FUNCTION,
    JOB_QUEUE,
    LOG_GROUP,
    STATE_MACHINE,
    Deliverer,
    TargetError,
    TargetEvent,
)

__all__ = [
    "FUNCTION",
    "JOB_QUEUE",
    "LOG_GROUP",
    "STATE_MACHINE",
    "BatchParameters",
    "Deliverer",
    "EventBridge",
    "PutEventsEntry",
    "PutEventsResult",
    "PutEventsResultEntry",
    "ServiceEvent",
    "Target",
    "TargetError",
    "TargetEvent",
]
