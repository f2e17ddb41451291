"""Opaque ``nextToken`` pagination over listings ordered by a monotonically growing key.

A token encodes the operation it belongs to and the last key served, so a token from one
listing cannot be replayed against another and a tampered token is refused like AWS does.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import TypeVar

from batchyard.batch.resources.names import client_error

T = TypeVar("T")

DEFAULT_PAGE = 100


def encode_token(listing: str, last_key: int) -> str:
    """A token that resumes ``listing`` after the row with key ``last_key``."""
    raw = json.dumps({"l": listing, "k": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(listing: str, token: str | None) -> int | None:
    """The key to resume after, None for the first page; ClientException for a bad token."""
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        raise client_error("Invalid nextToken") from None
    if (
        not isinstance(document, dict)
        or document.get("l") != listing
        or isinstance(document.get("k"), bool)
        or not isinstance(document.get("k"), int)
    ):
        raise client_error("Invalid nextToken")
    return document["k"]


def page_size(
    max_results: int | None, *, limit: int = DEFAULT_PAGE, default: int = DEFAULT_PAGE
) -> int:
    """The page size ``maxResults`` asks for, within 1..``limit`` as AWS requires."""
    if max_results is None:
        return default
    if max_results < 1 or max_results > limit:
        raise client_error(f"maxResults must be between 1 and {limit}.")
    return max_results


def paginate(listing: str, rows: Sequence[tuple[int, T]], size: int) -> tuple[list[T], str | None]:
    """Split keyed ``rows`` (already after the resume key, in order) into a page and a token.

    ``rows`` may hold one more than ``size`` items; that extra item only signals a next page.
    """
    page = list(rows[:size])
    token = encode_token(listing, page[-1][0]) if len(rows) > size and page else None
    return [item for _, item in page], token
