"""Step Functions: the ASL language, the durable execution engine and the API around them.

:class:`StepFunctions` is the service's one door; the names below are what other code needs
to call it: the Task port (:class:`TaskRequest` in, a result or :class:`TaskFailure` out,
:class:`RuntimeFailure` for a request the task cannot make sense of), the entities it answers
with, and the bus topics of execution status changes and state transitions.
"""

from batchyard.states.asl import RuntimeFailure, TaskFailure, TaskInvoker, TaskRequest
from batchyard.states.model import Execution, ExecutionStatus, MachineType
from batchyard.states.runner import EXECUTION_TOPIC, STATE_TOPIC
from batchyard.states.service import StepFunctions
from batchyard.states.tasks import unknown_resource

__all__ = [
    "EXECUTION_TOPIC",
    "STATE_TOPIC",
    "Execution",
    "ExecutionStatus",
    "MachineType",
    "RuntimeFailure",
    "StepFunctions",
    "TaskFailure",
    "TaskInvoker",
    "TaskRequest",
    "unknown_resource",
]
