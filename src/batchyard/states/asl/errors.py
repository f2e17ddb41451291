"""Errors of the ASL layer: definition rejection, run-time failures, and which errors an
``ErrorEquals`` list covers.

Run-time failures carry an ASL error name and cause, exactly the pair that ends up in
``ExecutionFailed`` events and in Catch error outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Predefined error names of the Amazon States Language.
STATES_ALL = "States.ALL"
STATES_RUNTIME = "States.Runtime"
STATES_TASK_FAILED = "States.TaskFailed"
STATES_TIMEOUT = "States.Timeout"
STATES_HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
STATES_DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
STATES_QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
STATES_INTRINSIC_FAILURE = "States.IntrinsicFailure"
STATES_NO_CHOICE_MATCHED = "States.NoChoiceMatched"
STATES_PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
STATES_RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
STATES_BRANCH_FAILED = "States.BranchFailed"
STATES_PERMISSIONS = "States.Permissions"
STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
STATES_ITEM_READER_FAILED = "States.ItemReaderFailed"
STATES_RESULT_WRITER_FAILED = "States.ResultWriterFailed"

PREDEFINED_ERRORS = frozenset(
    {
        STATES_ALL,
        STATES_RUNTIME,
        STATES_TASK_FAILED,
        STATES_TIMEOUT,
        STATES_HEARTBEAT_TIMEOUT,
        STATES_DATA_LIMIT_EXCEEDED,
        STATES_QUERY_EVALUATION_ERROR,
        STATES_INTRINSIC_FAILURE,
        STATES_NO_CHOICE_MATCHED,
        STATES_PARAMETER_PATH_FAILURE,
        STATES_RESULT_PATH_MATCH_FAILURE,
        STATES_BRANCH_FAILED,
        STATES_PERMISSIONS,
        STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD,
        STATES_ITEM_READER_FAILED,
        STATES_RESULT_WRITER_FAILED,
    }
)

# Errors that States.ALL does not catch or retry (the ASL specification says so).
NOT_MATCHED_BY_ALL = frozenset({STATES_RUNTIME, STATES_DATA_LIMIT_EXCEEDED})


def error_matches(
    error_equals: Sequence[str],
    error: str | None,
    wildcards: bool | None = None,
    aliases: Sequence[str] = (),
) -> bool:
    """Whether an ErrorEquals list covers ``error``.

    States.ALL covers everything but the terminal errors; States.TaskFailed covers every
    error except States.Timeout (the ASL specification's wildcard rules). ``wildcards``
    True lets them cover a terminal error name too (a task whose result is too large).
    ``aliases`` are further names the error answers to when named exactly.
    """
    name = error or ""
    wild = name not in NOT_MATCHED_BY_ALL if wildcards is None else wildcards
    for pattern in error_equals:
        if pattern == name or pattern in aliases:
            return True
        if pattern == STATES_ALL and wild:
            return True
        if pattern == STATES_TASK_FAILED and wild and name != STATES_TIMEOUT:
            return True
    return False


def is_terminal(error: str | None) -> bool:
    """States.Runtime can be neither retried nor caught: the execution fails."""
    return error == STATES_RUNTIME


class InvalidDefinitionError(ValueError):
    """The definition was rejected at create time; ``message`` is AWS's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FailureError(Exception):
    """A state failed with an ASL error name and an optional cause.

    ``error``/``cause`` may be None: a Fail state without Error/Cause fails with neither, and
    AWS then reports neither in the history.
    """

    # Further error names a retrier or catcher may name to take this failure.
    aliases: tuple[str, ...] = ()

    def __init__(self, error: str | None, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        # What the interpreter notes while the failure travels up through states and frames:
        # the cursor of the frame it left, the *StateFailed event (type, previous event id)
        # to emit once no retrier takes it, and whether the cause has its state's prefix and
        # EvaluationFailed was emitted for it.
        self.frame_cursor: int | None = None
        # The key of the frame the failure last left (the branch or iteration that failed, as
        # its Parallel or Map sees it).
        self.frame_key: str | None = None
        self.pending_event: tuple[str, int | None] | None = None
        self.prefixed = False
        self.reported = False
        # Where a redrive of the execution this failure ends starts over (see
        # Interpreter.redrive_point), taken where the failure left its first state.
        self.redrive_point: dict[str, Any] | None = None

    def error_output(self) -> dict[str, str]:
        """The JSON object Catch hands on as the state's error output."""
        out: dict[str, str] = {}
        if self.error is not None:
            out["Error"] = self.error
        if self.cause is not None:
            out["Cause"] = self.cause
        return out


class TaskFailure(FailureError):
    """Raised by a :class:`TaskInvoker` when the task itself failed."""

    # Which errors States.ALL and States.TaskFailed cover (None: the usual rule).
    wildcards: bool | None = None


class HeartbeatTimedOut(TaskFailure):
    """The task sent no heartbeat for its HeartbeatSeconds.

    AWS records States.Timeout for it (TaskTimedOut, ActivityTimedOut, ExecutionFailed), but
    a retrier or catcher naming States.HeartbeatTimeout takes it too: the developer guide
    has that name only available inside Retry and Catch.
    """

    aliases = (STATES_HEARTBEAT_TIMEOUT,)

    def __init__(self) -> None:
        super().__init__(STATES_TIMEOUT, None)


class TaskResultTooLarge(TaskFailure):
    """The task answered with a result over the payload quota. AWS fails the task with
    States.DataLimitExceeded naming the resource (``who``), and, unlike a state's own
    output over the quota, States.ALL catches and retries it."""

    wildcards = True

    def __init__(self, who: str) -> None:
        super().__init__(
            STATES_DATA_LIMIT_EXCEEDED,
            f"The state/task '{who}' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        )


class RuntimeFailure(FailureError):
    """``States.Runtime`` for a state: its cause gets AWS's standard prefix when raised.

    The interpreter adds "An error occurred while executing the state ..." when it knows the
    state's name and entered-event id, so code deep inside paths/intrinsics need not.
    """

    def __init__(self, message: str, error: str = STATES_RUNTIME) -> None:
        super().__init__(error, message)
        self.message = message


class QueryEvaluationError(RuntimeFailure):
    """``States.QueryEvaluationError``: a JSONata expression or typed field failed.

    ``location`` is the field AWS names in the EvaluationFailed event (e.g. ``Output/result``).
    """

    def __init__(
        self, message: str, location: str | None = None, after_entry: bool = False
    ) -> None:
        super().__init__(message, STATES_QUERY_EVALUATION_ERROR)
        self.location = location
        # AWS links the EvaluationFailed of a value checked while the state runs (a Wait's
        # timestamp) to the state's entered event, and of an expression to the event before it.
        self.after_entry = after_entry


class IntrinsicFailure(RuntimeFailure):
    """``States.IntrinsicFailure`` raised while evaluating an intrinsic function."""

    def __init__(self, message: str) -> None:
        super().__init__(message, STATES_INTRINSIC_FAILURE)


def state_error_prefix(state_name: str, entered_event_id: int) -> str:
    """AWS's prefix for run-time causes that belong to a state."""
    return (
        f"An error occurred while executing the state '{state_name}' "
        f"(entered at the event id #{entered_event_id}). "
    )
