"""The composition root: the one place that builds the store, the bus, every service and the
integrations between them, in an explicit order, and hands collaborators in by constructor.

Start-up order matters: Logs first (every other service writes output through it), EventBridge
before Batch (job events of Batch's start-up recovery must reach the rules), Lambda after Batch,
Step Functions last (resumed executions call the other services).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from batchyard.aws.caller import Caller
from batchyard.batch import Batch
from batchyard.batch import api as batch_api
from batchyard.bus import Bus
from batchyard.compute.local import LocalProvider
from batchyard.config import Settings
from batchyard.functions import Lambda
from batchyard.functions import api as functions_api
from batchyard.integrations import states_batch, states_lambda
from batchyard.integrations.lambda_logs import LogsOutput
from batchyard.logs import Logs
from batchyard.logs import api as logs_api
from batchyard.protocol.legacy import LegacyApi
from batchyard.protocol.service import ServiceApi
from batchyard.runtime import Runtime
from batchyard.states import StepFunctions
from batchyard.states import api as states_api
from batchyard.states.integrations import register_integrations
from batchyard.store import Store

log = logging.getLogger(__name__)


@dataclass
class Server:
    """Everything one server process runs, in start-up order."""

    settings: Settings
    store: Store
    bus: Bus
    logs: Logs
    batch: Batch
    functions: Lambda
    states: StepFunctions
    runtime: Runtime
    legacy: list[LegacyApi]
    apis: list[ServiceApi] = field(default_factory=list)

    @property
    def caller(self) -> Caller:
        """The configured default account and region."""
        return Caller(self.settings.account_id, self.settings.region)

    async def start(self) -> None:
        """Start every service, in order."""
        await self.logs.start()
        for service in self.legacy:
            if service.name in _BEFORE_BATCH:
                await _start_legacy(service, self.runtime)
        await self.batch.start()
        for service in self.legacy:
            if service.name not in _BEFORE_BATCH:
                await _start_legacy(service, self.runtime)
        await self.functions.start()
        await self.states.start()

    async def stop(self) -> None:
        """Stop every service in reverse order, then flush and close the store."""
        try:
            await self.states.stop()
        except Exception:
            log.exception("shutdown of stepfunctions failed")
        try:
            await self.functions.stop()
        except Exception:
            log.exception("shutdown of lambda failed")
        for service in reversed(self.legacy):
            if service.name not in _BEFORE_BATCH:
                await _stop_legacy(service, self.runtime)
        try:
            await self.batch.stop()
        except Exception:
            log.exception("shutdown of batch failed")
        for service in reversed(self.legacy):
            if service.name in _BEFORE_BATCH:
                await _stop_legacy(service, self.runtime)
        try:
            await self.logs.stop()
        finally:
            self.store.close()


# Legacy services started before Batch (EventBridge: the job events of Batch's start-up
# recovery must reach the rules).
_BEFORE_BATCH = ("events",)


async def _start_legacy(service: LegacyApi, runtime: Runtime) -> None:
    for hook in service.startup:
        await hook(runtime)


async def _stop_legacy(service: LegacyApi, runtime: Runtime) -> None:
    for hook in reversed(service.shutdown):
        try:
            await hook(runtime)
        except Exception:
            log.exception("shutdown of %s failed", service.name)


def _legacy_services() -> list[LegacyApi]:
    # Importing a legacy handler module registers its operations on its service's LegacyApi.
    import batchyard.events.handlers.events
    import batchyard.events.handlers.rules
    import batchyard.events.handlers.tags
    import batchyard.events.handlers.targets  # noqa: F401
    from batchyard.events.service import api as events

    return [events]


def compose(settings: Settings) -> Server:
    """Build one server from ``settings``; nothing runs until :meth:`Server.start`."""
    if settings.time_scale <= 0:
        raise ValueError("time_scale must be greater than 0")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url, settings.account_id, settings.region)
    bus = Bus()
    logs = Logs(store, settings.time_scale)
    batch = Batch(
        store,
        bus,
        logs,
        LocalProvider(settings.data_dir / "attempts"),
        time_scale=settings.time_scale,
        retention_seconds=settings.job_retention_days * 86400,
        secrets_file=settings.resolved_secrets_file,
    )
    functions = Lambda(store, LogsOutput(logs), settings)
    states = StepFunctions(store, bus, settings.time_scale)
    runtime = Runtime(settings=settings, store=store, bus=bus)
    runtime.add(logs)
    runtime.add(batch)
    runtime.add(functions)
    runtime.add(states)
    # Before states.start(): a resumed Task must find its integration.
    register_integrations(runtime, states)
    states_batch.register(states, bus, batch)
    states_lambda.register(states, functions)
    legacy = _legacy_services()
    apis = [
        logs_api.api(logs),
        batch_api.api(batch),
        functions_api.api(functions),
        *(service.serve(runtime) for service in legacy),
        states_api.api(states),
    ]
    return Server(settings, store, bus, logs, batch, functions, states, runtime, legacy, apis)
