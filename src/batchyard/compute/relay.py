"""How a job in a container reaches this server without the host's network.

The server listens on the host's loopback, which a container on an engine network cannot
reach; giving it the host's network (or slirp4netns' ``allow_host_loopback``) would give it
every loopback service too, the store's PostgreSQL among them. Instead the provider relays
one port: it listens on the network's gateway address (the host's side of the bridge, which
containers of that network do reach) and forwards each connection to the server's own
address, so a job reaches this server and nothing else that listens on the loopback.

The gateway address exists only while the bridge does (Podman removes its bridge with the
last container), so the listening socket is bound with ``IP_FREEBIND``: it is ready before
the bridge comes up and keeps working when it is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket

# <linux/in.h> and <linux/in6.h>; the socket module names neither.
IP_FREEBIND = 15
IPV6_FREEBIND = 78
COPY_CHUNK = 64 * 1024


class EndpointRelay:
    """Forwards every connection made to ``host:port`` to ``target_host:target_port``."""

    def __init__(self, host: str, port: int, target_host: str, target_port: int) -> None:
        self.host = host
        self.port = port
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        """Start listening; raises OSError when the port is taken."""
        version = ipaddress.ip_address(self.host).version
        family = socket.AF_INET6 if version == 6 else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            if version == 6:
                listener.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
            else:
                listener.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.setblocking(False)
            self._server = await asyncio.start_server(self._serve, sock=listener)
        except BaseException:
            listener.close()
            raise

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            try:
                target_reader, target_writer = await asyncio.open_connection(*self._target)
            except OSError:
                return
            try:
                await asyncio.gather(_copy(reader, target_writer), _copy(target_reader, writer))
            finally:
                target_writer.close()
        finally:
            writer.close()
            self._connections.discard(task)

    async def close(self) -> None:
        """Stop listening and cut the connections still open."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until ``source`` ends, then end ``sink``'s side (half-close, as HTTP may use)."""
    try:
        while chunk := await source.read(COPY_CHUNK):
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()
