"""Event stream messages read back by botocore's own parser."""

from __future__ import annotations

from botocore.eventstream import EventStreamBuffer

from batchyard.protocol import eventstream


def test_botocore_reads_back_events_and_exceptions() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(eventstream.event("sessionStart", b'{"sessionId":"s"}'))
    buffer.add_data(eventstream.exception("SessionTimeoutException", b'{"message":"over"}'))
    first, second = list(buffer)
    assert first.headers == {
        ":message-type": "event", ":event-type": "sessionStart",
        ":content-type": "application/json",
    }
    assert first.payload == b'{"sessionId":"s"}'
    assert second.headers[":message-type"] == "exception"
    assert second.headers[":exception-type"] == "SessionTimeoutException"
    assert second.payload == b'{"message":"over"}'


def test_a_message_split_anywhere_is_read_whole() -> None:
    data = eventstream.event("sessionUpdate", b"{}" * 1000)
    buffer = EventStreamBuffer()
    found = []
    for start in range(0, len(data), 7):
        buffer.add_data(data[start:start + 7])
        found.extend(buffer)
    assert [m.payload for m in found] == [b"{}" * 1000]
