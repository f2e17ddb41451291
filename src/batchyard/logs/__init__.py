"""CloudWatch Logs: log groups, streams and events, and the live sink job and function output
flows through. :class:`Logs` is the service's one door."""

from batchyard.logs.service import Logs

__all__ = ["Logs"]
