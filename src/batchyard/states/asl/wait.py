"""The Wait state: sleeps for Seconds or until a Timestamp, through the injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from batchyard.states.asl import paths
from batchyard.states.asl.definition import MISSING, WaitState
from batchyard.states.asl.errors import QueryEvaluationError, RuntimeFailure
from batchyard.states.asl.runtime import Outcome, StateRun
from batchyard.states.asl.validate import RFC3339, valid_rfc3339


def parse_timestamp(text: str) -> datetime | None:
    """Parse an ISO-8601 extended offset date-time (a zone is required); None if invalid."""
    if not isinstance(text, str) or not valid_rfc3339(text):
        return None
    m = RFC3339.match(text)
    assert m is not None
    frac = (m.group(7) or ".0")[1:]
    micro = int((frac + "000000")[:6])
    zone = m.group(8).upper()
    iso_text = text[: m.start(7)] if m.group(7) else text[: m.start(8)]
    base = datetime.fromisoformat(iso_text.replace("t", "T") + ("+00:00" if zone == "Z" else zone))
    return base.replace(microsecond=micro)


def _is_long(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


def _deadline(run: StateRun) -> datetime:
    st = run.state
    assert isinstance(st, WaitState)
    start = run.entered_time
    if st.is_jsonata:
        if st.seconds is not MISSING:
            secs = run.jsonata(st.seconds, "Seconds")
            if not _is_long(secs) or secs < 0:
                raise QueryEvaluationError(
                    f"The JSONata expression '{st.seconds}' specified for the field 'Seconds' "
                    f"returned an unexpected result: {paths.dumps(secs)}",
                    "Seconds",
                )
            return start + timedelta(seconds=int(secs))
        text = run.jsonata(st.timestamp, "Timestamp")
        when = parse_timestamp(text) if isinstance(text, str) else None
        if when is None:
            raise QueryEvaluationError(
                f"The JSONata expression '{st.timestamp}' specified for the field 'Timestamp' "
                f"returned an invalid timestamp: {paths.dumps(text)}",
                "Timestamp",
            )
        return when
    if st.seconds is not MISSING:
        return start + timedelta(seconds=int(st.seconds))
    if st.timestamp is not MISSING:
        when = parse_timestamp(st.timestamp)
        assert when is not None  # validated at create time
        return when
    scope = run.scope()
    if st.seconds_path is not MISSING:
        value = paths.resolve_field(st.seconds_path, run.raw_input, scope, "SecondsPath")
        shown = f"{st.seconds_path} == {paths.dumps(value)}"
        if not _is_long(value):
            raise RuntimeFailure(
                f"The SecondsPath parameter cannot be parsed as a long value: {shown}"
            )
        if value < 0:
            raise RuntimeFailure(f"The SecondsPath parameter references a negative value: {shown}")
        return start + timedelta(seconds=int(value))
    value = paths.resolve_field(st.timestamp_path, run.raw_input, scope, "TimestampPath")
    when = parse_timestamp(value) if isinstance(value, str) else None
    if when is None:
        shown = value if isinstance(value, str) else paths.dumps(value)
        raise RuntimeFailure(
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {st.timestamp_path} == {shown}"
        )
    return when


async def run_wait(run: StateRun) -> Outcome:
    """Run a Wait state; a resumed one keeps its original wake-up time."""
    st = run.state
    if "wait_until" in run.resume:
        until = datetime.fromisoformat(run.resume["wait_until"])
    else:
        until = _deadline(run)
        run.remember(wait_until=until.isoformat())
    await run.interp.sleep_until(until)
    if st.is_jsonata:
        return run.finish(run.raw_input, has_result=False)
    data = paths.input_path(st.input_path, run.raw_input, run.scope())
    return run.finish(data, has_result=False)
