"""The one database writer: record jobs in order, in batches, off the event loop.

A batch that fails (the database restarting, a lock held too long) is retried with back-off
until it is stored: the recorder's writes are idempotent, so writing twice is harmless and
nothing recorded is lost. The queue is bounded: when the database is down for long, the
pipeline waits, the AMI link's queue fills, and the link re-reads the live calls when it can.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.db.engine import Database, DatabaseError
from app.records.store import RecordJob, store

log = logging.getLogger("callassist.writer")


@dataclass(slots=True)
class WriterState:
    stored: int = 0
    failures: int = 0
    last_error: str | None = None


class RecordWriter:
    def __init__(
        self,
        database: Database,
        *,
        max_batch: int = 500,
        queue_size: int = 10_000,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self._database = database
        self._queue: asyncio.Queue[RecordJob] = asyncio.Queue(maxsize=queue_size)
        self._max_batch = max_batch
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self.state = WriterState()

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def put(self, job: RecordJob) -> None:
        await self._queue.put(job)

    async def flush(self) -> None:
        """Wait until everything submitted so far is stored."""
        await self._queue.join()

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._store_until_done(batch)
            for _ in batch:
                self._queue.task_done()

    async def _store_until_done(self, batch: list[RecordJob]) -> None:
        delay = self._retry_initial
        while True:
            try:
                await self._database.run(lambda session: store(session, batch))
            except DatabaseError as error:
                self.state.failures += 1
                self.state.last_error = str(error)
                log.warning(
                    "storing %d call updates failed (%s); retrying in %.1f s",
                    len(batch),
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            self.state.stored += len(batch)
            self.state.last_error = None
            return


def the_writer(request: HTTPConnection) -> RecordWriter:
    """The running service's record writer (app/wiring.py puts the parts on the app)."""
    return cast(RecordWriter, request.app.state.parts.writer)


WriterDep = Annotated[RecordWriter, Depends(the_writer)]
