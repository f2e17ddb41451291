"""The composition root: the one place that builds the store, the bus, every service and the
integrations between them, in an explicit order, and hands collaborators in by constructor.

Start-up order matters: Logs first (every other service writes output through it), EventBridge
before Batch (job events of Batch's start-up recovery must reach the rules), Lambda after Batch,
Step Functions last (resumed executions call the other services).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from batchyard.aws.caller import Caller
from batchyard.batch import JOB_TOPIC, Batch
from batchyard.batch import api as batch_api
from batchyard.bus import Bus
from batchyard.compute.container import ContainerProvider, PullPolicy
from batchyard.compute.engine import choose_engine
from batchyard.compute.identity import job_identities
from batchyard.compute.local import LocalProvider
from batchyard.compute.provider import ServiceAccess
from batchyard.compute.providers import DEFAULT_CLUSTER, Providers
from batchyard.compute.ray import NodeImages, RayProvider
from batchyard.config import Settings
from batchyard.events import FUNCTION, JOB_QUEUE, LOG_GROUP, STATE_MACHINE, EventBridge
from batchyard.events import api as events_api
from batchyard.functions import Lambda
from batchyard.functions import api as functions_api
from batchyard.integrations import states_batch, states_lambda, states_sdk
from batchyard.integrations.batch_events import BatchEvents
from batchyard.integrations.events_targets import (
    FunctionTarget,
    JobQueueTarget,
    LogGroupTarget,
    StateMachineTarget,
)
from batchyard.integrations.lambda_logs import LogsOutput
from batchyard.integrations.states_put_events import PutEvents
from batchyard.logs import Logs
from batchyard.logs import api as logs_api
from batchyard.metrics import Metrics
from batchyard.protocol.service import ServiceApi
from batchyard.states import EXECUTION_TOPIC, STATE_TOPIC, StepFunctions
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
    providers: Providers
    logs: Logs
    events: EventBridge
    batch_events: BatchEvents
    batch: Batch
    functions: Lambda
    states: StepFunctions
    metrics: Metrics
    apis: list[ServiceApi] = field(default_factory=list)

    @property
    def caller(self) -> Caller:
        """The configured default account and region."""
        return Caller(self.settings.account_id, self.settings.region)

    async def start(self) -> None:
        """Start every service, in order."""
        log.info("where jobs run: %s", self.providers.summary)
        await self.logs.start()
        await self.events.start()
        await self.batch.start()
        await self.functions.start()
        await self.states.start()

    async def stop(self, keep_attempts: bool = True) -> None:
        """Stop every service in reverse order, then flush and close the store; attempts
        that outlive the server are left running unless ``keep_attempts`` is False."""
        try:
            await self.states.stop()
        except Exception:
            log.exception("shutdown of stepfunctions failed")
        try:
            await self.functions.stop()
        except Exception:
            log.exception("shutdown of lambda failed")
        try:
            await self.batch.stop(keep_attempts)
        except Exception:
            log.exception("shutdown of batch failed")
        try:
            await self.providers.close()
        except Exception:
            log.exception("shutdown of the compute providers failed")
        self.batch_events.unsubscribe()
        try:
            await self.events.stop()
        except Exception:
            log.exception("shutdown of events failed")
        try:
            await self.logs.stop()
        finally:
            self.store.close()


def compose(settings: Settings) -> Server:
    """Build one server from ``settings``; nothing runs until :meth:`Server.start`."""
    if settings.time_scale <= 0:
        raise ValueError("time_scale must be greater than 0")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The store, secrets and logs are the server's alone; jobs work in settings.work_dir.
    settings.data_dir.chmod(0o700)
    store = Store(settings.resolved_database_url, settings.account_id, settings.region)
    bus = Bus()
    logs = Logs(store, settings.time_scale)
    providers = compose_providers(settings)
    batch = Batch(
        store,
        bus,
        logs,
        providers,
        access=partial(job_access, settings),
        time_scale=settings.time_scale,
        retention_seconds=settings.job_retention_days * 86400,
        secrets_file=settings.resolved_secrets_file,
    )
    functions = Lambda(store, LogsOutput(logs), settings)
    states = StepFunctions(store, bus, settings.time_scale)
    events = EventBridge(store, settings.time_scale, settings.private_destinations)
    events.register_target(LOG_GROUP, LogGroupTarget(logs))
    events.register_target(JOB_QUEUE, JobQueueTarget(batch))
    events.register_target(STATE_MACHINE, StateMachineTarget(states))
    events.register_target(FUNCTION, FunctionTarget(functions))
    # Subscribed before batch.start(): the job events of its start-up recovery reach the rules.
    batch_events = BatchEvents(events, Caller(settings.account_id, settings.region))
    batch_events.subscribe(bus)
    # Before states.start(): a resumed Task must find its integration.
    register_integrations(bus, states)
    states_batch.register(states, bus, batch)
    states_lambda.register(states, functions)
    PutEvents(events, states).register()
    apis = [
        logs_api.api(logs),
        events_api.api(events),
        batch_api.api(batch),
        functions_api.api(functions),
        states_api.api(states),
    ]
    # aws-sdk tasks call the same operation handlers as the HTTP API.
    states_sdk.register(states, apis)
    metrics = compose_metrics(store, bus, batch)
    return Server(
        settings, store, bus, providers, logs, events, batch_events, batch, functions, states,
        metrics, apis,
    )


def compose_metrics(store: Store, bus: Bus, batch: Batch) -> Metrics:
    """The server's metrics, subscribed before any service starts so that the changes of
    start-up recovery are counted too."""
    metrics = Metrics(batch.job_counts)
    bus.subscribe(JOB_TOPIC, metrics.job_changed)
    bus.subscribe(EXECUTION_TOPIC, metrics.execution_changed)
    bus.subscribe(STATE_TOPIC, metrics.state_entered)
    store.observe_commits(metrics.commit)
    return metrics


def endpoint_url(settings: Settings) -> str:
    """This server's address as its jobs reach it: the listen address, or the loopback one
    when it listens on every address."""
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0", "::") else settings.host
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"


def ray_endpoint_url(settings: Settings, cluster_address: str) -> str | None:
    """This server's address as the nodes of the cluster at ``cluster_address`` reach it:
    the configured one; else the listen address when it is a specific one (not every
    address, nor loopback); else, for a cluster on loopback (on this machine), the loopback
    one; else None, and attempts there get no endpoint (the log says so)."""
    if settings.ray_endpoint_url:
        return settings.ray_endpoint_url
    if settings.host not in ("", "0.0.0.0", "::") and not _loopback(settings.host):
        return endpoint_url(settings)
    if _loopback(cluster_address.rpartition(":")[0] or cluster_address):
        return endpoint_url(settings)
    log.warning(
        "attempts on the Ray cluster at %s get no AWS_ENDPOINT_URL: set "
        "BATCHYARD_RAY_ENDPOINT_URL to this server's address as its nodes reach it",
        cluster_address,
    )
    return None


def _loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def compose_providers(settings: Settings) -> Providers:
    """Local processes, containers on the engine ``container_engine`` finds (raises
    EngineUnavailable when a configured address does not answer) and the Ray clusters."""
    endpoint = endpoint_url(settings)
    local = LocalProvider(
        settings.work_dir / "attempts",
        endpoint_url=endpoint,
        identities=job_identities(settings.job_user),
        # Private to the server: a job must not write its own exit status.
        exits_dir=settings.data_dir / "attempt-exits",
    )
    # Servers sharing an engine or a cluster tell their work apart by their data directory.
    digest = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:12]
    choice = choose_engine(settings.container_engine)
    container = None
    if choice.engine is not None:
        container = ContainerProvider(
            choice.engine,
            server_id=digest,
            network=settings.container_network or None,
            pull_policy=PullPolicy(settings.container_pull_policy),
            efs_root=Path(settings.container_efs_root) if settings.container_efs_root else None,
            endpoint_url=endpoint,
        )
    clusters = dict(settings.ray_clusters)
    if settings.ray_address:
        clusters[DEFAULT_CLUSTER] = settings.ray_address
    images = None
    if settings.ray_container_engine != "none":
        images = NodeImages(
            settings.ray_container_engine,
            pull_policy=settings.container_pull_policy,
            efs_root=settings.container_efs_root or None,
        )
    ray = {
        name: RayProvider(
            address,
            name=name,
            supervisor=f"batchyard-supervisor-{digest}",
            log_file=settings.data_dir / f"ray-{name}.log",
            images=images,
            endpoint_url=ray_endpoint_url(settings, address),
        )
        for name, address in clusters.items()
    }
    return Providers(local, container=container, engine_summary=choice.summary, ray=ray)


def job_access(settings: Settings, owner: Caller) -> ServiceAccess | None:
    """The keys a job of ``owner`` signs its calls to this server with: the first configured
    key of its account; in development mode its account id as the key id (a 12-digit key id
    is its own account there). None when its account has no key."""
    if settings.development_mode:
        return ServiceAccess(owner.region, owner.account_id, "development")
    for credential in settings.credentials:
        if credential.account_id == owner.account_id:
            return ServiceAccess(
                owner.region,
                credential.access_key_id,
                credential.secret_access_key,
                credential.session_token or None,
            )
    return None
