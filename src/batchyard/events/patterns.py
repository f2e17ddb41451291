"""EventBridge event patterns: validation and matching, as pure functions over parsed JSON.

A pattern is compiled once (``compile_pattern``), which validates it with the reasons AWS
gives in ``InvalidEventPatternException``, and then tested against events (``matches``).

Semantics, as the EventBridge content-filtering documentation describes them:

* a pattern object matches when every field in it matches (AND); the values listed for a
  field are alternatives (OR); ``$or`` holds alternative sub-patterns at the same level;
* comparison operators apply to leaf values only; an array in the event matches when any of
  its elements matches; a nested pattern over an array of objects needs one element to match
  the whole sub-pattern;
* ``exists: false`` matches a field that is absent (an empty array or an object counts as no
  leaf value), ``null`` in a pattern matches ``null`` in the event, and ``anything-but``
  never matches an absent field.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_MISSING = object()
_OR = "$or"
_NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")
# Deeper patterns are refused rather than risk the interpreter's recursion limit.
MAX_DEPTH = 100


class InvalidEventPattern(ValueError):
    """A pattern EventBridge would refuse; ``message`` is AWS's full error text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        return f"Event pattern is not valid. Reason: {self.reason}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(expected: Any, actual: Any) -> bool:
    """JSON equality without Python's True == 1 or "1" == 1 confusions."""
    if expected is None or isinstance(expected, bool):
        return actual is expected
    if _is_number(expected):
        return _is_number(actual) and actual == expected
    return isinstance(actual, str) and actual == expected


@dataclass(frozen=True)
class Exact:
    """A literal value: string, number (compared numerically), boolean or null."""

    value: Any

    def test(self, value: Any) -> bool:
        return _same(self.value, value)


@dataclass(frozen=True)
class Prefix:
    text: str
    ignore_case: bool = False

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return value.casefold().startswith(self.text.casefold())
        return value.startswith(self.text)


@dataclass(frozen=True)
class Suffix:
    text: str
    ignore_case: bool = False

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return value.casefold().endswith(self.text.casefold())
        return value.endswith(self.text)


@dataclass(frozen=True)
class EqualsIgnoreCase:
    text: str

    def test(self, value: Any) -> bool:
        return isinstance(value, str) and value.casefold() == self.text.casefold()


@dataclass(frozen=True)
class Wildcard:
    """``*`` stands for any run of characters; ``\\*`` and ``\\\\`` are literal."""

    regex: re.Pattern[str]

    def test(self, value: Any) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class Numeric:
    """A numeric interval; only JSON numbers in the event can fall in it."""

    low: float
    low_open: bool
    high: float
    high_open: bool

    def test(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        above: bool = value > self.low if self.low_open else value >= self.low
        below: bool = value < self.high if self.high_open else value <= self.high
        return above and below


@dataclass(frozen=True)
class Cidr:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network


@dataclass(frozen=True)
class AnythingBut:
    """Matches a present value that none of ``excluded`` matches."""

    excluded: tuple[Matcher, ...]

    def test(self, value: Any) -> bool:
        return not any(matcher.test(value) for matcher in self.excluded)


@dataclass(frozen=True)
class Exists:
    present: bool


Matcher = Exact | Prefix | Suffix | EqualsIgnoreCase | Wildcard | Numeric | Cidr | AnythingBut


@dataclass(frozen=True)
class Leaf:
    """The alternatives listed for one field."""

    alternatives: tuple[Matcher | Exists, ...]


@dataclass(frozen=True)
class Pattern:
    """One object level of a pattern: its fields (all must match) and its ``$or`` groups."""

    fields: tuple[tuple[str, Pattern | Leaf], ...]
    any_of: tuple[tuple[Pattern, ...], ...] = ()


def compile_pattern(source: str | dict[str, Any]) -> Pattern:
    """Validate an event pattern (JSON text or parsed) and compile it for ``matches``.

    Raises ``InvalidEventPattern`` with AWS's reason when the pattern is not valid.
    """
    if isinstance(source, str):
        try:
            document = json.loads(source)
        except ValueError as exc:
            raise InvalidEventPattern(f"Invalid JSON: {exc.args[0]}") from None
        except RecursionError:
            raise InvalidEventPattern("Invalid JSON: nesting too deep") from None
    else:
        document = source
    if not isinstance(document, dict):
        raise InvalidEventPattern("Filter is not an object")
    return _object(document, 1)


def matches(pattern: Pattern, event: dict[str, Any]) -> bool:
    """Whether ``event`` (a parsed JSON object) matches the compiled ``pattern``."""
    return _match_object(pattern, event)


def _object(document: dict[str, Any], depth: int) -> Pattern:
    if not document:
        raise InvalidEventPattern("Empty objects are not allowed")
    if depth > MAX_DEPTH:
        raise InvalidEventPattern(f"Filter is nested deeper than {MAX_DEPTH} levels")
    fields: list[tuple[str, Pattern | Leaf]] = []
    any_of: list[tuple[Pattern, ...]] = []
    for name, value in document.items():
        if name == _OR:
            any_of.append(_alternatives(value, depth))
        elif isinstance(value, dict):
            fields.append((name, _object(value, depth + 1)))
        elif isinstance(value, list):
            fields.append((name, _leaf(value)))
        else:
            raise InvalidEventPattern(f'"{name}" must be an object or an array')
    return Pattern(tuple(fields), tuple(any_of))


def _alternatives(value: Any, depth: int) -> tuple[Pattern, ...]:
    if not isinstance(value, list):
        raise InvalidEventPattern("It must be an Array followed with $or.")
    for item in value:
        if not isinstance(item, dict):
            raise InvalidEventPattern("Only JSON object is allowed in array of $or relationship.")
    if len(value) < 2:
        raise InvalidEventPattern("There must have at least 2 Objects in $or relationship.")
    return tuple(_object(item, depth + 1) for item in value)


def _leaf(values: list[Any]) -> Leaf:
    if not values:
        raise InvalidEventPattern("Empty arrays are not allowed")
    alternatives: list[Matcher | Exists] = []
    for value in values:
        if isinstance(value, dict):
            alternatives.append(_expression(value))
        elif isinstance(value, list):
            raise InvalidEventPattern("Match value must be String, number, true, false, or null")
        else:
            alternatives.append(Exact(value))
    return Leaf(tuple(alternatives))


def _expression(expression: dict[str, Any]) -> Matcher | Exists:
    if not expression:
        raise InvalidEventPattern("Match expression name not found")
    name, value = next(iter(expression.items()))
    builder = _EXPRESSIONS.get(name)
    if builder is None:
        raise InvalidEventPattern(f"Unrecognized match type {name}")
    matcher = builder(value)
    if len(expression) > 1:
        raise InvalidEventPattern("Only one key allowed in match expression")
    return matcher


def _ignore_case_operand(value: Any, operator: str) -> tuple[str, bool]:
    """The operand of prefix/suffix: a string, or ``{"equals-ignore-case": string}``."""
    if isinstance(value, str):
        return value, False
    if (
        isinstance(value, dict)
        and list(value) == ["equals-ignore-case"]
        and isinstance(value["equals-ignore-case"], str)
    ):
        return value["equals-ignore-case"], True
    raise InvalidEventPattern(f"{operator} match pattern must be a string")


def _prefix(value: Any) -> Matcher:
    return Prefix(*_ignore_case_operand(value, "prefix"))


def _suffix(value: Any) -> Matcher:
    return Suffix(*_ignore_case_operand(value, "suffix"))


def _equals_ignore_case(value: Any) -> Matcher:
    if not isinstance(value, str):
        raise InvalidEventPattern("equals-ignore-case match pattern must be a string")
    return EqualsIgnoreCase(value)


def _wildcard(value: Any) -> Matcher:
    if not isinstance(value, str):
        raise InvalidEventPattern("wildcard match pattern must be a string")
    return Wildcard(_wildcard_regex(value))


def _wildcard_regex(text: str) -> re.Pattern[str]:
    parts: list[str] = []
    position = 0
    previous_star = False
    while position < len(text):
        char = text[position]
        if char == "*":
            if previous_star:
                raise InvalidEventPattern(f"Consecutive wildcard characters at pos {position}")
            parts.append(".*")
            previous_star = True
        elif char == "\\":
            following = text[position + 1 : position + 2]
            if following not in ("*", "\\"):
                raise InvalidEventPattern(f"Invalid escape character at pos {position}")
            parts.append(re.escape(following))
            position += 1
            previous_star = False
        else:
            parts.append(re.escape(char))
            previous_star = False
        position += 1
    return re.compile("".join(parts), re.DOTALL)


def _numeric(value: Any) -> Matcher:
    if not isinstance(value, list):
        raise InvalidEventPattern("Value of numeric must be an array.")
    if not value or not isinstance(value[0], str):
        shown = json.dumps(value[0]) if value else "]"
        raise InvalidEventPattern(f"Invalid member in numeric match: {shown}")
    operator = value[0]
    if operator not in _NUMERIC_OPERATORS:
        raise InvalidEventPattern(f"Unrecognized numeric range operator: {operator}")
    if len(value) < 2 or not _is_number(value[1]):
        shown = "equals" if operator == "=" else operator
        raise InvalidEventPattern(f"Value of {shown} must be numeric")
    bound = float(value[1])
    if operator in ("=", "<", "<="):
        if len(value) > 2:
            raise InvalidEventPattern("Too many elements in numeric expression")
        if operator == "=":
            return Numeric(bound, False, bound, False)
        return Numeric(-math.inf, True, bound, operator == "<")
    low_open = operator == ">"
    if len(value) == 2:
        return Numeric(bound, low_open, math.inf, True)
    upper = value[2]
    if not isinstance(upper, str):
        raise InvalidEventPattern(f"Bad value in numeric range: {json.dumps(upper)}")
    if upper not in ("<", "<="):
        raise InvalidEventPattern(f"Bad numeric range operator: {upper}")
    if len(value) < 4 or not _is_number(value[3]):
        raise InvalidEventPattern(f"Value of {upper} must be numeric")
    if len(value) > 4:
        raise InvalidEventPattern("Too many terms in numeric range expression")
    top = float(value[3])
    if top <= bound:
        raise InvalidEventPattern("Bottom must be less than top")
    return Numeric(bound, low_open, top, upper == "<")


def _exists(value: Any) -> Exists:
    if not isinstance(value, bool):
        raise InvalidEventPattern("exists match pattern must be either true or false.")
    return Exists(value)


def _cidr(value: Any) -> Matcher:
    if not isinstance(value, str):
        raise InvalidEventPattern("cidr match pattern must be a string")
    if value.count("/") != 1:
        raise InvalidEventPattern("Malformed CIDR, one '/' required")
    try:
        return Cidr(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise InvalidEventPattern(f"Nonstandard IP address: {value.split('/')[0]}") from None


def _anything_but(value: Any) -> Matcher:
    if isinstance(value, dict):
        return AnythingBut(_anything_but_operator(value))
    if isinstance(value, str) or _is_number(value):
        return AnythingBut((Exact(value),))
    if not isinstance(value, list):
        raise InvalidEventPattern(
            "Value of anything-but must be an array or single string/number value."
        )
    for item in value:
        if not (isinstance(item, str) or _is_number(item)):
            raise InvalidEventPattern(
                "Inside anything but list, start|null|boolean is not supported."
            )
    kinds = {isinstance(item, str) for item in value}
    if len(kinds) != 1:
        raise InvalidEventPattern(
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported"
        )
    return AnythingBut(tuple(Exact(item) for item in value))


def _anything_but_operator(value: dict[str, Any]) -> tuple[Matcher, ...]:
    if not value:
        raise InvalidEventPattern("Anything-But expression name not found")
    if len(value) > 1:
        raise InvalidEventPattern("Only one key allowed in match expression")
    name, operand = next(iter(value.items()))
    if name in ("prefix", "suffix"):
        if not isinstance(operand, str):
            raise InvalidEventPattern("prefix/suffix match pattern must be a string")
        if not operand:
            raise InvalidEventPattern("Null prefix/suffix not allowed")
        return (Prefix(operand) if name == "prefix" else Suffix(operand),)
    if name in ("equals-ignore-case", "wildcard"):
        operands = operand if isinstance(operand, list) else [operand]
        if not operands or not all(isinstance(item, str) for item in operands):
            raise InvalidEventPattern(
                f"Inside anything-but/{name} list, number|start|null|boolean is not supported."
            )
        if name == "wildcard":
            return tuple(Wildcard(_wildcard_regex(item)) for item in operands)
        return tuple(EqualsIgnoreCase(item) for item in operands)
    raise InvalidEventPattern(f"Unsupported anything-but pattern: {name}")


_EXPRESSIONS = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "numeric": _numeric,
    "exists": _exists,
    "cidr": _cidr,
    "anything-but": _anything_but,
}


def _leaf_values(value: Any) -> Iterator[Any]:
    """The scalar values at a field: arrays are flattened; objects hold no leaf value."""
    if value is _MISSING or isinstance(value, dict):
        return
    if isinstance(value, list):
        for item in value:
            yield from _leaf_values(item)
        return
    yield value


def _match_leaf(leaf: Leaf, value: Any) -> bool:
    values = list(_leaf_values(value))
    for alternative in leaf.alternatives:
        if isinstance(alternative, Exists):
            if bool(values) == alternative.present:
                return True
        elif any(alternative.test(item) for item in values):
            return True
    return False


def _match_nested(pattern: Pattern, value: Any) -> bool:
    if isinstance(value, dict):
        return _match_object(pattern, value)
    if isinstance(value, list):
        objects = [item for item in value if isinstance(item, dict)]
        if objects:
            return any(_match_object(pattern, item) for item in objects)
    return _match_object(pattern, {})


def _match_object(pattern: Pattern, event: dict[str, Any]) -> bool:
    for name, sub in pattern.fields:
        value = event.get(name, _MISSING)
        if isinstance(sub, Leaf):
            if not _match_leaf(sub, value):
                return False
        elif not _match_nested(sub, value):
            return False
    return all(
        any(_match_object(branch, event) for branch in group) for group in pattern.any_of
    )
