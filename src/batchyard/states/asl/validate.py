"""Static checks a definition must pass at CreateStateMachine / UpdateStateMachine time.

Every problem found is reported, joined the way AWS joins them inside one
``Invalid State Machine Definition: '...'`` message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeGuard

from batchyard.states.asl.errors import FailureError, InvalidDefinitionError
from batchyard.states.asl.intrinsics import is_intrinsic, parse_intrinsic
from batchyard.states.asl.jsonata import is_expr as is_jsonata_expr
from batchyard.states.asl.paths import check_path, check_reference_path
from batchyard.states.asl.timestamps import valid_rfc3339
from batchyard.states.asl.values import JSONATA, JSONPATH

STATE_TYPES = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")

_COMMON = {"Type", "Comment", "QueryLanguage"}
_FLOW = {"Next", "End"}
_JSONPATH_IO = {"InputPath", "OutputPath"}
_ASSIGN = {"Assign"}
_OUTPUT = {"Output"}

# Fields each state type may carry, before the per-language restrictions below.
_ALLOWED: dict[str, set[str]] = {
    "Pass": _COMMON
    | _FLOW
    | _JSONPATH_IO
    | _ASSIGN
    | _OUTPUT
    | {"Result", "ResultPath", "Parameters"},
    "Succeed": _COMMON | _JSONPATH_IO | _OUTPUT,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Wait": _COMMON
    | _FLOW
    | _JSONPATH_IO
    | _ASSIGN
    | _OUTPUT
    | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Choice": _COMMON | _JSONPATH_IO | _ASSIGN | _OUTPUT | {"Choices", "Default"},
    "Task": _COMMON
    | _FLOW
    | _JSONPATH_IO
    | _ASSIGN
    | _OUTPUT
    | {
        "Resource",
        "Parameters",
        "Arguments",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Parallel": _COMMON
    | _FLOW
    | _JSONPATH_IO
    | _ASSIGN
    | _OUTPUT
    | {"Branches", "Parameters", "Arguments", "ResultSelector", "ResultPath", "Retry", "Catch"},
    # No Arguments for a Map: its items take that part (AWS accepts the field on no Map).
    "Map": _COMMON
    | _FLOW
    | _JSONPATH_IO
    | _ASSIGN
    | _OUTPUT
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "Label",
    },
}

# JSONPath-only fields: a JSONata state may not use them.
_JSONPATH_ONLY = {
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "ItemSelector_legacy",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
}
# JSONata-only fields: a JSONPath state may not use them.
_JSONATA_ONLY = {"Arguments", "Output", "Items"}

# A variable name is a Unicode identifier of at most 80 characters; "states" is JSONata's
# $states, which no Assign may set.
_VAR_NAME = re.compile(r"^[^\W\d]\w*$")
MAX_VARIABLE_NAME = 80
RESERVED_VARIABLE = "states"


# Whether a Task's resource names something that exists (CreateStateMachine's check).
Recognizes = Callable[[str], bool]
NOT_RECOGNIZED = (
    "The resource provided {} is not recognized. The value is not a valid resource ARN, or "
    "the resource is not available in this region."
)


# AWS's words for a field a state (or a retrier, catcher or choice rule) does not have; it
# places the problem at the object holding the field.
_UNSUPPORTED = "Field '{}' is not supported"
# AWS's words for a number out of a field's range and for a value of the wrong type.
_MINIMUM = "Minimum value is {}"
_ONE_OF = "There should only be one of the following fields: [{}]"
_ONLY_ONE_OF = "This object should have only one of the following fields: [{}]"
_MAXIMUM = "Maximum value is {}"
_NOT_INTEGER = "Expected value of type Integer"
# The largest count of seconds (or attempts) a definition may give.
MAX_SECONDS = 99_999_999


class _Collector:
    def __init__(self, recognizes: Recognizes | None = None) -> None:
        self.errors: list[str] = []
        self.recognizes = recognizes
        # The Map Run labels seen so far: each may name one Map state only.
        self.labels: set[str] = set()
        # The machine's top-level QueryLanguage.
        self.query_language: str = JSONPATH

    def schema(self, detail: str, where: str) -> None:
        self.errors.append(f"SCHEMA_VALIDATION_FAILED: {detail} at {where}")

    def add(self, code: str, detail: str, where: str) -> None:
        self.errors.append(f"{code}: {detail} at {where}")


def validate_definition(raw: Any, recognizes: Recognizes | None = None) -> None:
    """Raise :class:`InvalidDefinitionError` when ``raw`` is not a valid definition.

    With ``recognizes``, a Task whose resource it does not recognize is invalid too.
    """
    col = _Collector(recognizes)
    if not isinstance(raw, dict):
        raise InvalidDefinitionError(
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "
            "Expected value of type: Object at /'"
        )
    ql = raw.get("QueryLanguage", JSONPATH)
    if ql not in (JSONPATH, JSONATA):
        col.schema(f'"{ql}" is not a valid value for QueryLanguage', "/QueryLanguage")
        ql = JSONPATH
    col.query_language = ql
    for key in raw:
        if key not in _TOP_LEVEL:
            col.schema(_UNSUPPORTED.format(key), "/")
    if "Version" in raw and raw["Version"] != "1.0":
        col.schema("Value should be one of the following: [1.0]", "/Version")
    ts = raw.get("TimeoutSeconds")
    if ts is not None and (not _is_int(ts) or ts < 1):
        col.schema("TimeoutSeconds must be a positive integer", "/TimeoutSeconds")
    _machine(col, raw, "", ql, top=True)
    if col.errors:
        raise InvalidDefinitionError(
            "Invalid State Machine Definition: '" + ", ".join(col.errors) + "'"
        )


# The fields of a whole definition.
_TOP_LEVEL = frozenset({"Comment", "StartAt", "States", "TimeoutSeconds", "Version",
                        "QueryLanguage"})


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _machine(col: _Collector, raw: Any, base: str, ql: str, top: bool = False) -> None:
    where = base or "/"
    if not isinstance(raw, dict):
        col.schema("Expected value of type: Object", where)
        return
    states = raw.get("States")
    start = raw.get("StartAt")
    # One problem names every missing field, in AWS's order.
    missing = [key for key in ("States", "StartAt") if key not in raw]
    if missing:
        col.schema(f"These fields are required: [{', '.join(missing)}]", where)
    if "StartAt" in raw and not isinstance(start, str):
        col.schema("Expected value of type: String", f"{base}/StartAt")
    if not isinstance(states, dict) or not states:
        if "States" in raw:
            col.schema("These fields are required: [States]", where)
        return
    if isinstance(start, str) and start not in states:
        col.add("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {start}", f"{base}/StartAt")
    for name, st in states.items():
        spath = f"{base}/States/{name}"
        if len(name) > 80:
            col.schema("State name is too long", spath)
        _state(col, name, st, spath, ql, states)
    if isinstance(start, str) and start in states:
        for name in states:
            if name not in _reachable(start, states):
                col.add(
                    "MISSING_TRANSITION_TARGET",
                    f'State "{name}" is not reachable.',
                    f"{base}/States/{name}",
                )


def _targets(st: dict[str, Any]) -> Iterable[str]:
    if isinstance(st.get("Next"), str):
        yield st["Next"]
    if isinstance(st.get("Default"), str):
        yield st["Default"]
    for c in st.get("Choices") or []:
        if isinstance(c, dict) and isinstance(c.get("Next"), str):
            yield c["Next"]
    for c in st.get("Catch") or []:
        if isinstance(c, dict) and isinstance(c.get("Next"), str):
            yield c["Next"]


def _reachable(start: str, states: dict[str, Any]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        st = states.get(todo.pop())
        if not isinstance(st, dict):
            continue
        for t in _targets(st):
            if t in states and t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def _state(
    col: _Collector, name: str, st: Any, spath: str, parent_ql: str, states: dict[str, Any]
) -> None:
    if not isinstance(st, dict):
        col.schema("Expected value of type: Object", spath)
        return
    t = st.get("Type")
    if t not in STATE_TYPES:
        col.schema(
            "The field 'Type' should have one of these values: "
            "[Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
            f"{spath}/Type",
        )
        return
    ql = st.get("QueryLanguage", parent_ql)
    if ql not in (JSONPATH, JSONATA):
        col.schema(f'"{ql}" is not a valid value for QueryLanguage', f"{spath}/QueryLanguage")
        ql = parent_ql
    elif col.query_language == JSONATA and ql == JSONPATH and "QueryLanguage" in st:
        # A JSONata machine keeps every state JSONata; in a JSONPath machine any state may
        # choose, even one inside a JSONata Map (AWS's answers).
        col.schema(
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            spath,
        )
    allowed = _ALLOWED[t]
    for key in st:
        if key not in allowed:
            col.schema(_UNSUPPORTED.format(key), spath)
            continue
        if ql == JSONATA and key in _JSONPATH_ONLY:
            col.schema(
                f"The field '{key}' is not supported when QueryLanguage is 'JSONata'",
                f"{spath}/{key}",
            )
        if ql == JSONPATH and key in _JSONATA_ONLY:
            col.schema(
                f"The field '{key}' is not supported when QueryLanguage is 'JSONPath'",
                f"{spath}/{key}",
            )
    _flow(col, t, st, spath, states)
    _assign(col, st.get("Assign"), f"{spath}/Assign")
    if t == "Wait":
        _wait(col, st, spath, ql)
    elif t == "Fail":
        for a, b in (("Error", "ErrorPath"), ("Cause", "CausePath")):
            if a in st and b in st:
                col.schema(_ONE_OF.format(f"{a}, {b}"), spath)
    elif t == "Choice":
        _choice(col, st, spath, ql, states)
    elif t == "Task":
        resource = st.get("Resource")
        if not isinstance(resource, str):
            col.schema("These fields are required: [Resource]", spath)
        elif col.recognizes is not None and not col.recognizes(resource):
            col.schema(NOT_RECOGNIZED.format(resource), f"{spath}/Resource")
        for a, b in (
            ("TimeoutSeconds", "TimeoutSecondsPath"),
            ("HeartbeatSeconds", "HeartbeatSecondsPath"),
        ):
            if a in st and b in st:
                col.schema(_ONE_OF.format(f"{a}, {b}"), spath)
        _task_timeouts(col, st, spath, ql)
    elif t == "Parallel":
        branches = st.get("Branches")
        if "Branches" not in st:
            col.schema("These fields are required: [Branches]", spath)
        elif not isinstance(branches, list):
            col.schema("Expected value of type: Array", f"{spath}/Branches")
        elif not branches:
            col.schema("Value cannot be empty", f"{spath}/Branches")
        else:
            for i, b in enumerate(branches):
                _machine(col, b, f"{spath}/Branches[{i}]", ql)
    elif t == "Map":
        _map(col, st, spath, ql)
    if t in ("Task", "Parallel", "Map"):
        _retry_catch(col, st, spath, ql, states)
    if ql == JSONPATH:
        _paths(col, st, spath)


def _task_timeouts(col: _Collector, st: dict[str, Any], spath: str, ql: str) -> None:
    for key in ("TimeoutSeconds", "HeartbeatSeconds"):
        if key in st and not (ql == JSONATA and is_jsonata_expr(st[key])):
            _integer(col, st[key], f"{spath}/{key}", 1, MAX_SECONDS)
    timeout, heartbeat = st.get("TimeoutSeconds"), st.get("HeartbeatSeconds")
    if _is_int(timeout) and _is_int(heartbeat) and 0 < timeout <= heartbeat:
        # Our own words: the specification asks for a heartbeat shorter than the timeout, and
        # AWS's text for one that is not is on no record.
        col.schema(
            "HeartbeatSeconds must be smaller than TimeoutSeconds", f"{spath}/HeartbeatSeconds"
        )


def _flow(col: _Collector, t: str, st: dict[str, Any], spath: str, states: dict[str, Any]) -> None:
    if t in ("Choice", "Succeed", "Fail"):
        for key in ("Next", "End"):
            if key in st:
                col.schema(_UNSUPPORTED.format(key), spath)
        return
    has_next, has_end = "Next" in st, bool(st.get("End"))
    if has_next and has_end:
        col.schema("Only one of Next or End may be set", spath)
    elif not has_next and not has_end:
        col.schema("These fields are required: [Next, End]", spath)
    nxt = st.get("Next")
    if has_next and nxt not in states:
        col.add("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {nxt}", f"{spath}/Next")


def _assign(col: _Collector, assign: Any, where: str) -> None:
    if assign is None:
        return
    if not isinstance(assign, dict):
        col.schema("Expected value of type: Object", where)
        return
    for key in assign:
        name = key[:-2] if key.endswith(".$") else key
        # Our own words: AWS's for a name it refuses are not on record.
        if not _VAR_NAME.match(name) or len(name) > MAX_VARIABLE_NAME:
            col.schema(f"The variable name '{name}' is not valid", f"{where}/{key}")
        elif name == RESERVED_VARIABLE:
            col.schema(f"The variable name '{name}' is reserved", f"{where}/{key}")


def _wait(col: _Collector, st: dict[str, Any], spath: str, ql: str) -> None:
    present = [k for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if k in st]
    if len(present) > 1:
        col.schema(_ONE_OF.format("SecondsPath, Seconds, TimestampPath, Timestamp"), spath)
    elif not present:
        # AWS's words for a Map with neither ItemProcessor nor Iterator; a Wait with none of its
        # four fields is refused the same way.
        col.schema(_ONLY_ONE_OF.format("SecondsPath, Seconds, TimestampPath, Timestamp"), spath)
    ts = st.get("Timestamp")
    ts_literal = "Timestamp" in st and not (ql == JSONATA and is_jsonata_expr(ts))
    if ts_literal and (not isinstance(ts, str) or not valid_rfc3339(ts)):
        col.schema("String does not match RFC3339 timestamp", f"{spath}/Timestamp")
    sec = st.get("Seconds")
    sec_literal = "Seconds" in st and not (ql == JSONATA and is_jsonata_expr(sec))
    if sec_literal:
        _integer(col, sec, f"{spath}/Seconds", 0, MAX_SECONDS)


_COMPARATORS = {
    f"{kind}{op}{suffix}"
    for kind in ("String", "Numeric", "Timestamp")
    for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    for suffix in ("", "Path")
} | {
    "BooleanEquals",
    "BooleanEqualsPath",
    "StringMatches",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
}


def _choice(
    col: _Collector, st: dict[str, Any], spath: str, ql: str, states: dict[str, Any]
) -> None:
    choices = st.get("Choices")
    if not isinstance(choices, list) or not choices:
        col.schema("These fields are required: [Choices]", spath)
        return
    dflt = st.get("Default")
    if dflt is not None and dflt not in states:
        col.add("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {dflt}", f"{spath}/Default")
    for i, rule in enumerate(choices):
        where = f"{spath}/Choices[{i}]"
        if not isinstance(rule, dict):
            col.schema("Expected value of type: Object", where)
            continue
        nxt = rule.get("Next")
        if nxt is None:
            col.schema("These fields are required: [Next]", where)
        elif nxt not in states:
            col.add("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {nxt}", f"{where}/Next")
        _assign(col, rule.get("Assign"), f"{where}/Assign")
        if ql == JSONATA:
            if "Condition" not in rule:
                col.schema("These fields are required: [Condition]", where)
            for key in rule:
                if key not in ("Condition", "Next", "Assign", "Output", "Comment"):
                    col.schema(_UNSUPPORTED.format(key), where)
        else:
            for key in ("Condition", "Output"):
                if key in rule:
                    col.schema(
                        f"The field '{key}' is not supported when QueryLanguage is 'JSONPath'",
                        f"{where}/{key}",
                    )
            _rule(col, rule, where)


def _rule(col: _Collector, rule: dict[str, Any], where: str) -> None:
    ops = [k for k in rule if k in _COMPARATORS or k in ("And", "Or", "Not")]
    if len(ops) != 1:
        col.schema("A choice rule must have exactly one comparison operator", where)
        return
    op = ops[0]
    if op in ("And", "Or"):
        subs = rule[op]
        if not isinstance(subs, list) or not subs:
            col.schema("Expected a non-empty array", f"{where}/{op}")
            return
        for i, sub in enumerate(subs):
            if isinstance(sub, dict):
                _rule(col, sub, f"{where}/{op}[{i}]")
    elif op == "Not":
        if isinstance(rule[op], dict):
            _rule(col, rule[op], f"{where}/Not")
    elif "Variable" not in rule:
        col.schema("These fields are required: [Variable]", where)
    else:
        # The rule's Variable, and the operand of a *Path comparator, are paths.
        for key in ("Variable", op) if op.endswith("Path") else ("Variable",):
            value = rule[key]
            if isinstance(value, str) and not check_path(value):
                col.schema(
                    f"The value for the field '{key}' must be a valid JSONPath", f"{where}/{key}"
                )


def _map(col: _Collector, st: dict[str, Any], spath: str, ql: str) -> None:
    proc = st.get("ItemProcessor", st.get("Iterator"))
    key = "ItemProcessor" if "ItemProcessor" in st else "Iterator"
    if proc is None:
        col.schema(_ONLY_ONE_OF.format("ItemProcessor, Iterator"), spath)
    else:
        _machine(col, proc, f"{spath}/{key}", ql)
        cfg = proc.get("ProcessorConfig", {}) if isinstance(proc, dict) else {}
        if isinstance(cfg, dict):
            _processor_config(col, cfg, f"{spath}/{key}/ProcessorConfig")
    if "ItemProcessor" in st and "Iterator" in st:
        col.schema(_ONE_OF.format("ItemProcessor, Iterator"), spath)
    if "ItemSelector" in st and "Parameters" in st:
        col.schema(_ONE_OF.format("ItemSelector, Parameters"), spath)
    for a in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"):
        if a in st and f"{a}Path" in st:
            col.schema(_ONE_OF.format(f"{a}, {a}Path"), spath)
    for a, hi in (("MaxConcurrency", None), ("ToleratedFailureCount", None)):
        if a in st and not is_jsonata_expr(st[a]):
            _integer(col, st[a], f"{spath}/{a}", 0, hi)
    pct = st.get("ToleratedFailurePercentage")
    if "ToleratedFailurePercentage" in st and not is_jsonata_expr(pct):
        if isinstance(pct, bool) or not isinstance(pct, int | float):
            # Our own words: AWS's for a percentage that is no number are not on record.
            col.schema("Expected value of type Number", f"{spath}/ToleratedFailurePercentage")
        elif not 0 <= pct <= 100:
            problem = _MINIMUM.format(0) if pct < 0 else _MAXIMUM.format(100)
            col.schema(problem, f"{spath}/ToleratedFailurePercentage")
    if "Label" in st:
        _label(col, st["Label"], f"{spath}/Label")
    if "ItemBatcher" in st:
        _item_batcher(col, st["ItemBatcher"], f"{spath}/ItemBatcher", ql)


def _processor_config(col: _Collector, cfg: dict[str, Any], where: str) -> None:
    for key in cfg:
        if key not in ("Mode", "ExecutionType"):
            col.schema(_UNSUPPORTED.format(key), where)
    # In the words AWS records for a state's Type, the other fields with a set of values.
    mode = cfg.get("Mode", "INLINE")
    if mode not in ("INLINE", "DISTRIBUTED"):
        col.schema(
            "The field 'Mode' should have one of these values: [INLINE, DISTRIBUTED]",
            f"{where}/Mode",
        )
    if "ExecutionType" in cfg and cfg["ExecutionType"] not in ("STANDARD", "EXPRESS"):
        col.schema(
            "The field 'ExecutionType' should have one of these values: [STANDARD, EXPRESS]",
            f"{where}/ExecutionType",
        )
    elif mode == "DISTRIBUTED" and "ExecutionType" not in cfg:
        # The developer guide has a distributed Map name the type of its child executions.
        col.schema("These fields are required: [ExecutionType]", where)


# A Map Run's label names it in its ARN: AWS allows 40 characters, none of these.
MAX_LABEL = 40
_LABEL_FORBIDDEN = re.compile(r"[\s?*<>{}\[\]:;,\\|^~$#%&`\"\x00-\x1f\x7f-\x9f]")


def _label(col: _Collector, label: Any, where: str) -> None:
    # Our own words throughout: AWS refuses these labels, but its texts are not on record.
    if not isinstance(label, str):
        col.schema("Expected value of type String", where)
    elif not label:
        col.schema("Label cannot be empty", where)
    elif len(label) > MAX_LABEL:
        col.schema(f"Label cannot exceed {MAX_LABEL} characters", where)
    elif (bad := _LABEL_FORBIDDEN.search(label)) is not None:
        col.schema(f"Label contains an invalid character: {bad.group()!r}", where)
    elif label in col.labels:
        col.schema("Label must be unique within the state machine", where)
    else:
        col.labels.add(label)


# The largest batch an ItemBatcher may ask for: the payload quota.
MAX_BATCH_BYTES = 256 * 1024
_BATCHER_FIELDS = frozenset({
    "MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch",
    "MaxInputBytesPerBatchPath", "BatchInput",
})


def _item_batcher(col: _Collector, batcher: Any, where: str, ql: str) -> None:
    if not isinstance(batcher, dict):
        col.schema("Expected value of type: Object", where)
        return
    for key in batcher:
        if key not in _BATCHER_FIELDS:
            col.schema(_UNSUPPORTED.format(key), where)
        elif ql == JSONATA and key.endswith("Path"):
            col.schema(
                f"The field '{key}' is not supported when QueryLanguage is 'JSONata'",
                f"{where}/{key}",
            )
    for a, hi in (("MaxItemsPerBatch", None), ("MaxInputBytesPerBatch", MAX_BATCH_BYTES)):
        if a in batcher and f"{a}Path" in batcher:
            col.schema(_ONE_OF.format(f"{a}, {a}Path"), where)
        if a in batcher and not (ql == JSONATA and is_jsonata_expr(batcher[a])):
            _integer(col, batcher[a], f"{where}/{a}", 1, hi)
    if not any(k in batcher for k in _BATCHER_FIELDS - {"BatchInput"}):
        # Our own words: a batcher needs a limit, AWS's text for one without is not on record.
        col.schema(
            "At least one of MaxItemsPerBatch, MaxItemsPerBatchPath, MaxInputBytesPerBatch or "
            "MaxInputBytesPerBatchPath must be set",
            where,
        )
    for key in ("MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"):
        value = batcher.get(key)
        if ql == JSONPATH and isinstance(value, str) and not check_path(value):
            col.schema(
                f"The value for the field '{key}' must be a valid JSONPath", f"{where}/{key}"
            )
    if ql == JSONPATH:
        _template(col, batcher.get("BatchInput"), f"{where}/BatchInput")


def _retry_catch(
    col: _Collector, st: dict[str, Any], spath: str, ql: str, states: dict[str, Any]
) -> None:
    for field in ("Retry", "Catch"):
        items = st.get(field)
        if items is None:
            continue
        if not isinstance(items, list):
            col.schema("Expected value of type: Array", f"{spath}/{field}")
            continue
        for i, item in enumerate(items):
            where = f"{spath}/{field}[{i}]"
            if not isinstance(item, dict):
                col.schema("Expected value of type: Object", where)
                continue
            allowed = _RETRIER_FIELDS if field == "Retry" else _CATCHER_FIELDS
            for key in item:
                if key not in allowed:
                    col.schema(_UNSUPPORTED.format(key), where)
            _error_equals(col, item, where, last=i == len(items) - 1)
            if field == "Retry":
                _retrier(col, item, where)
            else:
                _catcher(col, item, where, ql, states)


_RETRIER_FIELDS = frozenset({
    "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
    "JitterStrategy", "Comment",
})
_CATCHER_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Output", "Assign", "Comment"})
# The longest a retrier may wait between two attempts: a year and a day, in seconds.
MAX_DELAY_SECONDS = 31_622_400


def _error_equals(col: _Collector, item: dict[str, Any], where: str, last: bool) -> None:
    errs = item.get("ErrorEquals")
    if "ErrorEquals" not in item:
        col.schema("These fields are required: [ErrorEquals]", where)
    elif not isinstance(errs, list):
        col.schema("Expected value of type: Array", f"{where}/ErrorEquals")
    elif not errs:
        col.schema("Value cannot be empty", f"{where}/ErrorEquals")
    elif "States.ALL" in errs and (len(errs) != 1 or not last):
        col.schema("States.ALL must appear alone and at end of list", f"{where}/ErrorEquals")


def _integer(col: _Collector, value: Any, where: str, lo: int, hi: int | None = None) -> None:
    """An integer field's type and range, in AWS's words."""
    if not _is_int(value):
        col.schema(_NOT_INTEGER, where)
    elif value < lo:
        col.schema(_MINIMUM.format(lo), where)
    elif hi is not None and value > hi:
        col.schema(_MAXIMUM.format(hi), where)


def _retrier(col: _Collector, item: dict[str, Any], where: str) -> None:
    # AWS takes an IntervalSeconds of 0 (an immediate retry) although the specification asks
    # for a positive one.
    for key, lo, hi in (
        ("IntervalSeconds", 0, MAX_SECONDS),
        ("MaxAttempts", 0, MAX_SECONDS),
        ("MaxDelaySeconds", 1, MAX_DELAY_SECONDS),
    ):
        if key in item:
            _integer(col, item[key], f"{where}/{key}", lo, hi)
    if "BackoffRate" in item:
        br = item["BackoffRate"]
        if isinstance(br, bool) or not isinstance(br, int | float):
            # Our own words: AWS's for a BackoffRate that is no number are not on record.
            col.schema("Expected value of type Number", f"{where}/BackoffRate")
        elif br < 1.0:
            col.schema(_MINIMUM.format(1), f"{where}/BackoffRate")
    if "JitterStrategy" in item and item["JitterStrategy"] not in ("FULL", "NONE"):
        col.schema(
            "Value should be one of the following: [NONE, FULL]", f"{where}/JitterStrategy"
        )


def _catcher(
    col: _Collector, item: dict[str, Any], where: str, ql: str, states: dict[str, Any]
) -> None:
    if "Next" not in item:
        col.schema("These fields are required: [Next]", where)
    elif item["Next"] not in states:
        col.add(
            "MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {item['Next']}", f"{where}/Next"
        )
    # A catcher shapes the error output the way its state's query language does.
    for key, other in (("ResultPath", JSONATA), ("Output", JSONPATH)):
        if key in item and ql == other:
            col.schema(
                f"The field '{key}' is not supported when QueryLanguage is '{other}'",
                f"{where}/{key}",
            )
    rp = item.get("ResultPath")
    if ql == JSONPATH and isinstance(rp, str) and not check_reference_path(rp):
        col.schema(
            "The value for the field 'ResultPath' must be a valid ReferencePath",
            f"{where}/ResultPath",
        )
    _assign(col, item.get("Assign"), f"{where}/Assign")


# Fields whose value is a path that may start at the input, the context object or a variable.
_PATH_FIELDS = (
    "InputPath", "OutputPath", "ItemsPath", "SecondsPath", "TimestampPath",
    "TimeoutSecondsPath", "HeartbeatSecondsPath", "MaxConcurrencyPath",
    "ToleratedFailureCountPath", "ToleratedFailurePercentagePath",
)
# Fail's fields that take a path or an intrinsic function.
_PATH_OR_INTRINSIC_FIELDS = ("ErrorPath", "CausePath")
_TEMPLATE_FIELDS = ("Parameters", "ResultSelector", "ItemSelector")


def _valid_intrinsic(text: str) -> bool:
    try:
        parse_intrinsic(text)
    except FailureError:
        return False
    return True


def _path_or_intrinsic(value: str) -> bool:
    return _valid_intrinsic(value) if is_intrinsic(value) else check_path(value)


def _template(col: _Collector, template: Any, where: str) -> None:
    """Every ``.$`` value of a payload template must be a path or an intrinsic call."""
    if isinstance(template, list):
        for i, item in enumerate(template):
            _template(col, item, f"{where}[{i}]")
        return
    if not isinstance(template, dict):
        return
    for key, value in template.items():
        if key.endswith(".$") and isinstance(value, str):
            if not _path_or_intrinsic(value):
                col.schema(
                    f"The value for the field '{key}' must be a valid JSONPath or a valid "
                    "intrinsic function call",
                    where,
                )
        else:
            _template(col, value, f"{where}/{key}")


def _paths(col: _Collector, st: dict[str, Any], spath: str) -> None:
    for key in _PATH_FIELDS:
        v = st.get(key)
        if isinstance(v, str) and not check_path(v):
            col.schema(
                f"The value for the field '{key}' must be a valid JSONPath", f"{spath}/{key}"
            )
    for key in _PATH_OR_INTRINSIC_FIELDS:
        v = st.get(key)
        if isinstance(v, str) and not _path_or_intrinsic(v):
            col.schema(
                f"The value for the field '{key}' must be a valid JSONPath or a valid "
                "intrinsic function call",
                f"{spath}/{key}",
            )
    for key in _TEMPLATE_FIELDS:
        _template(col, st.get(key), f"{spath}/{key}")
    rp = st.get("ResultPath")
    if isinstance(rp, str) and not check_reference_path(rp):
        col.schema(
            "The value for the field 'ResultPath' must be a valid ReferencePath",
            f"{spath}/ResultPath",
        )
