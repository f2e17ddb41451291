"""Execution rows and history events in the store, and how the API shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from batchyard.protocol.errors import ServiceError
from batchyard.store.tables.states import executions, history

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"
PENDING_REDRIVE = "PENDING_REDRIVE"
TERMINAL = frozenset({SUCCEEDED, FAILED, TIMED_OUT, ABORTED})
DEFAULT_LOGGING = {"level": "OFF", "includeExecutionData": False}


@dataclass
class HistoryEvent:
    """One history event: ``details`` maps the single ``*EventDetails`` member to its value."""

    id: int
    previous_event_id: int
    type: str
    timestamp: float
    details: dict[str, Any] = field(default_factory=dict)

    def wire(self, include_data: bool = True) -> dict[str, Any]:
        """The event as GetExecutionHistory returns it."""
        out: dict[str, Any] = {
            "timestamp": self.timestamp, "type": self.type, "id": self.id,
            "previousEventId": self.previous_event_id,
        }
        for key, value in self.details.items():
            if not include_data and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k not in ("input", "output")}
            out[key] = value
        return out


@dataclass
class Execution:
    """An execution as stored (Standard) or held in memory (Express)."""

    arn: str
    machine_arn: str
    name: str
    status: str
    started: float
    input: str
    source: dict[str, Any]
    stopped: float | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    checkpoint: dict[str, Any] | None = None
    last_event_id: int = 0
    redrive_count: int = 0
    redrive_date: float | None = None

    @property
    def is_express(self) -> bool:
        return self.source.get("type") == "EXPRESS"

    def describe(self) -> dict[str, Any]:
        """DescribeExecution's answer."""
        out: dict[str, Any] = {
            "executionArn": self.arn, "stateMachineArn": self.machine_arn, "name": self.name,
            "status": self.status, "startDate": self.started, "input": self.input,
            "inputDetails": {"included": True},
            "redriveCount": self.redrive_count,
        }
        for key, value in (
            ("stopDate", self.stopped), ("error", self.error), ("cause", self.cause),
            ("stateMachineVersionArn", self.source.get("versionArn")),
            ("stateMachineAliasArn", self.source.get("aliasArn")),
            ("traceHeader", self.source.get("traceHeader")),
            ("redriveDate", self.redrive_date),
        ):
            if value is not None:
                out[key] = value
        if self.status == SUCCEEDED:
            out["output"] = self.output
            out["outputDetails"] = {"included": True}
        if not self.is_express:
            redrivable, reason = self.redrivable()
            out["redriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
            if reason:
                out["redriveStatusReason"] = reason
        return out

    def redrivable(self) -> tuple[bool, str | None]:
        """Whether RedriveExecution may restart this execution, and AWS's reason if not."""
        if self.status == SUCCEEDED:
            return False, "Execution is SUCCEEDED and cannot be redriven"
        if self.status == RUNNING:
            return False, "Execution is RUNNING and cannot be redriven"
        if (self.checkpoint or {}).get("redrive") is None:
            return False, "Execution cannot be redriven"
        return True, None

    def status_change(self) -> dict[str, Any]:
        """What the bus announces when the execution starts or stops (EventBridge's
        "Step Functions Execution Status Change" detail)."""
        return {
            "executionArn": self.arn, "stateMachineArn": self.machine_arn, "name": self.name,
            "status": self.status, "startDate": self.started, "stopDate": self.stopped,
            "input": self.input, "output": self.output, "error": self.error,
            "cause": self.cause,
        }

    def sync_result(self) -> dict[str, Any]:
        """StartSyncExecution's answer for a finished Express execution."""
        out: dict[str, Any] = {
            "executionArn": self.arn, "stateMachineArn": self.machine_arn, "name": self.name,
            "startDate": self.started, "stopDate": self.stopped, "status": self.status,
            "input": self.input, "inputDetails": {"included": True},
            "billingDetails": {
                "billedMemoryUsedInMB": 64,
                "billedDurationInMilliseconds": max(
                    100, int(((self.stopped or self.started) - self.started) * 1000)
                ),
            },
        }
        if self.status == SUCCEEDED:
            out["output"] = self.output
            out["outputDetails"] = {"included": True}
        for key, value in (
            ("error", self.error), ("cause", self.cause),
            ("traceHeader", self.source.get("traceHeader")),
        ):
            if value is not None:
                out[key] = value
        return out

    def machine_description(self) -> dict[str, Any]:
        """DescribeStateMachineForExecution: the machine as this execution started it."""
        source = self.source
        out: dict[str, Any] = {
            "stateMachineArn": self.machine_arn, "name": source["machineName"],
            "definition": source["definition"], "roleArn": source["roleArn"],
            "updateDate": source["updated"], "revisionId": source["revisionId"],
            "loggingConfiguration": source.get("logging") or DEFAULT_LOGGING,
            "tracingConfiguration": source.get("tracing") or {"enabled": False},
        }
        return out

    def list_item(self) -> dict[str, Any]:
        """A ListExecutions item."""
        out: dict[str, Any] = {
            "executionArn": self.arn, "stateMachineArn": self.machine_arn, "name": self.name,
            "status": self.status, "startDate": self.started, "redriveCount": self.redrive_count,
        }
        for key, value in (
            ("stopDate", self.stopped),
            ("stateMachineVersionArn", self.source.get("versionArn")),
            ("stateMachineAliasArn", self.source.get("aliasArn")),
            ("redriveDate", self.redrive_date),
        ):
            if value is not None:
                out[key] = value
        return out


def does_not_exist(arn: str) -> ServiceError:
    """AWS's ExecutionDoesNotExist."""
    return ServiceError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")


def _execution(row: Any) -> Execution:
    return Execution(
        arn=row.arn, machine_arn=row.machine_arn, name=row.name, status=row.status,
        started=row.started, input=row.input, source=dict(row.source), stopped=row.stopped,
        output=row.output, error=row.error, cause=row.cause, checkpoint=row.checkpoint,
        last_event_id=row.last_event_id, redrive_count=row.redrive_count,
        redrive_date=row.redrive_date,
    )


def load(conn: Connection, arn: str) -> Execution | None:
    """The stored execution ``arn``, or None."""
    row = conn.execute(sa.select(executions).where(executions.c.arn == arn)).first()
    return _execution(row) if row is not None else None


def insert(conn: Connection, execution: Execution) -> None:
    """Store a new execution row."""
    conn.execute(
        sa.insert(executions).values(
            arn=execution.arn, machine_arn=execution.machine_arn, name=execution.name,
            status=execution.status, started=execution.started, stopped=execution.stopped,
            input=execution.input, output=execution.output, error=execution.error,
            cause=execution.cause, source=execution.source, checkpoint=execution.checkpoint,
            last_event_id=execution.last_event_id, redrive_count=execution.redrive_count,
            redrive_date=execution.redrive_date,
        )
    )


def save(conn: Connection, execution: Execution) -> None:
    """Write back an execution's mutable fields."""
    conn.execute(
        sa.update(executions).where(executions.c.arn == execution.arn).values(
            status=execution.status, stopped=execution.stopped, output=execution.output,
            error=execution.error, cause=execution.cause, checkpoint=execution.checkpoint,
            last_event_id=execution.last_event_id, redrive_count=execution.redrive_count,
            redrive_date=execution.redrive_date,
        )
    )


def append_events(conn: Connection, arn: str, events: list[HistoryEvent]) -> None:
    """Persist new history events of execution ``arn``."""
    if events:
        conn.execute(
            sa.insert(history),
            [
                {
                    "execution_arn": arn, "event_id": e.id, "timestamp": e.timestamp,
                    "type": e.type, "previous_event_id": e.previous_event_id,
                    "details": e.details,
                }
                for e in events
            ],
        )


def truncate_events(conn: Connection, arn: str, after: int) -> None:
    """Drop events past ``after``: they happened after the last checkpoint and will recur."""
    conn.execute(
        sa.delete(history).where(history.c.execution_arn == arn, history.c.event_id > after)
    )


def load_events(conn: Connection, arn: str) -> list[HistoryEvent]:
    """Every stored event of execution ``arn`` in id order."""
    rows = conn.execute(
        sa.select(history).where(history.c.execution_arn == arn).order_by(history.c.event_id)
    )
    return [
        HistoryEvent(r.event_id, r.previous_event_id, r.type, r.timestamp, dict(r.details or {}))
        for r in rows
    ]


def list_for(
    conn: Connection, machine_arn: str, status: str | None, redrive_filter: str | None
) -> list[Execution]:
    """The executions of a state machine, newest first, filtered like ListExecutions."""
    query = sa.select(executions).where(executions.c.machine_arn == machine_arn)
    if status is not None and status != PENDING_REDRIVE:
        query = query.where(executions.c.status == status)
    query = query.order_by(executions.c.started.desc(), executions.c.arn)
    items = [_execution(r) for r in conn.execute(query)]
    if status == PENDING_REDRIVE:
        return []
    if redrive_filter == "REDRIVEN":
        items = [e for e in items if e.redrive_count > 0]
    elif redrive_filter == "NOT_REDRIVEN":
        items = [e for e in items if e.redrive_count == 0]
    return items


def running(conn: Connection) -> list[Execution]:
    """Standard executions that were running when the server last stopped."""
    rows = conn.execute(sa.select(executions).where(executions.c.status == RUNNING))
    return [_execution(r) for r in rows]


def save_progress(
    conn: Connection, arn: str, last_event_id: int, checkpoint: dict[str, Any] | None
) -> None:
    """Record how far a running execution got, and its newest checkpoint if there is one."""
    values: dict[str, Any] = {"last_event_id": last_event_id}
    if checkpoint is not None:
        values["checkpoint"] = checkpoint
    conn.execute(sa.update(executions).where(executions.c.arn == arn).values(**values))
