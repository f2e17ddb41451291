"""Networks of their own for the nodes of a multi-node job on a container engine.

Each node's container joins the provider's network (through which it reaches this server)
and its job's network, where the nodes find each other: the main node's address there is the
one the other nodes are given. A job's network is made when its first node starts and
removed once none of its nodes' containers is left; it is labelled with the server, so that
one a killed server left behind is swept by the next.

Podman names a new network's bridge ``podmanN`` after the networks it knows, so two services
on one machine would both pick ``podman1``; each network's bridge is named here instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib

import requests
from docker.errors import APIError, DockerException, NotFound

from batchyard.compute.engine import Engine
from batchyard.compute.provider import LaunchError

LABEL_GROUP = "batchyard.group"
# Linux interface names have at most 15 characters.
BRIDGE_PREFIX = "byj"
BRIDGE_DIGEST = 12


def network_name(server_id: str, group: str) -> str:
    """The engine network of ``group`` (a multi-node job) of the server ``server_id``."""
    return f"batchyard-{server_id[:12]}-{group}"


class GroupNetworks:
    """Makes and removes the networks of multi-node jobs on one engine.

    ``base`` is the network every container joins (None: the engine's default); a job's
    network is internal exactly when that one is, so that its nodes reach no further than
    the provider's containers do.
    """

    def __init__(self, engine: Engine, server_id: str, label_server: str, base: str | None) -> None:
        self._engine = engine
        self._server_id = server_id
        self._label_server = label_server
        self._base = base
        self._locks: dict[str, asyncio.Lock] = {}
        # Attempts of each group started or attached by this provider and not yet released.
        self._members: dict[str, set[str]] = {}

    async def join(self, group: str, attempt_id: str) -> str:
        """Count ``attempt_id`` in ``group`` and make the group's network if it is not there;
        its name. Raises LaunchError when the engine cannot make it."""
        self._members.setdefault(group, set()).add(attempt_id)
        lock = self._locks.setdefault(group, asyncio.Lock())
        async with lock:
            try:
                return await asyncio.to_thread(self._ensure, group)
            except BaseException:
                self._leave_member(group, attempt_id)
                raise

    def rejoin(self, group: str, attempt_id: str) -> None:
        """Count a re-attached attempt in ``group`` (its network exists: its container is on
        it)."""
        self._members.setdefault(group, set()).add(attempt_id)

    async def leave(self, group: str, attempt_id: str) -> None:
        """The attempt's container is gone: remove the group's network if it was the last."""
        if not self._leave_member(group, attempt_id):
            return
        lock = self._locks.setdefault(group, asyncio.Lock())
        async with lock:
            if not self._members.get(group):
                await asyncio.to_thread(self._remove_if_unused, group)
                self._locks.pop(group, None)

    def sweep(self) -> None:
        """Remove this server's group networks that no container and no attempt uses."""
        api = self._engine.api
        for network in api.networks(filters={"label": f"{self._label_server}={self._server_id}"}):
            group = (network.get("Labels") or {}).get(LABEL_GROUP)
            if group and not self._members.get(group):
                self._remove_if_unused(group)

    def _leave_member(self, group: str, attempt_id: str) -> bool:
        """Forget ``attempt_id``; whether ``group`` has no member left."""
        members = self._members.get(group)
        if members is None:
            return False
        members.discard(attempt_id)
        if members:
            return False
        del self._members[group]
        return True

    def _ensure(self, group: str) -> str:
        api, name = self._engine.api, network_name(self._server_id, group)
        try:
            api.inspect_network(name)
            return name
        except NotFound:
            pass
        except (DockerException, requests.RequestException) as error:
            raise LaunchError(f"CannotStartContainerError: network {name}: {error}") from None
        digest = hashlib.sha256(name.encode()).hexdigest()[:BRIDGE_DIGEST]
        try:
            base = api.inspect_network(self._base) if self._base else {}
            internal = bool(base.get("Internal"))
            api.create_network(
                name,
                driver="bridge",
                internal=internal,
                labels={self._label_server: self._server_id, LABEL_GROUP: group},
                options={"com.docker.network.bridge.name": BRIDGE_PREFIX + digest},
            )
        except (DockerException, requests.RequestException) as error:
            raise LaunchError(
                f"CannotStartContainerError: cannot create the job's network {name}: {error}"
            ) from None
        return name

    def _remove_if_unused(self, group: str) -> None:
        api, name = self._engine.api, network_name(self._server_id, group)
        with contextlib.suppress(NotFound, APIError, requests.RequestException):
            if api.inspect_network(name).get("Containers"):
                return
            api.remove_network(name)
