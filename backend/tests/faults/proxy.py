"""A TCP proxy on a free loopback port in front of a database server, which the test controls: `cut()` drops
every connection through it at once (the peer sees its socket closed mid-conversation, as when a server or a
network path dies) and refuses new ones (nothing listens on the port); `restore()` listens again."""

from __future__ import annotations

import asyncio
import contextlib

from tests.faults.postgres import free_port

CHUNK = 64 * 1024


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.connections = 0  # accepted and linked to the target, in all
        self.cut_connections = 0  # dropped by `cut()`, in all

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port, reuse_address=True)

    async def restore(self) -> None:
        await self.start()

    def cut(self) -> None:
        """Stop listening, then abort every open link (both sockets closed at once, unflushed data dropped)."""
        if self._server is not None:
            self._server.close()  # not wait_closed(): from Python 3.12 it waits for the links to end
            self._server = None
        for client, upstream in list(self._links):
            self.cut_connections += 1
            client.transport.abort()
            upstream.transport.abort()
        self._links.clear()

    async def close(self) -> None:
        self.cut()

    async def _link(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
        except OSError:
            client.transport.abort()
            return
        link = (client, upstream)
        self._links.add(link)
        self.connections += 1
        try:
            await asyncio.gather(self._pump(client_reader, upstream), self._pump(upstream_reader, client))
        finally:
            self._links.discard(link)
            for writer in link:
                writer.transport.abort()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        # One direction ended: end the other too (its reader sees the connection lost).
        writer.transport.abort()
