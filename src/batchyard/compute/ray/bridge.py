"""The Ray driver: a child process of the server that talks to one Ray cluster for it.

The server never imports Ray. A Ray driver cannot be trusted inside a server: ``ray.init`` on
an unreachable address retries without end (measured: still blocked after 200 s), and a
connected driver whose cluster goes away blocks in every call and then ends its own process
(``Failed to connect to GCS within 60 seconds … The program will terminate``). So each cluster
gets this process; the server (``provider``) starts it, watches it, and starts another when it
is gone, while the attempts run on in the cluster under the detached ``node.Supervisor``.

It talks to the server over a socket in frames (``framing``): requests ``{"id", "op", "args"}``
answered by ``{"id", "ok", "value" | "error"}``, acknowledgements ``{"op": "ack"}`` (no
answer), and events it sends on its own: ``ready``, ``capacity``, ``updates`` and ``fatal``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import ray
import ray.cloudpickle
import ray.exceptions
from ray._private import state as ray_state

from batchyard.compute.ray import framing, node

# How long the cluster may leave a heartbeat unanswered before the driver gives it up.
HEARTBEAT_SECONDS = 1.0
LOST_AFTER_SECONDS = 6.0
POLL_SECONDS = 1.0


def capacity_view() -> list[dict[str, Any]]:
    """Every live node with its total and available resources, as Ray's GCS has them."""
    available = ray_state.available_resources_per_node()
    nodes = []
    for entry in ray.nodes():
        if not entry["Alive"]:
            continue
        nodes.append(
            {
                "node_id": entry["NodeID"],
                "ip": entry["NodeManagerAddress"],
                "total": dict(entry["Resources"]),
                "available": dict(available.get(entry["NodeID"], {})),
            }
        )
    return nodes


class Driver:
    """One connection to the cluster and one session of the supervisor."""

    def __init__(self, address: str, writer: asyncio.StreamWriter, supervisor: Any) -> None:
        self.address = address
        self.writer = writer
        self.supervisor = supervisor
        self.session = uuid.uuid4().hex
        self.acks: dict[str, int] = {}
        self.released: list[str] = []
        self.last_capacity: list[dict[str, Any]] | None = None

    def send(self, message: dict[str, Any]) -> None:
        self.writer.write(framing.encode(message))

    async def serve(self, reader: asyncio.StreamReader) -> None:
        """Answer requests until the server closes the socket."""
        while True:
            try:
                message = await framing.read(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if message["op"] == "ack":
                self.acks.update(message["acks"])
                self.released.extend(message["released"])
                continue
            asyncio.get_running_loop().create_task(self._answer(message))

    async def _answer(self, message: dict[str, Any]) -> None:
        try:
            value = await self._call(message["op"], message["args"])
            reply = {"id": message["id"], "ok": True, "value": value}
        except Exception as error:  # every request gets an answer
            reply = {"id": message["id"], "ok": False, "error": f"{type(error).__name__}: {error}"}
        self.send(reply)

    async def _call(self, op: str, args: dict[str, Any]) -> Any:
        supervisor = self.supervisor
        if op == "start":
            return await supervisor.start.remote(self.session, args["launch"])
        if op == "start_gang":
            return await supervisor.start_gang.remote(
                self.session, args["gang_id"], args["launches"], args["main_index"]
            )
        if op == "attach":
            return await supervisor.attach.remote(self.session, args["attempt_ids"])
        if op == "stop":
            return await supervisor.stop.remote(args["attempt_id"], args["grace"])
        if op == "kill":
            return await supervisor.kill.remote(args["attempt_id"])
        if op == "attempts":
            return await supervisor.attempts.remote()
        raise ValueError(f"unknown operation {op!r}")

    async def pump(self) -> None:
        """Forward the supervisor's news of this session's attempts to the server."""
        while True:
            acks, self.acks = self.acks, {}
            released, self.released = self.released, []
            try:
                updates = await self.supervisor.poll.remote(
                    self.session, acks, released, POLL_SECONDS
                )
            except ray.exceptions.RayError as error:
                await self.fatal(
                    f"lost the Ray cluster at {self.address}: its batchyard supervisor actor "
                    f"does not answer ({type(error).__name__})"
                )
                return
            if updates:
                self.send({"event": "updates", "updates": updates})

    async def heartbeat(self) -> None:
        """Send the capacity view when it changes; give up when the cluster stops answering."""
        while True:
            started = time.monotonic()
            try:
                view = await asyncio.wait_for(
                    asyncio.to_thread(capacity_view), LOST_AFTER_SECONDS
                )
            except TimeoutError:
                await self.fatal(
                    f"lost the Ray cluster at {self.address}: no answer for "
                    f"{LOST_AFTER_SECONDS:g} s"
                )
                return
            if view != self.last_capacity:
                self.last_capacity = view
                self.send({"event": "capacity", "nodes": view})
            await asyncio.sleep(max(0.0, HEARTBEAT_SECONDS - (time.monotonic() - started)))

    async def fatal(self, reason: str) -> None:
        """Tell the server why this driver ends, then end it without waiting for Ray."""
        with contextlib.suppress(OSError):
            self.send({"event": "fatal", "reason": reason})
            await asyncio.wait_for(self.writer.drain(), 2.0)
        os._exit(3)


def connect(address: str, namespace: str, timeout: float, sock: socket.socket) -> None:
    """``ray.init`` under a watchdog: an address that does not answer ends the process."""

    def give_up() -> None:
        reason = f"cannot reach the Ray cluster at {address}: no answer within {timeout:g} s"
        with contextlib.suppress(OSError):
            sock.sendall(framing.encode({"event": "fatal", "reason": reason}))
        os._exit(2)

    watchdog = threading.Timer(timeout, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        ray.init(
            address=address,
            namespace=namespace,
            logging_level=logging.ERROR,
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        watchdog.cancel()
        sock.sendall(framing.encode({"event": "fatal", "reason": f"{address}: {error}"}))
        os._exit(2)
    watchdog.cancel()


def supervisor_handle(name: str) -> Any:
    """The cluster's supervisor actor, created on the head node if it does not exist yet."""
    ray.cloudpickle.register_pickle_by_value(node)
    return node.SupervisorActor.options(
        name=name,
        lifetime="detached",
        get_if_exists=True,
        num_cpus=0,
        resources={node.HEAD_RESOURCE: 0.001},
        max_concurrency=10_000,
    ).remote()


async def run(sock: socket.socket, address: str, name: str) -> None:
    """Serve the server on ``sock`` until it goes away or the cluster is lost."""
    reader, writer = await asyncio.open_connection(sock=sock)
    driver = Driver(address, writer, supervisor_handle(name))
    await driver.supervisor.attempts.remote()
    driver.send({"event": "ready", "session": driver.session, "nodes": capacity_view()})
    background = [
        asyncio.create_task(driver.pump()),
        asyncio.create_task(driver.heartbeat()),
    ]
    await driver.serve(reader)
    for task in background:
        task.cancel()


def main(argv: list[str] | None = None) -> None:
    """``python -m batchyard.compute.ray.bridge --fd N --address A --name S``."""
    parser = argparse.ArgumentParser(prog="batchyard-ray-driver")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="batchyard")
    parser.add_argument("--name", default="batchyard-supervisor")
    parser.add_argument("--connect-timeout", type=float, default=15.0)
    options = parser.parse_args(argv)
    sock = socket.socket(fileno=options.fd)
    connect(options.address, options.namespace, options.connect_timeout, sock)
    asyncio.run(run(sock, options.address, options.name))
    os._exit(0)


if __name__ == "__main__":
    main()
