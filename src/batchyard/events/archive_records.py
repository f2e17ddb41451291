"""Archives, the events they keep, and replays on a store connection.

Like ``records``: every function takes a SQLAlchemy Connection and the caller the resources
belong to; errors are the EventBridge API's ``ServiceError``s. An archive's retention is
measured from when each event was archived: events older than ``RetentionDays`` are neither
counted nor replayed, and archiving more events into an archive deletes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.events.archives import ACTIVE, Archive, Replay, ReplayState
from batchyard.protocol.errors import ServiceError
from batchyard.store.tables.events import archived_events, archives, replays

DAY = 86400.0


def archive_not_found(name: str) -> ServiceError:
    """AWS's answer for an archive that does not exist."""
    return ServiceError("ResourceNotFoundException", f"Archive {name} does not exist.")


def replay_not_found(name: str) -> ServiceError:
    """AWS's answer for a replay that does not exist."""
    return ServiceError("ResourceNotFoundException", f"Replay {name} does not exist.")


@dataclass(frozen=True, slots=True)
class StoredArchive:
    """What matching needs of an archive: its row, owner, source bus and pattern."""

    seq: int
    account_id: str
    region: str
    arn: str
    source_arn: str
    event_pattern: str | None


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    """One event of an archive, in replay order by (``event_time``, ``seq``)."""

    seq: int
    event_time: float
    event: JsonObject


def _owned(table: sa.Table, owner: Caller, name: str) -> ColumnElement[bool]:
    return sa.and_(
        table.c.account_id == owner.account_id,
        table.c.region == owner.region,
        table.c.name == name,
    )


def _cutoff(retention_days: int, now: float) -> float | None:
    return now - retention_days * DAY if retention_days > 0 else None


def _counts(conn: Connection, seq: int, retention_days: int, now: float) -> tuple[int, int]:
    column = archived_events.c
    query = sa.select(
        sa.func.count(column.seq), sa.func.coalesce(sa.func.sum(column.size), 0)
    ).where(column.archive_seq == seq)
    cutoff = _cutoff(retention_days, now)
    if cutoff is not None:
        query = query.where(column.archived_at >= cutoff)
    count, size = conn.execute(query).one()
    return int(count), int(size)


def _archive(conn: Connection, seq: int, document: JsonObject, now: float) -> Archive:
    count, size = _counts(conn, seq, document.get("RetentionDays", 0), now)
    return Archive.from_document(document, count, size)


def create_archive(conn: Connection, owner: Caller, archive: Archive) -> StoredArchive:
    """Add an archive; ResourceAlreadyExistsException when the name is taken."""
    if conn.execute(
        sa.select(archives.c.seq).where(_owned(archives, owner, archive.archive_name))
    ).first():
        raise ServiceError(
            "ResourceAlreadyExistsException", f"Archive {archive.archive_name} already exists."
        )
    seq = conn.execute(
        archives.insert().values(
            account_id=owner.account_id,
            region=owner.region,
            name=archive.archive_name,
            arn=archive.archive_arn,
            source_arn=archive.event_source_arn,
            document=archive.document(),
        )
    ).inserted_primary_key
    assert seq is not None
    return StoredArchive(
        int(seq[0]), owner.account_id, owner.region, archive.archive_arn,
        archive.event_source_arn, archive.event_pattern,
    )


def describe_archive(conn: Connection, owner: Caller, name: str, now: float) -> Archive:
    """An archive with its counts; ResourceNotFoundException when there is none."""
    row = conn.execute(
        sa.select(archives.c.seq, archives.c.document).where(_owned(archives, owner, name))
    ).first()
    if row is None:
        raise archive_not_found(name)
    return _archive(conn, row.seq, row.document, now)


def update_archive(
    conn: Connection,
    owner: Caller,
    name: str,
    changes: JsonObject,
    now: float,
) -> tuple[Archive, StoredArchive]:
    """Change an archive's document members in ``changes``; the archive and what matching
    needs of it."""
    row = conn.execute(
        sa.select(archives.c.seq, archives.c.document).where(_owned(archives, owner, name))
    ).first()
    if row is None:
        raise archive_not_found(name)
    document = {**row.document, **changes}
    conn.execute(archives.update().where(archives.c.seq == row.seq).values(document=document))
    count, size = _counts(conn, row.seq, document.get("RetentionDays", 0), now)
    archive = Archive.from_document(document, count, size)
    return archive, StoredArchive(
        row.seq, owner.account_id, owner.region, archive.archive_arn,
        archive.event_source_arn, archive.event_pattern,
    )


def delete_archive(conn: Connection, owner: Caller, name: str) -> str:
    """Delete an archive and its events; its ARN. ResourceNotFoundException when missing."""
    row = conn.execute(
        sa.select(archives.c.seq, archives.c.arn).where(_owned(archives, owner, name))
    ).first()
    if row is None:
        raise archive_not_found(name)
    conn.execute(archived_events.delete().where(archived_events.c.archive_seq == row.seq))
    conn.execute(archives.delete().where(archives.c.seq == row.seq))
    return str(row.arn)


def list_archives(
    conn: Connection,
    owner: Caller,
    prefix: str | None,
    source_arn: str | None,
    state: str | None,
    after: str | None,
    limit: int,
    now: float,
) -> list[Archive]:
    """Up to ``limit`` archives in name order after the name ``after``, filtered."""
    query = sa.select(archives.c.seq, archives.c.document).where(
        archives.c.account_id == owner.account_id, archives.c.region == owner.region
    )
    if prefix:
        query = query.where(archives.c.name.startswith(prefix, autoescape=True))
    if source_arn:
        query = query.where(archives.c.source_arn == source_arn)
    if after is not None:
        query = query.where(archives.c.name > after)
    query = query.order_by(archives.c.name)
    if state is None:
        query = query.limit(limit)
    # The state lives in the document: filtering by it reads the archives past the page.
    rows = [
        row for row in conn.execute(query).all()
        if state is None or row.document.get("State") == state
    ][:limit]
    return [_archive(conn, row.seq, row.document, now) for row in rows]


def all_archives(conn: Connection) -> list[StoredArchive]:
    """Every archive (start-up loads them for matching)."""
    rows = conn.execute(
        sa.select(
            archives.c.seq, archives.c.account_id, archives.c.region, archives.c.arn,
            archives.c.source_arn, archives.c.document,
        )
    ).all()
    return [
        StoredArchive(
            row.seq, row.account_id, row.region, row.arn, row.source_arn,
            row.document.get("EventPattern"),
        )
        for row in rows
    ]


def archive_events(
    conn: Connection, entries: Iterable[tuple[int, float, JsonObject, int]], now: float
) -> None:
    """Keep each ``(archive seq, event time, event, size)``; drop the events the archives
    written to no longer retain."""
    rows = [
        {"archive_seq": seq, "event_time": at, "archived_at": now, "size": size, "event": event}
        for seq, at, event, size in entries
    ]
    if not rows:
        return
    present = {
        row.seq: row.document.get("RetentionDays", 0)
        for row in conn.execute(
            sa.select(archives.c.seq, archives.c.document).where(
                archives.c.seq.in_({row["archive_seq"] for row in rows})
            )
        ).all()
    }
    # An archive deleted since its events were matched takes nothing more.
    kept = [row for row in rows if row["archive_seq"] in present]
    if kept:
        conn.execute(archived_events.insert(), kept)
    for seq, retention in present.items():
        cutoff = _cutoff(retention, now)
        if cutoff is not None:
            conn.execute(
                archived_events.delete().where(
                    archived_events.c.archive_seq == seq, archived_events.c.archived_at < cutoff
                )
            )


def archive_by_arn(conn: Connection, owner: Caller, arn: str) -> tuple[int, Archive] | None:
    """The row number and archive of ``owner`` whose ARN is ``arn``, or None."""
    row = conn.execute(
        sa.select(archives.c.seq, archives.c.document).where(
            archives.c.arn == arn,
            archives.c.account_id == owner.account_id,
            archives.c.region == owner.region,
        )
    ).first()
    return (row.seq, Archive.from_document(row.document)) if row else None


def archived(
    conn: Connection,
    archive_seq: int,
    start: float,
    end: float,
    after: tuple[float, int] | None,
    limit: int,
    cutoff: float | None,
) -> list[ArchivedEvent]:
    """Up to ``limit`` events of an archive with a time in [``start``, ``end``], in time
    order, after the (time, seq) position ``after``."""
    column = archived_events.c
    query = sa.select(column.seq, column.event_time, column.event).where(
        column.archive_seq == archive_seq, column.event_time >= start, column.event_time <= end
    )
    if cutoff is not None:
        query = query.where(column.archived_at >= cutoff)
    if after is not None:
        at, seq = after
        query = query.where(
            sa.or_(column.event_time > at, sa.and_(column.event_time == at, column.seq > seq))
        )
    rows = conn.execute(query.order_by(column.event_time, column.seq).limit(limit)).all()
    return [ArchivedEvent(row.seq, row.event_time, row.event) for row in rows]


# -- replays -------------------------------------------------------------------------------
def create_replay(conn: Connection, owner: Caller, replay: Replay, quota: int) -> None:
    """Add a replay; ResourceAlreadyExistsException when the name is taken,
    LimitExceededException when ``quota`` replays of the caller are active."""
    if conn.execute(
        sa.select(replays.c.seq).where(_owned(replays, owner, replay.replay_name))
    ).first():
        raise ServiceError(
            "ResourceAlreadyExistsException", f"Replay {replay.replay_name} already exists."
        )
    active = conn.execute(
        sa.select(sa.func.count(replays.c.seq)).where(
            replays.c.account_id == owner.account_id,
            replays.c.region == owner.region,
            replays.c.state.in_([str(state) for state in ACTIVE]),
        )
    ).scalar_one()
    if active >= quota:
        raise ServiceError(
            "LimitExceededException", "The requested resource exceeds the maximum number allowed."
        )
    conn.execute(
        replays.insert().values(
            account_id=owner.account_id,
            region=owner.region,
            name=replay.replay_name,
            arn=replay.replay_arn,
            archive_arn=replay.event_source_arn,
            state=str(replay.state),
            document=replay.document(),
        )
    )


def get_replay(conn: Connection, owner: Caller, name: str) -> Replay:
    """A replay of ``owner``; ResourceNotFoundException when there is none."""
    row = conn.execute(sa.select(replays.c.document).where(_owned(replays, owner, name))).first()
    if row is None:
        raise replay_not_found(name)
    return Replay.from_document(row.document)


def save_replay(
    conn: Connection, owner: Caller, replay: Replay, cursor: tuple[float, int] | None = None
) -> None:
    """Store a replay's new state (and where it has got to, when ``cursor`` is given)."""
    values: JsonObject = {"state": str(replay.state), "document": replay.document()}
    if cursor is not None:
        values.update(cursor_time=cursor[0], cursor_seq=cursor[1])
    conn.execute(
        replays.update().where(_owned(replays, owner, replay.replay_name)).values(values)
    )


def replay_cursor(conn: Connection, owner: Caller, name: str) -> tuple[float, int] | None:
    """Where a replay resumes: the (time, seq) of the last event it put, or None."""
    row = conn.execute(
        sa.select(replays.c.cursor_time, replays.c.cursor_seq).where(_owned(replays, owner, name))
    ).first()
    if row is None or row.cursor_time is None:
        return None
    return float(row.cursor_time), int(row.cursor_seq)


def list_replays(
    conn: Connection,
    owner: Caller,
    prefix: str | None,
    state: str | None,
    archive_arn: str | None,
    after: str | None,
    limit: int,
) -> list[Replay]:
    """Up to ``limit`` replays in name order after the name ``after``, filtered."""
    query = sa.select(replays.c.document).where(
        replays.c.account_id == owner.account_id, replays.c.region == owner.region
    )
    if prefix:
        query = query.where(replays.c.name.startswith(prefix, autoescape=True))
    if state:
        query = query.where(replays.c.state == state)
    if archive_arn:
        query = query.where(replays.c.archive_arn == archive_arn)
    if after is not None:
        query = query.where(replays.c.name > after)
    rows = conn.execute(query.order_by(replays.c.name).limit(limit)).all()
    return [Replay.from_document(row.document) for row in rows]


def unfinished_replays(conn: Connection) -> list[tuple[Caller, Replay]]:
    """Every replay a previous process left STARTING, RUNNING or CANCELLING."""
    rows = conn.execute(
        sa.select(replays.c.account_id, replays.c.region, replays.c.document)
        .where(replays.c.state.in_([str(state) for state in ACTIVE]))
        .order_by(replays.c.seq)
    ).all()
    return [
        (Caller(row.account_id, row.region), Replay.from_document(row.document)) for row in rows
    ]


def replay_state(conn: Connection, owner: Caller, name: str) -> ReplayState | None:
    """The stored state of a replay (None once it is gone)."""
    row = conn.execute(sa.select(replays.c.state).where(_owned(replays, owner, name))).first()
    return ReplayState(row.state) if row else None

