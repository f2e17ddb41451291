"""What an invocation returns and the log lines Lambda writes around it."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from batchyard.functions.worker import Outcome

TAIL_BYTES = 4096
MAX_RESPONSE_BYTES = 6 * 1024 * 1024


class InvocationType(StrEnum):
    """How Invoke runs a function: and waits for it, queued, or only checking access."""

    REQUEST_RESPONSE = "RequestResponse"
    EVENT = "Event"
    DRY_RUN = "DryRun"


@dataclass(frozen=True)
class InvocationResult:
    """The outcome of one invocation, as Lambda's Invoke reports it.

    ``status`` is 200 (RequestResponse), 202 (Event) or 204 (DryRun); ``function_error`` is
    ``"Unhandled"`` when ``payload`` holds an error document; ``log_tail`` is the last 4 KB of
    the invocation's log (what ``X-Amz-Log-Result`` carries, before base64).
    """

    status: int
    payload: bytes
    function_error: str | None
    log_tail: str
    request_id: str
    executed_version: str | None = "$LATEST"

    @property
    def log_result(self) -> str:
        """``log_tail`` base64-encoded for the ``X-Amz-Log-Result`` header."""
        return base64.b64encode(self.log_tail.encode()).decode()


def tail(log: str, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes of ``log``, never splitting a character."""
    data = log.encode()
    return data[-limit:].decode("utf-8", "ignore")


def _iso_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def timeout_error(request_id: str, seconds: float) -> dict[str, Any]:
    """Lambda's payload for an invocation that ran out of time."""
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                        f"{seconds:.2f} seconds",
    }


def timeout_line(request_id: str, seconds: float) -> str:
    """The log line Lambda writes when it stops a timed-out invocation."""
    return f"{_iso_now()} {request_id} Task timed out after {seconds:.2f} seconds"


def exit_error(request_id: str, reason: str) -> dict[str, Any]:
    """Lambda's payload for a runtime that died during the invocation."""
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {reason}",
    }


def oversized_error(size: int) -> dict[str, Any]:
    """Lambda's payload for a response above the synchronous limit."""
    return {
        "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed "
                        f"payload size ({MAX_RESPONSE_BYTES} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def init_start_line(runtime: str) -> str:
    """The first line a new execution environment logs."""
    return f"INIT_START Runtime Version: {runtime.replace('python', 'python:', 1)}"


def unavailable_error(reason: str) -> dict[str, Any]:
    """The payload for code that cannot be started (Lambda's name for an entry point the
    runtime cannot run)."""
    return {
        "errorMessage": f"The function's code cannot be started: {reason}",
        "errorType": "Runtime.InvalidEntrypoint",
    }


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(request_id: str, outcome: Outcome, memory_size: int,
                init_ms: float | None, status: str | None) -> str:
    """``REPORT RequestId: ...`` with Lambda's tab-separated fields."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {outcome.duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(outcome.duration_ms))} ms",
        f"Memory Size: {memory_size} MB",
        f"Max Memory Used: {outcome.max_memory_mb} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        fields.append(f"Status: {status}")
    return "\t".join(fields) + "\t"
