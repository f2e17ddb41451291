"""An attempt's output cut into log lines, the same way whichever provider it comes from.

A line ends at a newline; a line longer than CloudWatch Logs takes in one event is cut into
pieces; what is left at the end of the output is a last line of its own. Cutting depends
only on the bytes, never on how they arrived, so output read again from its start (a
re-attached container) gives the same lines and the same count.
"""

from __future__ import annotations

# CloudWatch Logs caps an event at 256 KiB; a longer line is split.
MAX_LINE_BYTES = 256 * 1024 - 26


class LineSplitter:
    """Cuts one output stream into lines; ``feed`` and ``close`` return the finished ones."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> list[str]:
        """The lines that ``chunk`` completes."""
        # Only the new chunk is searched and the rest is appended in place, so a long line
        # arriving in small pieces costs time in proportion to its length.
        *ends, rest = chunk.split(b"\n")
        lines: list[str] = []
        for end in ends:
            self._pending += end
            lines += _pieces(bytes(self._pending))
            self._pending.clear()
        self._pending += rest
        while len(self._pending) > MAX_LINE_BYTES:
            lines.append(_text(bytes(self._pending[:MAX_LINE_BYTES])))
            del self._pending[:MAX_LINE_BYTES]
        return lines

    def close(self) -> list[str]:
        """The unterminated rest, as a last line (none when the output ended with a newline)."""
        rest = bytes(self._pending)
        self._pending.clear()
        return _pieces(rest) if rest else []


def _pieces(line: bytes) -> list[str]:
    if len(line) <= MAX_LINE_BYTES:
        return [_text(line)]
    return [_text(line[i : i + MAX_LINE_BYTES]) for i in range(0, len(line), MAX_LINE_BYTES)]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
