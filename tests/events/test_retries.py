"""Delivery retries: a retryable failure is tried again with back-off until the target's
RetryPolicy runs out; every failed attempt is recorded; a refusal is not retried."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

from batchyard.aws.caller import Caller
from batchyard.events import records
from batchyard.events.catalog import ActiveRule, RuleCatalog
from batchyard.events.dispatch import Dispatcher, backoff
from batchyard.events.model import Rule, Target
from batchyard.events.records import StoredRule
from batchyard.events.targets import Deliverers, TargetError, TargetEvent
from batchyard.store import Store

RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/flaky"
FLAKY_ARN = "arn:aws:test:us-east-1:123456789012:flaky/target"
REFUSING_ARN = "arn:aws:test:us-east-1:123456789012:refusing/target"
PATIENT_ARN = "arn:aws:test:us-east-1:123456789012:patient/target"

outcomes: list[str] = []
received: list[str] = []
attempts: list[float] = []


class _Flaky:
    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        outcome = outcomes.pop(0) if outcomes else "ok"
        if outcome == "fail":
            raise TargetError("Throttled", "try later", retryable=True)
        if outcome == "crash":
            raise RuntimeError("boom")
        received.append(event.input)


class _AsksToWait:
    """Refuses its first delivery asking for a wait of 0.3 s (an HTTP Retry-After)."""

    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise TargetError("Throttled", "later", retryable=True, retry_after=0.3)
        received.append(event.input)


class _Refusing:
    async def deliver(self, caller: Caller, target: Target, event: TargetEvent) -> None:
        raise TargetError("AccessDenied", "no")


def _deliverers() -> Deliverers:
    deliverers = Deliverers()
    deliverers.register("test:flaky", _Flaky())
    deliverers.register("test:refusing", _Refusing())
    deliverers.register("test:patient", _AsksToWait())
    return deliverers


def _run(tmp_path: Path, fire: Any) -> list[dict[str, Any]]:
    """Fire on a dispatcher of a fresh store at 10000x time; the failures recorded."""

    async def scenario() -> list[dict[str, Any]]:
        store = Store(f"sqlite:///{tmp_path / 'events.db'}")
        try:
            dispatcher = Dispatcher(store, RuleCatalog(), _deliverers(), time_scale=10000.0)
            fire(dispatcher)
            return await _settle(dispatcher)
        finally:
            store.close()

    received.clear()
    try:
        return asyncio.run(scenario())
    finally:
        outcomes.clear()


def _rule(*targets: dict[str, Any]) -> ActiveRule:
    rule = Rule("flaky", RULE_ARN, "default", "123456789012", event_pattern='{"source": ["x"]}')
    typed = tuple(Target.from_document(target) for target in targets)
    return ActiveRule.compile(StoredRule("123456789012", "us-east-1", rule, typed))


async def _settle(dispatcher: Dispatcher) -> list[dict[str, Any]]:
    await asyncio.wait_for(dispatcher.settled(), timeout=20)
    found = await dispatcher.store.read(lambda conn: records.failures(conn, RULE_ARN))
    return [dataclasses.asdict(failure) for failure in found]


def test_backoff_grows_and_is_capped() -> None:
    assert 0.5 <= backoff(1) <= 1.0
    assert 4.0 <= backoff(4) <= 8.0
    assert 150.0 <= backoff(40) <= 300.0


def test_retryable_failures_are_retried_then_delivered(tmp_path: Path) -> None:
    outcomes[:] = ["fail", "crash", "ok"]
    rule = _rule({"Id": "t", "Arn": FLAKY_ARN, "Input": '"hello"'})
    failures = _run(tmp_path, lambda dispatcher: dispatcher.fire(rule, {"id": "e1"}))
    assert received == ['"hello"']
    assert [(f["attempt"], f["error_code"], f["final"]) for f in failures] == [
        (1, "Throttled", False),
        (2, "InternalException", False),
    ]


def test_retry_policy_limits_attempts(tmp_path: Path) -> None:
    outcomes[:] = ["fail"] * 10
    rule = _rule({"Id": "t", "Arn": FLAKY_ARN, "RetryPolicy": {"MaximumRetryAttempts": 2}})
    failures = _run(tmp_path, lambda dispatcher: dispatcher.fire(rule, {"id": "e2"}))
    assert received == []
    assert [(f["attempt"], f["final"]) for f in failures] == [(1, False), (2, False), (3, True)]
    assert all(f["event_id"] == "e2" and f["target_id"] == "t" for f in failures)


def test_maximum_event_age_ends_retries(tmp_path: Path) -> None:
    outcomes[:] = ["fail"] * 50
    rule = _rule({"Id": "t", "Arn": FLAKY_ARN, "RetryPolicy": {"MaximumEventAgeInSeconds": 60}})
    failures = _run(tmp_path, lambda dispatcher: dispatcher.fire(rule, {"id": "e3"}))
    # back-off doubles from about 1 s, so at most the attempts after 0, ~1, ~3, ~7, ~15, ~31 s
    # fit in 60 s (time spent recording counts too, multiplied by the time scale)
    assert 2 <= len(failures) <= 7
    assert failures[-1]["final"] and not any(f["final"] for f in failures[:-1])


def test_refusals_are_not_retried(tmp_path: Path) -> None:
    rule = _rule({"Id": "t", "Arn": REFUSING_ARN})
    failures = _run(tmp_path, lambda dispatcher: dispatcher.fire(rule, {"id": "e4"}))
    assert [(f["attempt"], f["error_code"], f["final"]) for f in failures] == [
        (1, "AccessDenied", True)
    ]


def test_a_retry_waits_at_least_what_the_target_asked_for(tmp_path: Path) -> None:
    attempts.clear()
    rule = _rule({"Id": "t", "Arn": PATIENT_ARN, "Input": '"late"'})
    failures = _run(tmp_path, lambda dispatcher: dispatcher.fire(rule, {"id": "e5"}))
    assert received == ['"late"']
    assert [(f["attempt"], f["error_code"], f["final"]) for f in failures] == [
        (1, "Throttled", False)
    ]
    # at 10000x the back-off alone would be well under a millisecond
    assert attempts[1] - attempts[0] >= 0.3
