"""A TCP relay that a test can cut, black-hole and restore: real network faults of a real
server."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from tests.helpers import free_port


class TcpProxy:
    """Relays 127.0.0.1:<port> to ``target``.

    - ``cut()`` drops every connection and refuses new ones (the server is down);
    - ``black_hole()`` keeps accepting connections, old and new, but forwards nothing in
      either direction: to the client the peer is there and never answers (a frozen server,
      or a network that silently drops packets);
    - ``hold_answers()`` forwards what clients send and holds back what the server sends:
      a request arrives and is acted on, and its answer is lost to the client;
    - ``restore()`` forwards again. Bytes held back by a black hole are delivered then, as
      TCP's retransmissions would deliver them once a network heals.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._answering = asyncio.Event()  # the server's direction

    async def __aenter__(self) -> TcpProxy:
        await self.restore()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.cut()

    async def restore(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self._flowing.set()
        self._answering.set()

    async def black_hole(self) -> None:
        """Stop forwarding without closing anything: reads and connects hang, nothing fails."""
        if self._server is None:
            await self.restore()
        self._flowing.clear()

    async def hold_answers(self) -> None:
        """Deliver requests, hold back the server's answers until restored."""
        if self._server is None:
            await self.restore()
        self._answering.clear()

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # no new connection from here on
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            # Since Python 3.12 this waits for every connection to close: aborted above.
            await server.wait_closed()
        # Wake relays held by a black hole: they find their connections gone and end.
        self._flowing.set()
        self._answering.set()

    async def _relay(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(client_writer)
        await self._flowing.wait()  # a black hole accepts, and does not reach the server
        if client_writer.transport.is_closing():
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            self._writers.discard(client_writer)
            return
        self._writers.add(server_writer)
        await asyncio.gather(
            self._pipe(client_reader, server_writer, self._flowing),
            self._pipe(server_reader, client_writer, self._flowing, self._answering),
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *gates: asyncio.Event
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                await self._flowing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                for gate in gates:  # read before the black hole, held until restored
                    await gate.wait()
                if writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)
