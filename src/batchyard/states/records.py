"""Execution rows and history events in the store.

An execution row keeps what started it (its source) and its checkpoint as JSON documents;
:func:`_execution` and :func:`_row` are the one place they turn into the typed entity and
back. Statements used on every transition are built once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from batchyard.aws.documents import JsonObject
from batchyard.states.arns import parse_arn
from batchyard.states.model import (
    Checkpoint,
    Execution,
    ExecutionSource,
    ExecutionStatus,
    HistoryEvent,
    MachineType,
)
from batchyard.store.tables.states import executions, history

_by_arn = executions.c.arn == sa.bindparam("key")
_SELECT = sa.select(executions).where(_by_arn)
_SAVE = sa.update(executions).where(_by_arn)
_INSERT_EVENTS = sa.insert(history)


def source_document(source: ExecutionSource) -> JsonObject:
    """An execution's source as stored."""
    return {
        "type": str(source.type), "definition": source.definition, "roleArn": source.role_arn,
        "machineName": source.machine_name, "revisionId": source.revision_id,
        "updated": source.updated, "versionArn": source.version_arn,
        "aliasArn": source.alias_arn, "traceHeader": source.trace_header,
        "logging": source.logging, "tracing": source.tracing, "salt": source.salt,
    }


def _source(document: JsonObject) -> ExecutionSource:
    return ExecutionSource(
        type=MachineType(document.get("type", MachineType.STANDARD)),
        definition=document["definition"], role_arn=document["roleArn"],
        machine_name=document["machineName"], revision_id=document.get("revisionId", ""),
        updated=document.get("updated", 0.0), salt=document.get("salt", ""),
        version_arn=document.get("versionArn"), alias_arn=document.get("aliasArn"),
        trace_header=document.get("traceHeader"), logging=document.get("logging"),
        tracing=document.get("tracing"),
    )


def checkpoint_document(checkpoint: Checkpoint) -> JsonObject:
    """A checkpoint as stored."""
    return {"resume": checkpoint.resume, "redrive": checkpoint.redrive}


def _checkpoint(document: JsonObject | None) -> Checkpoint:
    document = document or {}
    return Checkpoint(document.get("resume"), document.get("redrive"))


def _execution(row: Row[Any]) -> Execution:
    return Execution(
        arn=row.arn, machine_arn=row.machine_arn, name=row.name,
        status=ExecutionStatus(row.status), started=row.started, input=row.input,
        source=_source(row.source), stopped=row.stopped, output=row.output, error=row.error,
        cause=row.cause, checkpoint=_checkpoint(row.checkpoint),
        last_event_id=row.last_event_id, redrive_count=row.redrive_count,
        redrive_date=row.redrive_date,
    )


def _changes(execution: Execution) -> JsonObject:
    return {
        "status": str(execution.status), "stopped": execution.stopped,
        "output": execution.output, "error": execution.error, "cause": execution.cause,
        "checkpoint": checkpoint_document(execution.checkpoint),
        "last_event_id": execution.last_event_id, "redrive_count": execution.redrive_count,
        "redrive_date": execution.redrive_date,
    }


def load(conn: Connection, arn: str) -> Execution | None:
    """The stored execution ``arn``, or None."""
    row = conn.execute(_SELECT, {"key": arn}).first()
    return _execution(row) if row is not None else None


def insert(conn: Connection, execution: Execution) -> None:
    """Store a new execution row, in the account and region of its ARN."""
    scope = parse_arn(execution.arn, "execution", "express")
    conn.execute(
        sa.insert(executions).values(
            arn=execution.arn, account_id=scope.account, region=scope.region,
            machine_arn=execution.machine_arn, name=execution.name, started=execution.started,
            input=execution.input, source=source_document(execution.source),
            **_changes(execution),
        )
    )


def save(conn: Connection, execution: Execution) -> None:
    """Write back an execution's mutable fields."""
    conn.execute(_SAVE, {"key": execution.arn, **_changes(execution)})


def save_progress(
    conn: Connection, arn: str, last_event_id: int, checkpoint: Checkpoint | None
) -> None:
    """Record how far a running execution got, and its newest checkpoint if there is one."""
    values: JsonObject = {"last_event_id": last_event_id}
    if checkpoint is not None:
        values["checkpoint"] = checkpoint_document(checkpoint)
    conn.execute(_SAVE, {"key": arn, **values})


def append_events(conn: Connection, arn: str, events: list[HistoryEvent]) -> None:
    """Persist new history events of execution ``arn``."""
    if events:
        conn.execute(
            _INSERT_EVENTS,
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
    conn: Connection, machine_arn: str, status: ExecutionStatus | None,
    redrive_filter: str | None,
) -> list[Execution]:
    """The executions of a state machine, newest first, filtered like ListExecutions."""
    if status == ExecutionStatus.PENDING_REDRIVE:
        return []
    query = sa.select(executions).where(executions.c.machine_arn == machine_arn)
    if status is not None:
        query = query.where(executions.c.status == str(status))
    query = query.order_by(executions.c.started.desc(), executions.c.arn)
    items = [_execution(r) for r in conn.execute(query)]
    if redrive_filter == "REDRIVEN":
        items = [e for e in items if e.redrive_count > 0]
    elif redrive_filter == "NOT_REDRIVEN":
        items = [e for e in items if e.redrive_count == 0]
    return items


def running(conn: Connection) -> list[Execution]:
    """Standard executions that were running when the server last stopped."""
    rows = conn.execute(
        sa.select(executions).where(executions.c.status == str(ExecutionStatus.RUNNING))
    )
    return [_execution(r) for r in rows]
