"""The Amazon States Language layer: parse, validate and interpret state machines.

Pure Python, no HTTP and no database: the durable engine in ``batchyard.states`` wraps it.
"""

from batchyard.states.asl.definition import StateMachine, parse_definition
from batchyard.states.asl.errors import FailureError, InvalidDefinitionError, TaskFailure
from batchyard.states.asl.interpreter import (
    Clock,
    ExecutionInfo,
    ExecutionResult,
    Interpreter,
    SystemClock,
    VirtualClock,
)
from batchyard.states.asl.task import EchoInvoker, TaskInvoker, TaskRequest

__all__ = [
    "Clock",
    "EchoInvoker",
    "ExecutionInfo",
    "ExecutionResult",
    "FailureError",
    "Interpreter",
    "InvalidDefinitionError",
    "StateMachine",
    "SystemClock",
    "TaskFailure",
    "TaskInvoker",
    "TaskRequest",
    "VirtualClock",
    "parse_definition",
]
