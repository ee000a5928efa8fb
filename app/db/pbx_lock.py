"""The PostgreSQL advisory lock that makes one instance the owner of a PBX (issue 16).

Why a session-level advisory lock on a connection of its own: PostgreSQL frees it when the
session ends, whatever ends it. A SIGKILLed owner's socket is closed by its kernel at once,
so the lock goes at once; a machine that vanished is found dead by TCP keepalives (the
server's ``tcp_keepalives_*`` or ``idle_session_timeout``, which the operators' guide asks
for), and its lock goes then. No lease table, no clock to trust, nothing home-made.

The owner's name is its lock connection's ``application_name``: the instances standing by
read it from ``pg_locks`` joined with ``pg_stat_activity``, so the name shown is always the
session that holds the lock now, never a row a dead owner left behind.

The connection is psycopg's own (autocommit), not the engine's pool: a pooled connection
goes back to the pool and would carry the lock with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

log = logging.getLogger("callassist.ownership")
# The first key of every PBX lock (the two-int4 form): "CA" and the number, so no
# other application's advisory locks on the same database collide with ours.
NAMESPACE = 0x43410016
ANSWER_WITHIN = 3.0  # seconds a lock query may take before the connection counts as lost
# libpq's TCP keepalives on the lock connection, and a bound on unacknowledged writes: a
# partitioned owner finds out within seconds, long before the server frees its lock.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 5000,
    "connect_timeout": 5,
}
_HOLDER = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
  AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def pbx_key(pbx: str) -> int:
    """The lock's second key: a stable signed 32-bit hash of the PBX's name (the same in
    every instance and every Python, unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(pbx.encode()).digest()[:4], "big", signed=True)


class PbxLock:
    """One instance's claim on one PBX: ``try_take`` until it is won, ``still_held`` while
    owned, ``release`` at the end. Every method answers within seconds and never raises:
    a database that does not answer means "not taken" or "lost"."""

    def __init__(self, database_url: str, pbx: str, instance: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = make_conninfo(
            url.render_as_string(hide_password=False), application_name=instance, **KEEPALIVES
        )
        self.pbx = pbx
        self.instance = instance
        self._keys = (NAMESPACE, pbx_key(pbx))
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._held = False
        self._trouble: str | None = None

    async def try_take(self) -> bool:
        """Whether this instance holds the lock now (taken now, or held already)."""
        if self._held:
            return True
        row = await self._ask("SELECT pg_try_advisory_lock(%s, %s)", self._keys)
        self._held = bool(row and row[0])
        return self._held

    async def still_held(self) -> bool:
        """Whether the lock's session is alive: a session lock lives exactly as long."""
        if self._held and await self._ask("SELECT 1", ()) is None:
            self._held = False
        return self._held

    async def holder(self) -> str | None:
        """The owner's instance name, None when nobody holds the lock (or no answer)."""
        if self._held:
            return self.instance
        unsigned = (self._keys[0], self._keys[1] & 0xFFFFFFFF)
        row = await self._ask(_HOLDER, unsigned)
        return str(row[0]) if row else None

    async def release(self) -> None:
        """Close the lock's connection: the lock goes with its session."""
        connection, self._connection, self._held = self._connection, None, False
        if connection is not None:
            await connection.close()

    async def _ask(self, query: str, params: tuple[int, ...]) -> tuple[object, ...] | None:
        """One row, on the lock's connection (opened when there is none); on any failure
        the connection is dropped, and with it the lock if it was held."""
        try:
            return await asyncio.wait_for(self._query(query, params), ANSWER_WITHIN)
        except (psycopg.Error, OSError, TimeoutError) as error:
            self._say(f"{type(error).__name__}: {error}".strip())
            await self._drop()
            return None

    async def _query(self, query: str, params: tuple[int, ...]) -> tuple[object, ...] | None:
        if self._connection is None or self._connection.closed:
            self._connection = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True
            )
        async with self._connection.cursor() as cursor:
            await cursor.execute(query, params)
            row = await cursor.fetchone()
        self._say(None)
        return row

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error, OSError, TimeoutError):
                await asyncio.wait_for(connection.close(), ANSWER_WITHIN)

    def _say(self, trouble: str | None) -> None:
        """Log a change of trouble once, not every poll."""
        if trouble != self._trouble:
            if trouble is not None:
                log.warning("PBX %s lock: the database does not answer (%s)", self.pbx, trouble)
            elif self._trouble is not None:
                log.info("PBX %s lock: the database answers again", self.pbx)
            self._trouble = trouble
