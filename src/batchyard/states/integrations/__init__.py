"""Step Functions service integrations: Task resources served by batchyard's own services.

One module per integration; :func:`register_integrations` plugs them all into the engine's
invoker registry at start-up, before interrupted executions resume.
"""

from __future__ import annotations

from batchyard.batch import JOB_TOPIC
from batchyard.runtime import Runtime
from batchyard.states.engine.engine import StatesEngine
from batchyard.states.engine.runner import EXECUTION_TOPIC
from batchyard.states.integrations import batch, lambda_invoke, put_events, start_execution
from batchyard.states.integrations.tokens import TokenWait
from batchyard.states.integrations.watch import Children, Watch


def register_integrations(runtime: Runtime, engine: StatesEngine) -> None:
    """Route the integrations' resource ARNs to them in ``engine``'s invoker registry."""
    bus = runtime.bus
    jobs = Watch(bus, JOB_TOPIC, lambda job: job["jobId"], batch.job_ended)
    executions = Watch(
        bus, EXECUTION_TOPIC, lambda e: e["executionArn"], start_execution.execution_ended
    )
    children = Children(bus, EXECUTION_TOPIC)
    tokens = TokenWait(engine.tokens)
    invokers = engine.invokers
    invokers.register(batch.RESOURCE, batch.BatchSubmitJob(runtime, jobs, children, engine.settle))
    invokers.register(lambda_invoke.RESOURCE, lambda_invoke.LambdaInvoke(runtime, tokens))
    invokers.register(lambda_invoke.FUNCTION_ARN_PREFIX, lambda_invoke.FunctionTask(runtime))
    invokers.register(
        start_execution.RESOURCE,
        start_execution.StartExecution(engine, executions, children, tokens),
    )
    invokers.register(put_events.RESOURCE, put_events.PutEvents(runtime, tokens))
