"""CloudWatch Logs filter patterns, the plain-term subset.

A pattern is a list of terms separated by spaces; a term in double quotes may contain
spaces. An event matches when it contains every plain term, none of the ``-`` terms and, if
there are ``?`` terms, at least one of them. Matching is case-sensitive, as in CloudWatch.
JSON (``{ ... }``) and space-delimited (``[ ... ]``) patterns are not supported.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from batchyard.protocol.errors import ServiceError

Matcher = Callable[[str], bool]


def compile_pattern(pattern: str | None) -> Matcher:
    """A predicate over messages for ``pattern``; the empty pattern matches everything."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text[0] in "{[":
        raise ServiceError(
            "InvalidParameterException",
            "Only plain-term filter patterns are supported by this server",
        )
    try:
        terms = shlex.split(text, posix=True)
    except ValueError:
        raise ServiceError("InvalidParameterException", "Invalid character(s) in term") from None
    required = [t for t in terms if not t.startswith(("?", "-")) or len(t) == 1]
    excluded = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
    optional = [t[1:] for t in terms if t.startswith("?") and len(t) > 1]

    def match(message: str) -> bool:
        if any(term not in message for term in required):
            return False
        if any(term in message for term in excluded):
            return False
        return not optional or any(term in message for term in optional)

    return match
