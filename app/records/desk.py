"""The one database writer: record jobs in order, in batches, off the event loop.

A batch that fails (the database restarting, a lock held too long) is retried with back-off
until it is stored: the recorder's writes are idempotent, so writing twice is harmless and
nothing recorded is lost. The queue is bounded: when the database is down for long, the
pipeline waits, the AMI link's queue fills, and the link re-reads the live calls when it can.

A stop does not lose them either: what the writer took and has not stored (the batch in
hand, the queue, what the pipeline handed over at the stop) goes to the journal
(app/records/journal.py), and the next start stores the journal before anything else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.db.engine import Database, DatabaseError
from app.records.journal import Journal
from app.records.store import RecordJob, store

log = logging.getLogger("callassist.writer")


@dataclass(slots=True)
class WriterState:
    stored: int = 0
    failures: int = 0
    last_error: str | None = None  # why the last try failed; None once a batch is stored
    failing_since: float | None = None  # when storing began to fail (the wall clock)
    journalled: int = 0  # jobs put in the journal at this stop
    recovered: int = 0  # jobs stored from the journal at this start
    set_aside: int = 0  # jobs the database refused for good, kept in <journal>.refused


class RecordWriter:
    def __init__(
        self,
        database: Database,
        journal: Journal | None = None,
        *,
        max_batch: int = 500,
        queue_size: int = 10_000,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._database = database
        self._journal = journal
        self._queue: asyncio.Queue[RecordJob] = asyncio.Queue(maxsize=queue_size)
        self._in_hand: list[RecordJob] = []  # the batch being stored (taken off the queue)
        self._held: list[RecordJob] = []  # handed over at stop with the queue full
        self._from_journal = 0  # jobs of the journal not stored yet
        self._max_batch = max_batch
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._clock = clock
        self.state = WriterState()

    @property
    def backlog(self) -> int:
        """Jobs taken and not stored yet: queued, in hand, held, left in the journal."""
        return self._queue.qsize() + len(self._in_hand) + len(self._held) + self._from_journal

    async def put(self, job: RecordJob) -> None:
        await self._queue.put(job)

    async def put_all(self, jobs: Iterable[RecordJob]) -> None:
        """Queue ``jobs`` in order, waiting for room; if the wait is cancelled (the service
        stopping), the jobs not yet queued stay with the writer and go to the journal."""
        waiting = list(jobs)
        try:
            while waiting:
                await self._queue.put(waiting[0])
                del waiting[0]
        except asyncio.CancelledError:
            self.hold(waiting)
            raise

    def hold(self, jobs: Iterable[RecordJob]) -> None:
        """Take ``jobs`` without waiting (at stop): queued while there is room, else held."""
        for job in jobs:
            if self._held or self._queue.full():
                self._held.append(job)
            else:
                self._queue.put_nowait(job)

    async def flush(self) -> None:
        """Wait until everything submitted so far is stored."""
        await self._queue.join()

    async def run(self) -> None:
        """Store what the journal kept from the last stop, then the jobs as they come."""
        await self._recover()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._in_hand = batch
            await self._store_until_done(batch)
            self._in_hand = []
            for _ in batch:
                self._queue.task_done()

    def journal_rest(self) -> int:
        """At stop, with ``run`` cancelled: every job taken and not stored goes to the
        journal, in order, fsynced; returns how many."""
        for _ in self._in_hand:  # taken off the queue, never done: done now, for the journal
            self._queue.task_done()
        rest = [*self._in_hand, *_drain(self._queue), *self._held]
        self._in_hand, self._held = [], []
        if not rest:
            return 0
        if self._journal is None:
            log.error("%d call updates not stored at stop, and no journal to keep them", len(rest))
            return 0
        self._journal.append(rest)
        self.state.journalled += len(rest)
        log.warning(
            "%d call updates journalled at stop (not stored yet: %s); the next start stores"
            " them first",
            len(rest),
            self.state.last_error or "the stop came first",
        )
        return len(rest)

    async def _recover(self) -> None:
        """The journal's jobs, stored before any new one; the file is emptied only then."""
        journal = self._journal
        if journal is None:
            return
        jobs = await asyncio.to_thread(journal.read)
        if not jobs:
            return
        log.info(
            "%d call updates found in the journal %s: storing them first", len(jobs), journal.path
        )
        self._from_journal = len(jobs)
        for start in range(0, len(jobs), self._max_batch):
            batch = jobs[start : start + self._max_batch]
            await self._store_until_done(batch)
            self._from_journal -= len(batch)
        await asyncio.to_thread(journal.clear)
        self.state.recovered += len(jobs)
        log.info("%d call updates recovered from the journal and stored", len(jobs))

    async def _store_until_done(self, batch: list[RecordJob]) -> None:
        delay = self._retry_initial
        while True:
            try:
                await self._database.run(lambda session: store(session, batch))
            except DatabaseError as error:
                if not error.transient:
                    await self._store_apart(batch, error)
                    return
                self._failed(error, len(batch), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            self.state.stored += len(batch)
            if self.state.last_error is not None:
                log.info("call updates are stored again (%d waiting)", self.backlog - len(batch))
            self.state.last_error = self.state.failing_since = None
            return

    async def _store_apart(self, batch: list[RecordJob], error: DatabaseError) -> None:
        """The database refuses something in this batch for good (a value the schema cannot
        hold): store the jobs one by one, and set aside the one it refuses, so that one bad
        job never holds back the calls behind it, and nothing is thrown away."""
        if len(batch) > 1:
            for job in batch:
                await self._store_until_done([job])
            return
        self.state.set_aside += 1
        kept = ""
        if self._journal is not None:
            aside = Journal(self._journal.path.with_name(self._journal.path.name + ".refused"))
            await asyncio.to_thread(aside.append, batch)
            kept = f"; kept in {aside.path}"
        log.error("a call update the database refuses was set aside (%s)%s", error, kept)

    def _failed(self, error: DatabaseError, size: int, delay: float) -> None:
        state = self.state
        state.failures += 1
        state.last_error = str(error)
        if state.failing_since is None:
            state.failing_since = self._clock()
        log.warning(
            "storing %d call updates failed: %s; %d waiting; retrying in %.1f s",
            size,
            error,
            self.backlog,
            delay,
        )


def _drain(queue: asyncio.Queue[RecordJob]) -> list[RecordJob]:
    jobs = []
    while not queue.empty():
        jobs.append(queue.get_nowait())
        queue.task_done()
    return jobs
