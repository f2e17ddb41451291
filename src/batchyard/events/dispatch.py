"""Deliver events to the targets of the rules they match, retrying as EventBridge does.

Each (rule, target, event) delivery runs as its own task: the target's input is built, the
registered deliverer called, and a failure recorded in ``events_delivery_failures``. A
retryable failure is tried again after an exponential back-off with jitter until the
target's RetryPolicy runs out (MaximumRetryAttempts, default 185; MaximumEventAgeInSeconds,
default 86400); waits are divided by ``settings.time_scale``. Nothing a target does can
reach the caller: publishing only starts tasks.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from batchyard.events import records
from batchyard.events.buses import DEFAULT_BUS
from batchyard.events.catalog import ActiveRule, RuleCatalog
from batchyard.events.envelopes import event_time
from batchyard.events.targets import Delivery, TargetError, deliver
from batchyard.events.transform import DeliveryContext, target_input

if TYPE_CHECKING:
    from batchyard.runtime import Runtime

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
    """Routes events to matching rules and runs their deliveries."""

    def __init__(self, runtime: Runtime, catalog: RuleCatalog) -> None:
        self.runtime = runtime
        self.catalog = catalog
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()

    def publish(self, event: dict[str, Any], bus: str = DEFAULT_BUS) -> None:
        """Send ``event`` to every target of every enabled rule on ``bus`` it matches."""
        for rule in self.catalog.matching(bus, event):
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

    async def close(self) -> None:
        """Stop deliveries still waiting or running (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(
        self, rule: ActiveRule, target: dict[str, Any], event: dict[str, Any], ingested: datetime
    ) -> None:
        task = self._loop.create_task(self._deliver(rule, target, event, ingested))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, rule: ActiveRule, target: dict[str, Any], event: dict[str, Any], ingested: datetime
    ) -> None:
        context = DeliveryContext(rule.arn, rule.name, event_time(ingested))
        try:
            text = target_input(target, event, context)
        except Exception as exc:
            await self._record(rule, target, event, "", 1, True, "InputError", str(exc))
            return
        delivery = Delivery(target, text, event, rule.arn)
        policy = target.get("RetryPolicy") or {}
        retries = policy.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS)
        max_age = policy.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE)
        scale = self.runtime.settings.time_scale
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                await deliver(self.runtime, delivery)
                return
            except TargetError as error:
                code, message, retryable = error.code, error.message, error.retryable
            except Exception as exc:
                log.exception("delivery to %s failed", delivery.arn)
                code, message, retryable = "InternalException", str(exc), True
            delay = backoff(attempt)
            age = (time.monotonic() - started) * scale
            final = not retryable or attempt > retries or age + delay > max_age
            await self._record(rule, target, event, text, attempt, final, code, message)
            if final:
                return
            await asyncio.sleep(delay / scale)

    async def _record(
        self,
        rule: ActiveRule,
        target: dict[str, Any],
        event: dict[str, Any],
        text: str,
        attempt: int,
        final: bool,
        code: str,
        message: str,
    ) -> None:
        log.warning(
            "rule %s target %s: attempt %d failed (%s: %s)%s",
            rule.arn, target["Id"], attempt, code, message, "; giving up" if final else "",
        )
        failure = {
            "failed_at": time.time(),
            "rule_arn": rule.arn,
            "target_id": target["Id"],
            "target_arn": target["Arn"],
            "event_id": str(event.get("id", "")),
            "attempt": attempt,
            "final": final,
            "error_code": code,
            "error_message": message,
            "input": text,
        }
        try:
            await self.runtime.store.write(partial(records.record_failure, failure=failure))
        except Exception:
            log.exception("could not record a failed delivery of rule %s", rule.arn)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
