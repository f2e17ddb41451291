"""Step Functions' own integration (``states:startExecution``), and the kit every Task
integration uses: ``calls`` (parameters in a service's members, results back in PascalCase,
task errors, SDK metadata, stable child names) and ``waits`` (a child's end from the bus, a
task token's answer). The integrations that call
another service live in ``batchyard.integrations`` and use this kit.

:func:`register_integrations` plugs Step Functions' own into the facade at start-up, before
interrupted executions resume (``StepFunctions.start``).
"""

from __future__ import annotations

from batchyard.bus import Bus
from batchyard.states.integrations import start_execution
from batchyard.states.integrations.waits import Children, TokenWait, Watch
from batchyard.states.runner import EXECUTION_TOPIC
from batchyard.states.service import StepFunctions


def register_integrations(bus: Bus, states: StepFunctions) -> None:
    """Route Step Functions' own integration's resource ARN to it in ``states``."""
    executions = Watch(
        bus, EXECUTION_TOPIC, lambda e: e["executionArn"], start_execution.execution_ended
    )
    children = Children(bus, EXECUTION_TOPIC)
    tokens = TokenWait(states)
    states.register_invoker(
        start_execution.RESOURCE,
        start_execution.StartExecution(states, executions, children, tokens),
    )
