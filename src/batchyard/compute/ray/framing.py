"""Frames between the server and its Ray driver process: a 4-byte length, then a pickle.

Both ends are this package's own code on the same machine (the driver is the server's child,
on a socket pair nobody else holds), so pickle carries the plain dicts, lists and tuples they
exchange without a schema of its own.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from typing import Any

HEADER = struct.Struct(">I")


def encode(message: dict[str, Any]) -> bytes:
    """``message`` as one frame."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


async def read(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The next frame's message; raises ``asyncio.IncompleteReadError`` at end of stream."""
    (length,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    message: dict[str, Any] = pickle.loads(await reader.readexactly(length))
    return message
