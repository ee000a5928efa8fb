"""Which instance owns the PBX: the one that holds its lock (app/db/pbx_lock.py) runs the
PBX-facing parts for a term; the others stand by and try the lock again every second or so.

A term is what one process did from its start to its stop before issue 16: the AMI link,
the pipeline, the record writer, the callback, incident and line desks, the pop resends and
the line probe's schedule. So a takeover is a start of those parts in another process, and
reuses the start's paths: the pipeline reads the calls the database still has as live and
merges them with the PBX's channel list, the callback desk finds the attempts in flight by
their ChannelId, the writer stores its journal first. A term ends as a stop does: what was
taken is stored, or journalled.

On SQLite (one machine by nature) and with no PBX configured there is no lock: the instance
is the owner from its start to its stop, exactly as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("callassist.ownership")


class Term(Protocol):
    """The PBX-facing parts' tasks (app/wiring.py's PbxTerm)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class OwnerLock(Protocol):
    """What ownership needs of the lock (app/db/pbx_lock.py's PbxLock; a fake in tests)."""

    async def try_take(self) -> bool: ...

    async def still_held(self) -> bool: ...

    async def holder(self) -> str | None: ...

    async def release(self) -> None: ...


@dataclass
class OwnerState:
    """What /api/status and /metrics say of one PBX's ownership."""

    pbx: str
    instance: str
    owner: bool = False
    owner_name: str | None = None  # who owns it: this instance, another, or None (nobody)
    since: float | None = None  # when this instance's term began
    terms: int = 0  # terms begun since the start
    losses: int = 0  # terms ended by a lost lock (not by a stop)


class Ownership:
    """One PBX's ownership: ``run`` competes for it and runs the term while it is held;
    ``stop`` (at the service's stop, with ``run`` cancelled) ends the term and lets go."""

    def __init__(
        self,
        term: Term,
        lock: OwnerLock | None,
        *,
        pbx: str,
        instance: str,
        poll: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._term = term
        self._lock = lock
        self._poll = poll
        self._clock = clock
        self.state = OwnerState(pbx, instance)
        self._in_term = False
        self._ending: asyncio.Task[None] | None = None

    @property
    def locked(self) -> bool:
        """Whether ownership goes by a lock (PostgreSQL with a PBX), or is this instance's."""
        return self._lock is not None

    async def run(self) -> None:
        lock = self._lock
        if lock is None:
            self._begin()
            await asyncio.Event().wait()  # owned until the stop
            return
        while True:
            await self._win(lock)
            self._begin()
            await self._hold(lock)
            log.error(
                "PBX %s: the ownership lock is lost (its database connection went); no longer"
                " the owner: stopping the PBX-facing parts, then trying the lock again",
                self.state.pbx,
            )
            self.state.losses += 1
            await self._end()

    async def stop(self) -> None:
        """End the term if one runs (as a stop always did), then let the lock go."""
        if self._in_term:
            await self._end()
        if self._lock is not None:
            await self._lock.release()

    async def _win(self, lock: OwnerLock) -> None:
        """Try the lock until it is won; meanwhile, know who holds it."""
        told = False
        while not await lock.try_take():
            self.state.owner_name = await lock.holder()
            if not told:
                log.info(
                    "PBX %s is owned by %s: standing by", self.state.pbx, self.state.owner_name
                )
                told = True
            await asyncio.sleep(self._poll)

    async def _hold(self, lock: OwnerLock) -> None:
        """Return when the lock is lost: checked every poll, so the owner stops acting as
        one within seconds of losing its connection (a database restart, a partition)."""
        while True:
            await asyncio.sleep(self._poll)
            if not await lock.still_held():
                return

    def _begin(self) -> None:
        state = self.state
        state.owner, state.owner_name, state.since = True, state.instance, self._clock()
        state.terms += 1
        self._in_term = True
        if self._lock is not None:
            log.info("PBX %s: %s is the owner now", state.pbx, state.instance)
        self._term.start()

    async def _end(self) -> None:
        """Stop the term; shielded, so a cancel (the service stopping meanwhile) leaves it
        to finish, and ``stop`` waits for the same ending."""
        self.state.owner, self.state.owner_name, self.state.since = False, None, None
        if self._ending is None:
            self._ending = asyncio.create_task(self._term.stop(), name="term-end")
        await asyncio.shield(self._ending)
        self._ending = None
        self._in_term = False
