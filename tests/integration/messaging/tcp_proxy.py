"""A TCP proxy the test controls, to make RabbitMQ unreachable for one client only (the shared
server is never stopped). ``cut()`` drops every connection and refuses new ones; ``restore()``
forwards again."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.forwarding = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.refused = 0
        self.accepted = 0
        self._refusal = asyncio.Condition()
        self._acceptance = asyncio.Condition()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.forwarding:
            writer.close()
            async with self._refusal:
                self.refused += 1
                self._refusal.notify_all()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        async with self._acceptance:
            self.accepted += 1
            self._acceptance.notify_all()
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()

    async def wait_refused(self, count: int) -> None:
        """Returns once ``count`` connection attempts were refused."""
        async with self._refusal:
            await self._refusal.wait_for(lambda: self.refused >= count)

    async def wait_accepted(self, count: int) -> None:
        """Returns once ``count`` connections were forwarded."""
        async with self._acceptance:
            await self._acceptance.wait_for(lambda: self.accepted >= count)

    def cut(self) -> None:
        self.forwarding = False
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def restore(self) -> None:
        self.forwarding = True

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
