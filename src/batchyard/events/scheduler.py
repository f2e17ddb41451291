"""Fire schedule rules on time: one task sleeping until the next rule is due.

The task wakes when the earliest rule is due or when the catalog changes (a rule added,
changed, enabled, disabled or deleted); it never polls. Each rule keeps an anchor: the wall
time (AWS time) and the monotonic time at which its schedule was (re)started. The next
firing in AWS time is mapped to a monotonic deadline, divided by the time scale, so
a scaled ``rate(1 minute)`` fires every 60/scale seconds without drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from batchyard.events.catalog import ActiveRule, RuleCatalog, RuleKey
from batchyard.events.dispatch import Dispatcher
from batchyard.events.envelopes import scheduled_event

log = logging.getLogger(__name__)


@dataclass
class _Plan:
    expression: str | None
    anchor_wall: datetime
    anchor_mono: float
    next_wall: datetime | None

    def due(self, scale: float) -> float | None:
        if self.next_wall is None:
            return None
        return self.anchor_mono + (self.next_wall - self.anchor_wall).total_seconds() / scale


class ScheduleRunner:
    """Runs every enabled schedule rule of the catalog."""

    def __init__(self, catalog: RuleCatalog, dispatcher: Dispatcher, time_scale: float) -> None:
        self.time_scale = time_scale
        self.catalog = catalog
        self.dispatcher = dispatcher
        self._plans: dict[RuleKey, _Plan] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        catalog.on_change(self._wake.set)

    def start(self) -> None:
        """Start the scheduling task."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the scheduling task."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                timeout = self._pass()
            except Exception:
                # One bad pass must not stop every schedule; the next change retries.
                log.exception("schedule pass failed")
                timeout = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _pass(self) -> float | None:
        """Fire what is due; returns the seconds until the next rule is due (None: none is)."""
        scale = self.time_scale
        rules = {rule.key: rule for rule in self.catalog.scheduled()}
        self._plan(rules)
        now = time.monotonic()
        for key, plan in self._plans.items():
            due = plan.due(scale)
            if due is not None and due <= now:
                self._fire(rules[key], plan)
        deadlines = [d for plan in self._plans.values() if (d := plan.due(scale)) is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _plan(self, rules: dict[RuleKey, ActiveRule]) -> None:
        for key in set(self._plans) - set(rules):
            del self._plans[key]
        for key, rule in rules.items():
            expression = rule.rule.schedule_expression
            plan = self._plans.get(key)
            if plan is None or plan.expression != expression:
                assert rule.schedule is not None
                now = datetime.now(UTC)
                self._plans[key] = _Plan(
                    expression, now, time.monotonic(), rule.schedule.next_after(now)
                )

    def _fire(self, rule: ActiveRule, plan: _Plan) -> None:
        event = scheduled_event(
            rule.arn,
            account=rule.owner.account_id,
            region=rule.owner.region,
            time=datetime.now(UTC),
        )
        try:
            self.dispatcher.fire(rule, event)
        except Exception:
            log.exception("schedule rule %s could not fire", rule.arn)
        # Firings missed while the server could not run (a suspended laptop) are skipped, not
        # caught up in a burst, as EventBridge does not replay them either.
        scale = self.time_scale
        now = time.monotonic()
        while (due := plan.due(scale)) is not None and due <= now:
            assert rule.schedule is not None and plan.next_wall is not None
            plan.next_wall = rule.schedule.next_after(plan.next_wall)
