"""Values as the ASL layer handles them: :data:`MISSING` (a field that is absent, as opposed to
present with JSON null), the two query languages, and JSON text as AWS writes it."""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, Final

JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"


class _Missing:
    """Marks a field that is absent, as opposed to present with JSON null."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


# Typed Any: it stands in for any JSON value a definition field may hold.
MISSING: Any = _Missing()


def dumps(value: Any) -> str:
    """Compact JSON as AWS renders payloads in history events and error causes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class JsonTextError(ValueError):
    """JSON text Step Functions does not take: a syntax error, a number out of range, or a
    string holding a lone surrogate (which no UTF-8 payload can carry).

    ``message`` tells the whole problem; for a syntax error ``reason`` is the problem alone
    and ``position`` its ``(line, column)``, for messages that place it themselves."""

    def __init__(
        self, message: str, position: tuple[int, int] | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.reason = reason or message


# A \u escape of a surrogate: only such an escape can put a lone one into a parsed string.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    limit = sys.get_int_max_str_digits()
    if limit and digits > limit:
        raise JsonTextError(f"Number value length ({digits}) exceeds the maximum allowed ({limit})")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JsonTextError(f"Number value ({text[:40]}) is out of range of a double")
    return value


def _no_constant(name: str) -> Any:
    raise JsonTextError(f"Unrecognized token '{name}'")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def loads(text: str) -> Any:
    """Parse JSON text as Step Functions takes it (input, output, definitions, variables).

    Python's parser accepts what AWS's does not and what would break later: ``NaN`` and
    ``Infinity``, numbers that overflow a double or have more digits than Python converts,
    and escaped lone surrogates, which fail every UTF-8 encoding of the value (its size
    check, its history event, its row). All raise :class:`JsonTextError`.
    """
    try:
        value = json.loads(
            text, parse_int=_integer, parse_float=_finite, parse_constant=_no_constant
        )
    except json.JSONDecodeError as exc:
        raise JsonTextError(str(exc), (exc.lineno, exc.colno), exc.msg) from None
    except RecursionError:
        raise JsonTextError("The document is nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise JsonTextError("Invalid UTF-16 surrogate: a string holds a lone surrogate")
    return value
