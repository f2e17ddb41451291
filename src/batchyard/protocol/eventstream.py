"""The AWS event stream encoding (``application/vnd.amazon.eventstream``), for operations whose
output streams events (CloudWatch Logs' StartLiveTail).

Each message is a prelude (total length, headers length, the prelude's CRC32), headers, a
payload and the whole message's CRC32, all big-endian; botocore's ``EventStreamBuffer`` is the
reader the tests check it against. Only string headers are written: ``:message-type``,
``:event-type`` or ``:exception-type``, and ``:content-type``.
"""

from __future__ import annotations

import struct
from zlib import crc32

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def _headers(headers: dict[str, str]) -> bytes:
    encoded = bytearray()
    for name, value in headers.items():
        key, text = name.encode(), value.encode()
        encoded += struct.pack("!B", len(key)) + key
        encoded += struct.pack("!BH", _STRING, len(text)) + text
    return bytes(encoded)


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event stream message."""
    header_bytes = _headers(headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", crc32(prelude))
    body = prelude + header_bytes + payload
    return body + struct.pack("!I", crc32(body))


def event(event_type: str, payload: bytes) -> bytes:
    """An ``event`` message of ``event_type`` with a JSON payload."""
    return message(
        {":message-type": "event", ":event-type": event_type,
         ":content-type": "application/json"},
        payload,
    )


def exception(exception_type: str, payload: bytes) -> bytes:
    """An ``exception`` message (the stream's modelled errors), with a JSON payload."""
    return message(
        {":message-type": "exception", ":exception-type": exception_type,
         ":content-type": "application/json"},
        payload,
    )
