"""Deliver events to the targets of the rules they match, retrying as EventBridge does.

Each (rule, target, event) delivery runs as its own task: the target's input is built, the
deliverer registered for its kind called on behalf of the rule's account and region, and a
failure recorded in ``events_delivery_failures``. A retryable failure is tried again after an
exponential back-off with jitter (or the longer wait the target asked for) until the target's
RetryPolicy runs out (MaximumRetryAttempts, default 185; MaximumEventAgeInSeconds, default
86400); back-offs are divided by the time scale. Nothing a target does can reach the
caller: publishing only starts tasks.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from batchyard.events import records
from batchyard.events.catalog import ActiveRule, BusKey, RuleCatalog
from batchyard.events.envelopes import event_time
from batchyard.events.model import Target
from batchyard.events.records import DeliveryFailure
from batchyard.events.targets import Deliverers, TargetError, TargetEvent
from batchyard.events.transform import DeliveryContext, target_input
from batchyard.store import Store

log = logging.getLogger(__name__)

DEFAULT_RETRY_ATTEMPTS = 185
DEFAULT_EVENT_AGE = 86400
# The back-off doubles from one second up to this many (AWS) seconds between attempts.
MAX_BACKOFF = 300.0


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), with jitter."""
    ceiling = min(MAX_BACKOFF, 2.0 ** (attempt - 1))
    return ceiling * random.uniform(0.5, 1.0)


class Dispatcher:
    """Routes events to matching rules and runs their deliveries (made on the event loop it
    delivers on)."""

    def __init__(
        self, store: Store, catalog: RuleCatalog, deliverers: Deliverers, time_scale: float
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.deliverers = deliverers
        self.time_scale = time_scale
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()

    def publish(
        self, bus: BusKey, event: dict[str, Any], only: frozenset[str] | None = None
    ) -> None:
        """Send ``event`` to every target of every enabled rule on ``bus`` it matches (of the
        rules whose ARN is in ``only``, when given)."""
        for rule in self.catalog.matching(bus, event, only):
            self.fire(rule, event)

    def fire(self, rule: ActiveRule, event: dict[str, Any]) -> None:
        """Deliver ``event`` to each target of ``rule`` (safe to call from any thread)."""
        ingested = datetime.now(UTC)
        for target in rule.targets:
            work = partial(self._start, rule, target, event, ingested)
            if _on_loop(self._loop):
                work()
            else:
                self._loop.call_soon_threadsafe(work)

    def later(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work()`` as a task of the dispatcher's loop (safe to call from any thread);
        :meth:`settled` waits for it too."""
        start = partial(self._track, work)
        if _on_loop(self._loop):
            start()
        else:
            self._loop.call_soon_threadsafe(start)

    def _track(self, work: Callable[[], Awaitable[None]]) -> None:
        task = self._loop.create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Return once every delivery started so far has ended (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop deliveries still waiting or running (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(
        self, rule: ActiveRule, target: Target, event: dict[str, Any], ingested: datetime
    ) -> None:
        task = self._loop.create_task(self._deliver(rule, target, event, ingested))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, rule: ActiveRule, target: Target, event: dict[str, Any], ingested: datetime
    ) -> None:
        context = DeliveryContext(rule.arn, rule.name, event_time(ingested))
        try:
            text = target_input(target, event, context)
        except Exception as exc:
            await self._record(rule, target, event, "", 1, True, "InputError", str(exc))
            return
        delivery = TargetEvent(event, text, rule.arn)
        policy = target.retry_policy
        retries = DEFAULT_RETRY_ATTEMPTS
        max_age = DEFAULT_EVENT_AGE
        if policy is not None:
            if policy.maximum_retry_attempts is not None:
                retries = policy.maximum_retry_attempts
            if policy.maximum_event_age_in_seconds is not None:
                max_age = policy.maximum_event_age_in_seconds
        scale = self.time_scale
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            asked = 0.0
            try:
                await self.deliverers.deliver(rule.owner, target, delivery)
                return
            except TargetError as error:
                code, message, retryable = error.code, error.message, error.retryable
                asked = error.retry_after or 0.0
            except Exception as exc:
                log.exception("delivery to %s failed", target.arn)
                code, message, retryable = "InternalException", str(exc), True
            # A target's Retry-After is real time: never wait less, whatever the time scale.
            delay = max(backoff(attempt), asked * scale)
            age = (time.monotonic() - started) * scale
            final = not retryable or attempt > retries or age + delay > max_age
            await self._record(rule, target, event, text, attempt, final, code, message)
            if final:
                return
            await asyncio.sleep(delay / scale)

    async def _record(
        self,
        rule: ActiveRule,
        target: Target,
        event: dict[str, Any],
        text: str,
        attempt: int,
        final: bool,
        code: str,
        message: str,
    ) -> None:
        log.warning(
            "rule %s target %s: attempt %d failed (%s: %s)%s",
            rule.arn, target.id, attempt, code, message, "; giving up" if final else "",
        )
        failure = DeliveryFailure(
            time.time(), rule.arn, target.id, target.arn, str(event.get("id", "")), attempt,
            final, code, message, text,
        )
        try:
            await self.store.write(partial(records.record_failure, failure=failure))
        except Exception:
            log.exception("could not record a failed delivery of rule %s", rule.arn)


async def _logged(work: Callable[[], Awaitable[None]]) -> None:
    try:
        await work()
    except Exception:
        log.exception("background work of the dispatcher failed")


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
