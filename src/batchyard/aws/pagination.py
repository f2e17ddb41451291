"""Opaque ``nextToken`` values, one codec for every service.

A token names the listing it belongs to and the position to resume at (a key, an offset or a
name), so a token from one listing cannot be replayed against another, and a token the
server did not make is refused with the service's own error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
Position = int | str


class Pager:
    """Encodes and decodes the tokens of one service; ``invalid(token)`` is its error."""

    def __init__(self, invalid: Callable[[str], Exception]) -> None:
        self._invalid = invalid

    def encode(self, listing: str, position: Position) -> str:
        """A token that resumes ``listing`` at ``position``."""
        raw = json.dumps([listing, position], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def decode(self, listing: str, token: str | None) -> Position | None:
        """The position ``token`` resumes ``listing`` at; None for no token."""
        if token is None:
            return None
        try:
            padded = token + "=" * (-len(token) % 4)
            document = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        except (binascii.Error, ValueError, UnicodeError, RecursionError):
            raise self._invalid(token) from None
        if (
            not isinstance(document, list)
            or len(document) != 2
            or document[0] != listing
            or isinstance(document[1], bool)
            or not isinstance(document[1], int | str)
        ):
            raise self._invalid(token)
        position: Position = document[1]
        return position

    def decode_int(self, listing: str, token: str | None) -> int | None:
        """:meth:`decode` for listings whose positions are integers (keys or offsets)."""
        position = self.decode(listing, token)
        if position is not None and (not isinstance(position, int) or position < 0):
            raise self._invalid(str(token))
        return position

    def offset_page(
        self, listing: str, items: Sequence[T], token: str | None, size: int
    ) -> tuple[list[T], str | None]:
        """One page of ``items`` (the whole listing) from the offset ``token`` holds."""
        start = self.decode_int(listing, token) or 0
        end = start + size
        return list(items[start:end]), self.encode(listing, end) if end < len(items) else None

    def keyed_page(
        self, listing: str, rows: Sequence[tuple[Position, T]], size: int
    ) -> tuple[list[T], str | None]:
        """Cut ``(key, item)`` rows read after the resume key, at most ``size + 1`` of them,
        into a page and the token of the next one (the extra row only says there is more)."""
        page = list(rows[:size])
        more = len(rows) > size and page
        return [item for _, item in page], self.encode(listing, page[-1][0]) if more else None
