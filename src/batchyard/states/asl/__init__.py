"""The Amazon States Language layer: parse, validate and interpret state machines.

Pure Python, no HTTP and no database: the durable engine in ``batchyard.states`` wraps it.
"""

from batchyard.states.asl.definition import StateMachine, load_definition, parse_definition
from batchyard.states.asl.errors import (
    FailureError,
    InvalidDefinitionError,
    RuntimeFailure,
    TaskFailure,
)
from batchyard.states.asl.interpreter import (
    Clock,
    ExecutionResult,
    Interpreter,
    SystemClock,
    VirtualClock,
)
from batchyard.states.asl.runtime import (
    ExecutionInfo,
    ItemStatus,
    MapRunObserver,
    MapRunStart,
    TaskInvoker,
    TaskRequest,
)
from batchyard.states.asl.task import EchoInvoker, ScheduleFailure

__all__ = [
    "Clock",
    "EchoInvoker",
    "ExecutionInfo",
    "ExecutionResult",
    "FailureError",
    "Interpreter",
    "InvalidDefinitionError",
    "ItemStatus",
    "MapRunObserver",
    "MapRunStart",
    "RuntimeFailure",
    "ScheduleFailure",
    "StateMachine",
    "SystemClock",
    "TaskFailure",
    "TaskInvoker",
    "TaskRequest",
    "VirtualClock",
    "load_definition",
    "parse_definition",
]
