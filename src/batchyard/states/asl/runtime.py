"""What a state module sees while it runs: :class:`StateRun`, and the I/O processing shared
by the state types (InputPath/Parameters/ResultSelector/ResultPath/OutputPath for JSONPath,
Arguments/Output/Assign for JSONata).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from batchyard.states.asl import jsonata, paths
from batchyard.states.asl.definition import MISSING, PassState, State
from batchyard.states.asl.errors import STATES_DATA_LIMIT_EXCEEDED, FailureError
from batchyard.states.asl.paths import Scope, dumps

if TYPE_CHECKING:
    from batchyard.states.asl.interpreter import Frame, Interpreter

# AWS's payload quota: 256 KiB of UTF-8 for any state input/output and execution I/O.
PAYLOAD_LIMIT_BYTES = 256 * 1024


_FROM_STATE: Any = object()


@dataclass
class Outcome:
    """How a state finished: its output, the next state (None: end of the frame) and the
    variables its Assign produced (None: the state has no Assign)."""

    output: Any
    next: str | None
    assigned: dict[str, Any] | None = None
    exited: bool = True  # False for states that emit no *StateExited (Fail)


def iso(ts: datetime) -> str:
    """ISO-8601 with milliseconds and a Z, as the context object shows times."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def check_size(state_name: str, value: Any) -> None:
    """Fail with States.DataLimitExceeded when a state's output is over the payload quota."""
    if len(dumps(value).encode()) > PAYLOAD_LIMIT_BYTES:
        raise FailureError(
            STATES_DATA_LIMIT_EXCEEDED,
            f"The state/task '{state_name}' returned a result with a size exceeding the "
            "maximum number of bytes service limit.",
        )


class StateRun:
    """One attempt at running one state inside a frame."""

    def __init__(
        self,
        interp: Interpreter,
        frame: Frame,
        state: State,
        raw_input: Any,
        entered_event_id: int,
        entry_prev: int,
        entered_time: datetime,
        retry_count: int = 0,
        resume: dict[str, Any] | None = None,
    ) -> None:
        self.interp = interp
        self.frame = frame
        self.state = state
        self.raw_input = raw_input
        self.entered_event_id = entered_event_id
        self.entry_prev = entry_prev
        self.entered_time = entered_time
        self.retry_count = retry_count
        self.resume = resume or {}
        # Checkpoint snapshots of this state's running branches/iterations, keyed by index.
        self.resume_children: dict[str, Any] = {}
        # ``$$.Task.Token`` of a ``.waitForTaskToken`` task, once handed out.
        self.task_token: str | None = None

    # -- context and scope -------------------------------------------------------------
    def context_object(self, map_item: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``$$`` context object as seen by this state."""
        ctx = self.interp.execution_context()
        state_ctx: dict[str, Any] = {"Name": self.state.name, "EnteredTime": iso(self.entered_time)}
        if self.state.type == "Task":
            state_ctx["RetryCount"] = self.retry_count
        ctx["State"] = state_ctx
        if self.task_token is not None:
            ctx["Task"] = {"Token": self.task_token}
        if map_item is not None:
            ctx["Map"] = {"Item": map_item}
        return ctx

    def scope(self, map_item: dict[str, Any] | None = None) -> Scope:
        return Scope(partial(self.context_object, map_item), self.frame.visible_variables)

    def states_binding(
        self,
        data: Any = MISSING,
        result: Any = MISSING,
        error_output: Any = MISSING,
        map_item: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``$states`` object for JSONata expressions."""
        out: dict[str, Any] = {
            "input": self.raw_input if data is MISSING else data,
            "context": self.context_object(map_item),
        }
        if result is not MISSING:
            out["result"] = result
        if error_output is not MISSING:
            out["errorOutput"] = error_output
        return out

    # -- events ------------------------------------------------------------------------
    def emit(
        self,
        event_type: str,
        details: dict[str, Any] | None = None,
        update: bool = True,
        prev: int | None = None,
    ) -> int:
        return self.interp.emit(self.frame, event_type, details, update=update, prev=prev)

    def remember(self, **data: Any) -> None:
        """Keep state-specific progress in the checkpoint (e.g. a Wait's wake-up time)."""
        self.frame.entered_data.update(data)

    # -- JSONata helpers ---------------------------------------------------------------
    def jsonata(self, value: Any, field: str, **binding: Any) -> Any:
        """Evaluate a JSONata template (``{% %}`` strings anywhere inside ``value``)."""
        return jsonata.evaluate_template(
            value, self.states_binding(**binding), self.frame.visible_variables(), field
        )

    # -- shared I/O processing -----------------------------------------------------------
    def effective_input(self) -> Any:
        """JSONPath: InputPath then Parameters. JSONata: Arguments (or the raw input)."""
        st = self.state
        if st.is_jsonata:
            args = getattr(st, "arguments", MISSING)
            if args is MISSING:
                return self.raw_input
            return self.jsonata(args, "Arguments")
        scope = self.scope()
        data = paths.input_path(st.input_path, self.raw_input, scope)
        params = getattr(st, "parameters", MISSING)
        if params is not MISSING:
            data = paths.payload_template(params, data, scope, "Parameters")
        return data

    def finish(
        self,
        result: Any,
        has_result: bool = True,
        assign: Any = _FROM_STATE,
        output: Any = _FROM_STATE,
    ) -> Outcome:
        """Shape a state's result into its output and evaluate its Assign.

        ``has_result`` is False for states without a result of their own (Wait, Choice,
        Succeed, and Pass without Result in JSONata), whose Output defaults to the input.
        ``assign``/``output`` override the state's own fields (a Choice rule's, a Catcher's).
        """
        st = self.state
        assign_tpl = st.assign if assign is _FROM_STATE else assign
        output_tpl = st.output if output is _FROM_STATE else output
        if st.is_jsonata:
            binding: dict[str, Any] = {}
            if has_result:
                binding["result"] = result
            assigned = None
            if assign_tpl is not MISSING:
                assigned = self.jsonata(assign_tpl, "Assign", **binding)
            if output_tpl is not MISSING:
                out = self.jsonata(output_tpl, "Output", **binding)
            else:
                out = result if has_result else self.raw_input
            return Outcome(out, self._next(), assigned)
        scope = self.scope()
        selector = getattr(st, "result_selector", MISSING)
        if selector is not MISSING and has_result:
            result = paths.payload_template(selector, result, scope, "ResultSelector")
        assigned = None
        if assign_tpl is not MISSING:
            assigned = paths.assign_template(assign_tpl, result, scope)
        rp = getattr(st, "result_path", MISSING)
        if isinstance(st, PassState) or hasattr(st, "result_selector"):
            combined = paths.result_path(rp, self.raw_input, result)
        else:
            combined = result
        out = paths.output_path(st.output_path, combined, scope)
        return Outcome(out, self._next(), assigned)

    def _next(self) -> str | None:
        return None if self.state.end else self.state.next
