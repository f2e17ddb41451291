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

# A variable's name is a Unicode identifier.
_VAR_PATH = re.compile(r"^\$([^\W\d]\w*)(.*)$", re.DOTALL)


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


# The steps of a definite path as Jayway reads them: a dot name runs to the next '.' or '['
# (a blank in it is an error, '*' is a wildcard, '(' a function); a bracketed name keeps its
# text as written, a backslash only stopping the next quote from closing it.
_DOT_NAME = re.compile(r"\.([^.\[\]()]+)")
_QUOTED = re.compile(r"\[\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")


def _definite_steps(path: str) -> list[str | int] | None:
    """The names and indexes of a definite input path (``$`` first), None for another."""
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _DOT_NAME.match(path, pos)
        if m is not None:
            name = m.group(1)
            if name == "*" or " " in name:
                return None
            steps.append(name)
        elif (m := _QUOTED.match(path, pos)) is not None:
            steps.append(m.group(1) if m.group(1) is not None else m.group(2))
        elif (m := _INDEX.match(path, pos)) is not None:
            steps.append(int(m.group(1)))
        else:
            return None
        pos = m.end()
    return steps


def _walk(steps: list[str | int], data: Any) -> Any:
    node = data
    for step in steps:
        named = isinstance(step, str) and isinstance(node, dict) and step in node
        indexed = (
            isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node)
        )
        if not (named or indexed):
            raise PathNotFound(step)
        node = node[step]
    return node


def _blank_dot_name(path: str) -> bool:
    """Whether a dot name outside brackets holds a blank, which Jayway refuses ("use bracket
    notation"); a filter's own blanks are fine."""
    depth = 0
    name: str | None = None
    for ch in path:
        if depth == 0 and name is not None:
            if ch in ".[(":
                name = None
            elif ch == " ":
                return True
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "." and depth == 0:
            name = ""
    return False


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
    if _definite_steps(rest) is not None:
        return True
    if _blank_dot_name(rest):
        return False
    try:
        _compile(rest)
    except (JsonPathParserError, JsonPathLexerError, Exception):
        return False
    return True


def check_reference_path(expr: str) -> bool:
    """True for a Reference Path: a definite input path, which ResultPath requires."""
    if not isinstance(expr, str) or not expr.startswith("$") or expr.startswith("$$"):
        return False
    if _VAR_PATH.match(expr):
        return False
    return _definite_steps(expr) is not None


def is_definite(expr: str) -> bool:
    """A definite path selects at most one node, so Jayway returns it unwrapped."""
    return _definite_steps(expr) is not None


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
    steps = _definite_steps(expr)
    if steps is not None:
        return _walk(steps, data)
    try:
        matches = _compile(expr).find(data)
    except (JsonPathParserError, JsonPathLexerError) as exc:
        raise PathNotFound(expr) from exc
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


def _reference_steps(expr: str) -> list[str | int]:
    steps = _definite_steps(expr)
    if steps is None:
        raise RuntimeFailure(f"Invalid ResultPath '{expr}'")
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
