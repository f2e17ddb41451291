"""Opaque pagination tokens shared by the List* operations."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from batchyard.protocol.errors import ServiceError

T = TypeVar("T")

DEFAULT_PAGE = 100
MAX_PAGE = 1000


def _invalid(token: str) -> ServiceError:
    return ServiceError("InvalidToken", f"Invalid Token: '{token}'")


def decode_token(token: str | None, scope: str) -> int:
    """The offset a ``nextToken`` resumes at; tokens only work for the listing that made them."""
    if not token:
        return 0
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _invalid(token) from None
    if not isinstance(document, dict) or document.get("s") != scope:
        raise _invalid(token)
    offset = document.get("o")
    if not isinstance(offset, int) or offset < 0:
        raise _invalid(token)
    return offset


def encode_token(offset: int, scope: str) -> str:
    """A ``nextToken`` that resumes listing ``scope`` at ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"s": scope, "o": offset}).encode()).decode()


def page(
    items: Sequence[T], params: dict[str, Any], scope: str, default: int = DEFAULT_PAGE
) -> tuple[list[T], str | None]:
    """Cut one page out of ``items`` by the request's ``maxResults`` and ``nextToken``."""
    start = decode_token(params.get("nextToken"), scope)
    size = params.get("maxResults") or default
    size = min(size, MAX_PAGE)
    chunk = list(items[start : start + size])
    more = start + size < len(items)
    return chunk, encode_token(start + size, scope) if more else None
