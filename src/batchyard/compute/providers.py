"""The providers one server has, and which of them runs a compute environment's attempts.

An environment's attempts run on the provider its ``batchyard:provider`` tag names (``local``,
``container`` or ``ray``, with ``batchyard:ray-cluster`` naming a configured cluster other
than the default); untagged, on containers when an engine was found and as local processes
otherwise. An environment pinned to a provider this server does not have, or whose Ray
cluster is unreachable, gets a ``problem``: Batch reports it INVALID with that reason and
places nothing on it, and it turns VALID by itself when the provider comes back.

Each choice also names the *host* whose memory and GPUs its attempts share, so that the
scheduler never hands one machine (or one cluster) more than it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from batchyard.compute.container import ContainerProvider
from batchyard.compute.local import LocalProvider
from batchyard.compute.provider import ComputeProvider, HostCapacity
from batchyard.compute.ray import ClusterStatus, RayProvider

log = logging.getLogger(__name__)

PROVIDER_TAG = "batchyard:provider"
RAY_CLUSTER_TAG = "batchyard:ray-cluster"
DEFAULT_CLUSTER = "default"
# The host of local processes, and of containers on an engine of this machine.
THIS_HOST = "local"
LOCAL_WHERE = "a local process on this host"


class ProviderKind(StrEnum):
    """The values of the ``batchyard:provider`` tag."""

    LOCAL = "local"
    CONTAINER = "container"
    RAY = "ray"


@dataclass(frozen=True, slots=True)
class Backing:
    """What runs one compute environment's attempts.

    ``provider`` is None exactly when ``problem`` says why the environment cannot run any;
    ``where`` says what each attempt runs as ("a container on Podman 4.3.1 at …"), for the
    environment's statusReason and each attempt's first log line; ``runs_image`` whether the
    job's image runs (else only its command); ``host`` keys the capacity its attempts share.
    """

    kind: ProviderKind
    where: str
    host: str
    provider: ComputeProvider | None = None
    problem: str | None = None
    runs_image: bool = False


class Providers:
    """Every provider of this server: local processes always, containers when an engine
    answered (``engine_summary`` says what the engine setting found), and one Ray provider
    per configured cluster."""

    def __init__(
        self,
        local: LocalProvider,
        *,
        container: ContainerProvider | None = None,
        engine_summary: str = "",
        ray: Mapping[str, RayProvider] | None = None,
    ) -> None:
        self.local = local
        self.container = container
        self.engine_summary = engine_summary or "jobs run as local processes"
        self.ray = dict(ray or {})

    @property
    def summary(self) -> str:
        """Where untagged environments run their attempts, and which clusters there are, in
        one sentence for the server's log."""
        clusters = ", ".join(
            f"{name} at {p.address}" + (f" (images run {p.images.where})" if p.images else "")
            for name, p in sorted(self.ray.items())
        )
        return self.engine_summary + (f"; Ray clusters: {clusters}" if clusters else "")

    def backing(self, tags: Mapping[str, str]) -> Backing:
        """The provider of an environment with ``tags``, or why it has none."""
        wanted = tags.get(PROVIDER_TAG, "").strip().lower()
        if not wanted:
            wanted = ProviderKind.CONTAINER if self.container is not None else ProviderKind.LOCAL
        if wanted == ProviderKind.LOCAL:
            return Backing(ProviderKind.LOCAL, LOCAL_WHERE, THIS_HOST, self.local)
        if wanted == ProviderKind.CONTAINER:
            if self.container is None:
                return Backing(
                    ProviderKind.CONTAINER,
                    "a container",
                    THIS_HOST,
                    problem=f"CLIENT_ERROR - {PROVIDER_TAG} is container but this server has "
                    f"no container engine ({self.engine_summary})",
                )
            engine = self.container.engine
            host = THIS_HOST if engine.local else f"engine:{engine.url}"
            where = f"a container on {engine.product} at {engine.url}"
            return Backing(ProviderKind.CONTAINER, where, host, self.container, runs_image=True)
        if wanted == ProviderKind.RAY:
            return self._ray_backing(tags.get(RAY_CLUSTER_TAG, "").strip() or DEFAULT_CLUSTER)
        known = ", ".join(kind.value for kind in ProviderKind)
        return Backing(
            ProviderKind.LOCAL,
            "nowhere",
            THIS_HOST,
            problem=f"CLIENT_ERROR - {PROVIDER_TAG} must be one of {known}, not {wanted!r}",
        )

    def _ray_backing(self, cluster: str) -> Backing:
        provider = self.ray.get(cluster)
        host = f"ray:{cluster}"
        if provider is None:
            configured = ", ".join(sorted(self.ray)) or "none"
            return Backing(
                ProviderKind.RAY,
                f"a Ray task on the cluster {cluster}",
                host,
                problem=f"CLIENT_ERROR - no Ray cluster named {cluster!r} is configured "
                f"(configured: {configured}; BATCHYARD_RAY_ADDRESS sets the default one)",
            )
        images = provider.images
        if images is None:
            where = f"a Ray task on the cluster {cluster} at {provider.address}"
        else:
            where = f"a container on a node of the Ray cluster {cluster} at {provider.address}"
        view = provider.cluster_capacity()
        if view is not None:
            where += f" ({view.total.vcpus:g} vCPUs on {len(view.nodes)} nodes)"
        if images is not None:
            where += f", {images.where}"
        health = provider.health()
        if health.status is not ClusterStatus.VALID:
            return Backing(
                ProviderKind.RAY, where, host, problem=f"INFRASTRUCTURE_ERROR - {health.reason}"
            )
        return Backing(ProviderKind.RAY, where, host, provider, runs_image=images is not None)

    def watch(self, changed: Callable[[], None]) -> None:
        """Call ``changed`` whenever a cluster's health or resources change, so that what
        is planned on it is planned again."""
        for provider in self.ray.values():
            provider.on_change = changed

    def capacity(self, host: str) -> HostCapacity:
        """The memory and GPUs of ``host`` (a ``Backing.host``), for all its attempts."""
        if host.startswith("ray:"):
            provider = self.ray.get(host.removeprefix("ray:"))
            return provider.capacity if provider is not None else HostCapacity(0, 0)
        if host != THIS_HOST and self.container is not None:
            return self.container.capacity
        return self.local.capacity

    def for_identity(self, identity: Mapping[str, Any]) -> ComputeProvider | None:
        """The provider that started the attempt an earlier server recorded as
        ``identity`` (local when it does not say), None when this server lacks it."""
        kind = identity.get("provider") or ProviderKind.LOCAL
        if kind == ProviderKind.CONTAINER:
            return self.container
        if kind == ProviderKind.RAY:
            return self.ray.get(str(identity.get("cluster") or DEFAULT_CLUSTER))
        return self.local

    def reap(self, identity: dict[str, Any]) -> bool:
        """Stop what is left of an earlier server's attempt on the provider that started it;
        True when something was still running."""
        provider = self.for_identity(identity)
        if provider is None:
            log.warning("cannot stop attempt %s: its provider is not configured", identity)
            return False
        return provider.reap(identity)

    def sweep(self) -> None:
        """Remove what earlier servers' attempts left behind, on every provider."""
        self.local.sweep()
        if self.container is not None:
            self.container.sweep()
        for provider in self.ray.values():
            provider.sweep()

    async def open(self) -> None:
        """Start connecting to the Ray clusters (the environments on one stay INVALID until
        it answers; connecting goes on in the background)."""
        await asyncio.gather(*(p.connect(timeout=0) for p in self.ray.values()))

    async def close(self) -> None:
        """Let go of the engine and the clusters; their attempts are not stopped here."""
        for provider in self.ray.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
        if self.container is not None:
            await self.container.close()
