"""One attempt from STARTING to its end: start it, stream its output, time it out or stop
it, and commit how it ended.

The attempt's wait is the only thing awaited; the timeout is a deadline on that wait, and a
TerminateJob is a signal sent to it, so nothing here polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection

from batchyard.aws.caller import Caller, owner_of
from batchyard.batch.jobs import events, records, tag_propagation, transitions
from batchyard.batch.jobs.launch import attempt_spec, log_target
from batchyard.batch.jobs.model import ESSENTIAL_EXITED, FAILED_TO_START, TIMED_OUT
from batchyard.batch.jobs.records import JobRecord
from batchyard.batch.jobs.transitions import AttemptEnd
from batchyard.bus import Bus
from batchyard.compute.provider import ComputeProvider, LaunchError, RunningAttempt
from batchyard.logs import Logs
from batchyard.secrets.local_file import LocalSecrets, SecretUnavailable
from batchyard.store import Store
from batchyard.store.migrate import DEFAULT_ACCOUNT, DEFAULT_REGION

log = logging.getLogger(__name__)

# AWS sends SIGKILL this long after SIGTERM when it stops a container.
STOP_GRACE_SECONDS = 30.0


def now_ms() -> int:
    """Epoch milliseconds."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class AttemptServices:
    """What every attempt needs from the server."""

    store: Store
    bus: Bus
    provider: ComputeProvider
    sink: Logs
    time_scale: float
    task_arn_prefix: str
    secrets: LocalSecrets


# Called with the job's record after its end is committed.
EndCallback = Callable[[JobRecord], None]


class AttemptRun:
    """Drives one attempt of one job."""

    def __init__(
        self,
        services: AttemptServices,
        document: dict[str, Any],
        attempt_id: str,
        queue_name: str,
        environment_name: str,
        on_end: EndCallback,
    ) -> None:
        self._services = services
        self._document = document
        self._attempt_id = attempt_id
        self._queue_name = queue_name
        self._environment_name = environment_name
        self._on_end = on_end
        self._running: RunningAttempt | None = None
        self._stopped_by: str | None = None
        self._stopping: asyncio.Task[None] | None = None
        self.job_id: str = document["jobId"]
        # The job's output belongs to the job's account and region.
        self._owner = owner_of(document["jobArn"]) or Caller(DEFAULT_ACCOUNT, DEFAULT_REGION)

    def terminate(self, reason: str) -> None:
        """Stop the attempt for TerminateJob; the job then fails with ``reason``."""
        if self._stopped_by is None:
            self._stopped_by = reason
        if self._running is not None and self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(
                self._running.stop(self._grace())
            )

    def kill_now(self) -> None:
        """Server shutdown: kill at once; the job is left to start-up recovery."""
        if self._running is not None:
            self._running.kill()

    def _grace(self) -> float:
        return STOP_GRACE_SECONDS / self._services.time_scale

    async def run(self) -> None:
        """Run the attempt to its committed end."""
        services = self._services
        if self._document.get("propagateTags"):
            refused = await services.store.read(partial(tag_propagation.refusal, self._document))
            if refused is not None:
                await self._refuse(refused)
                return
        spec = attempt_spec(
            self._document, self._attempt_id, self._queue_name, self._environment_name
        )
        group, stream = log_target(self._document, self._attempt_id)
        try:
            secrets = (self._document.get("container") or {}).get("secrets")
            if secrets:
                # Resolved at each start: a changed value reaches the next attempt only.
                spec.environment.update(await self._secret_environment(secrets))
            running = await services.provider.start(
                spec, partial(self._line, services.sink, self._owner, group, stream)
            )
        except LaunchError as error:
            now = now_ms()
            await self._finish(AttemptEnd(None, error.reason, FAILED_TO_START, now, started_at=now))
            return
        self._running = running
        started = now_ms()
        task_arn = f"{services.task_arn_prefix}{self._attempt_id}"
        snapshots = await services.store.write(
            partial(
                _mark_running, self.job_id, started, (group, stream), task_arn, running.identity
            )
        )
        events.publish(services.bus, snapshots)
        if self._stopped_by is not None and self._stopping is None:
            self.terminate(self._stopped_by)
        waiting = asyncio.ensure_future(running.wait())
        timed_out = False
        limit = (self._document.get("timeout") or {}).get("attemptDurationSeconds")
        if limit:
            done, _ = await asyncio.wait({waiting}, timeout=limit / services.time_scale)
            if not done and self._stopped_by is None:
                timed_out = True
                await running.stop(self._grace())
        status = await waiting
        if self._stopping is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._stopping
        await services.sink.drain(self._owner, group, stream)
        if self._stopped_by is not None:
            status_reason = self._stopped_by
        elif timed_out:
            status_reason = TIMED_OUT
        elif status.out_of_memory and status.reason:
            status_reason = status.reason
        else:
            status_reason = ESSENTIAL_EXITED
        await self._finish(
            AttemptEnd(
                exit_code=status.exit_code,
                reason=status.reason,
                status_reason=status_reason,
                stopped_at=now_ms(),
                started_at=started,
                stopped_by=self._stopped_by,
                final=timed_out,
            )
        )

    async def _secret_environment(self, secrets: list[dict[str, Any]]) -> dict[str, str]:
        try:
            return await asyncio.to_thread(self._services.secrets.environment, secrets)
        except SecretUnavailable as error:
            raise LaunchError(
                f"ResourceInitializationError: unable to retrieve secrets: {error}"
            ) from None

    @staticmethod
    def _line(
        sink: Logs, owner: Caller, group: str, stream: str, timestamp: int, _name: str,
        text: str,
    ) -> None:
        sink.line(owner, group, stream, timestamp, text)

    async def _refuse(self, reason: str) -> None:
        """The task cannot be created: the job fails without an attempt."""
        record, snapshots = await self._services.store.write(
            partial(_mark_refused, self.job_id, reason)
        )
        events.publish(self._services.bus, snapshots)
        self._on_end(record)

    async def _finish(self, end: AttemptEnd) -> None:
        record, snapshots = await self._services.store.write(
            partial(_mark_finished, self.job_id, end)
        )
        events.publish(self._services.bus, snapshots)
        self._on_end(record)


def _mark_running(
    job_id: str,
    started: int,
    log: tuple[str, str],
    task_arn: str,
    identity: dict[str, Any],
    conn: Connection,
) -> list[dict[str, Any]]:
    record = records.load(conn, job_id)
    assert record is not None, job_id
    group, stream = log
    snapshots = transitions.run(record, started, stream, task_arn, identity)
    records.save(conn, record)
    # As with the awslogs driver, the stream exists from the start, output or not.
    Logs.open_stream(conn, owner_of(record.document["jobArn"]) or Caller(DEFAULT_ACCOUNT,
                     DEFAULT_REGION), group, stream, started)
    return snapshots


def _mark_refused(
    job_id: str, reason: str, conn: Connection
) -> tuple[JobRecord, list[dict[str, Any]]]:
    record = records.load(conn, job_id)
    assert record is not None, job_id
    snapshots = transitions.fail(record, reason, now_ms())
    records.save(conn, record)
    return record, snapshots


def _mark_finished(
    job_id: str, end: AttemptEnd, conn: Connection
) -> tuple[JobRecord, list[dict[str, Any]]]:
    record = records.load(conn, job_id)
    assert record is not None, job_id
    snapshots = transitions.finish(record, end)
    records.save(conn, record)
    return record, snapshots
