"""Notifications about resource changes on the runtime bus.

Every accepted change to a compute environment, job queue, job definition or scheduling
policy is published once on topic ``batch.resources`` *after* it is committed, as::

    {"resource": "compute-environment" | "job-queue" | "job-definition" | "scheduling-policy",
     "action": "created" | "updated" | "status" | "deleted" | "registered" | "deregistered",
     "name": ..., "arn": ..., "state": ..., "status": ...}

``state`` / ``status`` are present where the resource has them (status becomes ``DELETED``
on deletion). The scheduler subscribes to learn that queues or environments were enabled,
disabled, re-ordered or became VALID.
"""

from __future__ import annotations

from typing import Any

from batchyard.bus import Bus

TOPIC = "batch.resources"


def publish(bus: Bus, resource: str, action: str, document: dict[str, Any], **extra: Any) -> None:
    """Announce that ``resource`` described by ``document`` went through ``action``."""
    event: dict[str, Any] = {
        "resource": resource,
        "action": action,
        "name": extra.pop("name", None) or _first(document, "Name", "name"),
        "arn": extra.pop("arn", None) or _first(document, "Arn", "arn"),
    }
    for key in ("state", "status"):
        if key in document:
            event[key] = document[key]
    event.update(extra)
    bus.publish(TOPIC, event)


def _first(document: dict[str, Any], suffix: str, plain: str) -> Any:
    if plain in document:
        return document[plain]
    for key, value in document.items():
        if key.endswith(suffix):
            return value
    return None
