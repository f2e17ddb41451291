"""Step Functions service integrations: Task resources served by batchyard's own services.

One module per integration; :func:`register_integrations` plugs them all into the facade at
start-up, before interrupted executions resume (``StepFunctions.start``).
"""

from __future__ import annotations

from batchyard.batch import JOB_TOPIC
from batchyard.runtime import Runtime
from batchyard.states.integrations import batch, lambda_invoke, start_execution
from batchyard.states.integrations.waits import Children, TokenWait, Watch
from batchyard.states.runner import EXECUTION_TOPIC
from batchyard.states.service import StepFunctions


def register_integrations(runtime: Runtime, states: StepFunctions) -> None:
    """Route the integrations' resource ARNs to them in ``states``."""
    bus = runtime.bus
    jobs = Watch(bus, JOB_TOPIC, lambda job: job["jobId"], batch.job_ended)
    executions = Watch(
        bus, EXECUTION_TOPIC, lambda e: e["executionArn"], start_execution.execution_ended
    )
    children = Children(bus, EXECUTION_TOPIC)
    tokens = TokenWait(states)
    states.register_invoker(
        batch.RESOURCE, batch.BatchSubmitJob(runtime, jobs, children, states.settle)
    )
    states.register_invoker(lambda_invoke.RESOURCE, lambda_invoke.LambdaInvoke(runtime, tokens))
    states.register_invoker(lambda_invoke.FUNCTION_ARN_PREFIX, lambda_invoke.FunctionTask(runtime))
    states.register_invoker(
        start_execution.RESOURCE,
        start_execution.StartExecution(states, executions, children, tokens),
    )
