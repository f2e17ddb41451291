"""The internal bus: each state change is published once and fans out to its subscribers.

Subscribers are plain callables run on the event loop in publish order; a subscriber that
raises is logged and does not stop the others. Events, logs, ``.sync`` waiters and the
console all listen here rather than polling the store.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Subscriber = Callable[[str, dict[str, Any]], None]


class Bus:
    """Topic-based, in-process publish/subscribe."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = defaultdict(list)

    def subscribe(self, topic: str, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(topic, event)`` for each event on ``topic`` ("*" for all).

        Returns a function that removes the subscription.
        """
        self._subscribers[topic].append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers[topic]:
                self._subscribers[topic].remove(subscriber)

        return unsubscribe

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Deliver ``event`` to the subscribers of ``topic`` and of "*"."""
        for subscriber in [*self._subscribers.get(topic, ()), *self._subscribers.get("*", ())]:
            try:
                subscriber(topic, event)
            except Exception:
                log.exception("bus subscriber failed on %s", topic)
