"""AWS's JSONPath dialect for JSONPath-mode states.

Step Functions uses Jayway JsonPath: a *definite* path (only names and indexes) yields one value,
an *indefinite* one (wildcards, slices, filters, deep scan, unions) yields a list. Paths may
start at the state input (``$``), the context object (``$$``) or a variable (``$name``).
Evaluation runs on jsonpath-ng; this module adds the dialect rules and AWS's error texts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as _ext_parse

from batchyard.states.asl.errors import RuntimeFailure
from batchyard.states.asl.values import MISSING, dumps

_VAR_PATH = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)(.*)$", re.DOTALL)
_INDEFINITE = re.compile(r"\*|\.\.|\?\(|:|,")


class Scope:
    """What a JSONPath expression can reach: the context object and visible variables.

    Either can be given as a function that builds it on first use: most states never read
    ``$$`` or a variable, and building the context object copies the execution input.
    """

    def __init__(
        self,
        context: dict[str, Any] | Callable[[], dict[str, Any]],
        variables: dict[str, Any] | Callable[[], dict[str, Any]],
    ) -> None:
        self._context = context
        self._variables = variables

    @property
    def context(self) -> dict[str, Any]:
        """The ``$$`` context object."""
        if callable(self._context):
            self._context = self._context()
        return self._context

    @property
    def variables(self) -> dict[str, Any]:
        """The variables visible to the state."""
        if callable(self._variables):
            self._variables = self._variables()
        return self._variables


class PathNotFound(Exception):
    """The path is well-formed but selects nothing in the data."""


@lru_cache(maxsize=4096)
def _compile(expr: str) -> JSONPath:
    # jsonpath-ng wants "$" alone for the root and rejects Jayway's "$[...]" less often than
    # "$.['x']", so normalise the one spelling Jayway accepts and jsonpath-ng does not.
    return _ext_parse(expr.replace(".[", "["))


def check_path(expr: str) -> bool:
    """True when ``expr`` is a syntactically valid path (input, context or variable)."""
    if not isinstance(expr, str) or not expr.startswith("$"):
        return False
    rest = _split_root(expr)[1]
    try:
        _compile(rest)
    except (JsonPathParserError, JsonPathLexerError, Exception):
        return False
    return True


def check_reference_path(expr: str) -> bool:
    """True for a Reference Path: a definite input path, which ResultPath requires."""
    if not isinstance(expr, str) or not expr.startswith("$") or expr.startswith("$$"):
        return False
    if _VAR_PATH.match(expr) or _INDEFINITE.search(expr):
        return False
    return check_path(expr)


def is_definite(expr: str) -> bool:
    """A definite path selects at most one node, so Jayway returns it unwrapped."""
    return _INDEFINITE.search(expr) is None


def _split_root(expr: str) -> tuple[str, str]:
    """Split a path into its root kind ('$', '$$' or a variable name) and an input path."""
    if expr.startswith("$$"):
        return "$$", "$" + expr[2:]
    m = _VAR_PATH.match(expr)
    if m:
        return m.group(1), "$" + m.group(2)
    return "$", expr


def find(expr: str, data: Any) -> Any:
    """Evaluate an input path on ``data``; raise :class:`PathNotFound` when nothing matches."""
    if expr == "$":
        return data
    try:
        matches = _compile(expr).find(data)
    except (JsonPathParserError, JsonPathLexerError) as exc:
        raise PathNotFound(expr) from exc
    if is_definite(expr):
        if not matches:
            raise PathNotFound(expr)
        return matches[0].value
    return [m.value for m in matches]


def resolve(expr: str, data: Any, scope: Scope) -> Any:
    """Evaluate a path that may start at ``$``, ``$$`` or ``$variable``.

    Raises :class:`PathNotFound` when it selects nothing (AWS reports that per field), and
    :class:`RuntimeFailure` for an unknown variable.
    """
    root, rest = _split_root(expr)
    if root == "$":
        return copy.deepcopy(find(rest, data))
    if root == "$$":
        return copy.deepcopy(find(rest, scope.context))
    if root not in scope.variables:
        raise RuntimeFailure(f"Invalid path '{expr}': The variable '${root}' is not defined.")
    return copy.deepcopy(find(rest, scope.variables[root]))


def not_found_message(expr: str, field: str, data: Any) -> str:
    """AWS's cause when a path of a field selects nothing."""
    return (
        f"The JSONPath '{expr}' specified for the field '{field}' could not be found "
        f"in the input '{dumps(data)}'"
    )


def resolve_field(expr: str, data: Any, scope: Scope, field: str) -> Any:
    """:func:`resolve`, turning a miss into AWS's ``States.Runtime`` cause for ``field``."""
    try:
        return resolve(expr, data, scope)
    except PathNotFound:
        where = scope.context if expr.startswith("$$") else data
        raise RuntimeFailure(not_found_message(expr, field, where)) from None


_STEP = re.compile(
    r"\.([^.\[\]]+)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]"
    r"|\[\s*(-?\d+)\s*\]"
)


def _definite_steps(path: str) -> list[str | int] | None:
    """The names and indexes of a definite input path (``$`` first), None for another."""
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            return None
        name = m.group(1) if m.group(1) is not None else m.group(2)
        if name is None:
            name = m.group(3)
        steps.append(int(m.group(4)) if name is None else name)
        pos = m.end()
    return steps


def _shown(steps: list[str | int]) -> str:
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f"['{s}']" for s in steps)


def jayway_miss(path: str, data: Any) -> str:
    """Jayway's own text for a definite ``path`` (rooted at ``$``) that selects nothing in
    ``data``: a missing property on the way names the path up to it, anything else the path."""
    steps = _definite_steps(path)
    if steps is None:
        return f"No results for path: {path}"
    node = data
    for i, step in enumerate(steps):
        if isinstance(step, str) and isinstance(node, dict):
            if step in node:
                node = node[step]
                continue
            if i < len(steps) - 1:
                return f"Missing property in path {_shown(steps[: i + 1])}"
        elif isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node):
            node = node[step]
            continue
        break
    return f"No results for path: {_shown(steps)}"


def resolve_selection(expr: str, data: Any, scope: Scope) -> Any:
    """:func:`resolve` for the fields AWS evaluates with Jayway directly (InputPath,
    OutputPath, TimeoutSecondsPath, HeartbeatSecondsPath): a miss fails with Jayway's text,
    not with the field's name."""
    try:
        return resolve(expr, data, scope)
    except PathNotFound:
        root, rest = _split_root(expr)
        where = data if root == "$" else scope.context if root == "$$" else scope.variables[root]
        raise RuntimeFailure(f"Invalid path '{expr}' : {jayway_miss(rest, where)}") from None


def input_path(expr: Any, data: Any, scope: Scope) -> Any:
    """Apply InputPath (absent: the whole input; null: ``{}``), or another path field that
    selects the same way (OutputPath)."""
    if expr is MISSING or expr == "$":
        return data
    if expr is None:
        return {}
    return resolve_selection(expr, data, scope)


def output_path(expr: Any, data: Any, scope: Scope) -> Any:
    """Apply OutputPath (absent: the whole output; null: ``{}``)."""
    return input_path(expr, data, scope)


_TOKEN = re.compile(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]|\[(-?\d+)\]")


def _reference_steps(expr: str) -> list[str | int]:
    steps: list[str | int] = []
    pos = 1
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise RuntimeFailure(f"Invalid ResultPath '{expr}'")
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(m.group(2))
        else:
            steps.append(int(m.group(3)))
        pos = m.end()
    return steps


def _unappliable(expr: str, raw_input: Any) -> RuntimeFailure:
    return RuntimeFailure(
        f"Unable to apply ResultPath '{expr}' to input '{dumps(raw_input)}'",
        "States.ResultPathMatchFailure",
    )


def result_path(expr: Any, raw_input: Any, result: Any) -> Any:
    """Combine the state input and its result as ResultPath says.

    Absent means ``$`` (the result replaces the input), null discards the result. Otherwise the
    path must be a reference path; missing objects along it are created.
    """
    if expr is MISSING or expr == "$":
        return result
    if expr is None:
        return raw_input
    steps = _reference_steps(expr)
    root = copy.deepcopy(raw_input)
    if not isinstance(root, dict | list):
        raise _unappliable(expr, raw_input)
    node: Any = root
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                raise _unappliable(expr, raw_input)
            if last:
                node[step] = result
            else:
                node = node[step]
            continue
        if not isinstance(node, dict):
            raise _unappliable(expr, raw_input)
        if last:
            node[step] = result
        else:
            if not isinstance(node.get(step), dict | list):
                node[step] = {}
            node = node[step]
    return root
