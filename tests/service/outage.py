"""A database outage a running service can be put through, on SQLite and on PostgreSQL.

PostgreSQL: the service reaches the server through a TCP proxy on loopback; the outage
closes the proxy's port and cuts its connections (a server restarting, a network gone), so
every connection, the health check's too, is refused until it opens again.

SQLite has no server to lose, and the tests run as root, so a read-only file would not stop
a write: during the outage every connection the service takes from its pool is switched to
SQLite's own ``query_only`` mode, and SQLite refuses each write ("attempt to write a
readonly database") while reads go on, as with a full disk or a read-only mount.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.db.engine import Database
from tests.service.harness import free_port


class TcpProxy:
    """Forwards loopback connections to a server, on a loop of its own in its own thread
    (the service's database calls run on worker threads and must never wait on the test's
    loop)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def open(self) -> None:
        self._call(self._open())

    def cut(self) -> None:
        """Stop listening and drop every connection: the database is gone."""
        self._call(self._cut())

    def _call(self, work: Any) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(5)

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream}
        await asyncio.gather(
            _pipe(reader, upstream), _pipe(upstream_reader, writer), return_exceptions=True
        )
        self._writers -= {writer, upstream}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


class Outage:
    """``url`` is what the service is given; ``begin(database)`` and ``end()`` bracket the
    outage of that service's database."""

    def __init__(self, url: str, proxy: TcpProxy | None) -> None:
        self.url = url
        self._proxy = proxy
        self.down = False

    def begin(self, database: Database | None = None) -> None:
        """The outage starts (SQLite: for ``database``, the service's own)."""
        self.down = True
        if self._proxy is not None:
            self._proxy.cut()
        elif database is None:
            raise ValueError("SQLite's outage is the service's own connections: pass its database")
        elif not event.contains(database.engine, "checkout", self._read_only):
            event.listen(database.engine, "checkout", self._read_only)

    def end(self) -> None:
        self.down = False
        if self._proxy is not None:
            self._proxy.open()

    def _read_only(self, connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA query_only = {'ON' if self.down else 'OFF'}")
        cursor.close()


@contextlib.contextmanager
def outage_for(database_url: str) -> Iterator[Outage]:
    """An outage for a service on ``database_url`` (through a proxy for PostgreSQL)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield Outage(database_url, None)
        return
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port)
        yield Outage(proxied.render_as_string(hide_password=False), proxy)
