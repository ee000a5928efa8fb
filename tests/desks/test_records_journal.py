"""The writer's journal (app/records/journal.py): a stop during a database outage keeps
every call update the writer took, and the next start stores them before anything else.

The writer is stopped as the service stops it (its task cancelled, then ``journal_rest``)
with the database refusing every write, on the real SQLite database of the desk tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from pathlib import Path

import pytest

from app.records.desk import RecordWriter
from app.records.journal import Journal
from app.records.store import CallChange, RecordJob
from telephony.calls.model import CallEnded, CallHeld, CallUnheld
from telephony.calls.trunks import TrunkPlan
from tests.conftest import CAPTURE_FILES, trunks_for
from tests.desks.fakes import TestDatabase, link_events, make_pipeline, running, until
from tests.desks.test_records_desk import CALL, TIMELINE, calls, jobs_of_a_call

pytestmark = pytest.mark.asyncio
DOWN = 1_000_000  # failed runs: down until the test says otherwise


def jobs_of(capture: Path) -> list[RecordJob]:
    pipeline = make_pipeline(trunks=TrunkPlan.parse(trunks_for(capture)))
    return [job for event in link_events(capture.stem) for job in pipeline.handle(event)]


async def test_every_captures_record_jobs_read_back_from_the_journal_as_they_were(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "unstored.jsonl")
    jobs = [job for capture in CAPTURE_FILES for job in jobs_of(capture)]
    journal.append(jobs)

    assert journal.read() == jobs
    updates = [type(job.update) for job in jobs if isinstance(job, CallChange)]
    assert CallHeld in updates and CallUnheld in updates  # same fields, told apart


async def test_a_stop_during_an_outage_journals_every_update_and_the_next_start_stores_them(
    database: TestDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "callassist.writer")
    jobs = jobs_of_a_call()
    journal = Journal(tmp_path / "unstored.jsonl")
    writer = RecordWriter(database, journal, max_batch=2, retry_initial=0.001, retry_max=0.002)
    database.fail_next(DOWN)
    async with running(writer.run()):
        for job in jobs:
            await writer.put(job)
        await until(lambda: writer.state.failures >= 2, "the database failing")
        assert writer.backlog == len(jobs)  # one batch in hand, the rest queued
    assert writer.journal_rest() == len(jobs)
    assert calls(database) == []  # nothing reached the database

    database.fail_next(0)  # the database is back; the service starts again
    restarted = RecordWriter(database, journal)
    async with running(restarted.run()):
        await until(lambda: restarted.state.recovered == len(jobs), "the journal stored")

    (call,) = calls(database)
    assert (call["call_id"], call["status"], call["outcome"]) == (CALL, "ended", "completed")
    assert [entry["kind"] for entry in call["timeline"]] == TIMELINE
    assert journal.read() == []  # emptied once stored: not stored again at the next start
    assert f"{len(jobs)} call updates journalled at stop" in caplog.text
    assert f"{len(jobs)} call updates recovered from the journal" in caplog.text


async def test_a_start_that_finds_the_database_down_keeps_the_journal_and_adds_to_it(
    database: TestDatabase, tmp_path: Path
) -> None:
    first, second = jobs_of_a_call()[:3], jobs_of_a_call()[3:]
    journal = Journal(tmp_path / "unstored.jsonl")
    journal.append(first)
    database.fail_next(DOWN)
    writer = RecordWriter(database, journal, retry_initial=0.001, retry_max=0.002)
    async with running(writer.run()):
        for job in second:
            await writer.put(job)  # new updates wait behind the journal's
        await until(lambda: writer.state.failures >= 2, "the database failing")
        assert writer.backlog == len(first) + len(second)
    writer.journal_rest()

    assert journal.read() == [*first, *second]  # in order, none twice, none lost


async def test_updates_the_pipeline_could_not_queue_before_the_stop_are_journalled(
    database: TestDatabase, tmp_path: Path
) -> None:
    jobs = jobs_of_a_call()
    journal = Journal(tmp_path / "unstored.jsonl")
    writer = RecordWriter(database, journal, queue_size=2)  # never run: the queue fills
    handing = asyncio.create_task(writer.put_all(jobs))
    await until(lambda: writer.backlog == 2, "the queue full")
    handing.cancel()  # the stop cancels the pipeline waiting for room
    with contextlib.suppress(asyncio.CancelledError):
        await handing
    writer.hold(jobs_of_a_call()[:1])  # and hands over what the link still held

    assert writer.journal_rest() == len(jobs) + 1
    assert journal.read() == [*jobs, *jobs_of_a_call()[:1]]


async def test_a_torn_last_line_is_set_aside_and_the_rest_is_read(tmp_path: Path) -> None:
    jobs = jobs_of_a_call()
    journal = Journal(tmp_path / "unstored.jsonl")
    journal.append(jobs)
    with journal.path.open("a") as file:
        file.write('{"$type": "app.records.store.CallCh')  # power lost mid-write

    assert journal.read() == jobs
    aside = tmp_path / "unstored.jsonl.unreadable"
    assert aside.read_text().startswith('{"$type"')


async def test_a_call_update_the_database_refuses_for_good_is_set_aside_not_retried(
    database: TestDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The database refuses one call's rows for good (a constraint, as PostgreSQL refuses a
    # value over a column's length): the calls behind it are stored all the same, and the
    # refused updates are kept for an operator, not retried forever nor thrown away.
    with database.session() as session:
        session.connection().exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON calls WHEN NEW.call_id = 'refused.1'"
            " BEGIN SELECT RAISE(ABORT, 'refused by a constraint'); END"
        )
        session.commit()
    good = jobs_of_a_call()
    refused = [_renamed(job, "refused.1") for job in good if isinstance(job, CallChange)]
    journal = Journal(tmp_path / "unstored.jsonl")
    writer = RecordWriter(database, journal, max_batch=50)
    async with running(writer.run()):
        await writer.put_all([*refused, *good])
        async with asyncio.timeout(5):
            await writer.flush()

    assert [call["call_id"] for call in calls(database)] == [CALL]
    assert writer.state.set_aside == len(refused)
    assert writer.state.last_error is None, "the writer is not stuck retrying"
    kept = Journal(tmp_path / "unstored.jsonl.refused").read()
    assert len(kept) == len(refused)
    assert "set aside" in caplog.text and "refused by a constraint" in caplog.text


def _renamed(job: CallChange, call_id: str) -> CallChange:
    update = dataclasses.replace(job.update, call_id=call_id)
    if isinstance(update, CallEnded):
        record = dataclasses.replace(update.record, call_id=call_id)
        update = dataclasses.replace(update, record=record)
    live = None if job.live is None else dataclasses.replace(job.live, call_id=call_id)
    return dataclasses.replace(job, update=update, live=live)


async def test_the_same_writer_run_again_stores_its_journal_and_flushes(
    database: TestDatabase, tmp_path: Path
) -> None:
    """A new term of ownership (app/ownership) runs the same writer again: the batch it had
    in hand at the stop counts as done, so ``flush`` (what the callback desk waits on)
    returns once the new term stored everything."""
    jobs = jobs_of_a_call()
    writer = RecordWriter(
        database, Journal(tmp_path / "unstored.jsonl"), max_batch=2, retry_initial=0.001,
        retry_max=0.002,
    )
    database.fail_next(DOWN)
    async with running(writer.run()):
        for job in jobs:
            await writer.put(job)
        await until(lambda: writer.state.failures >= 1, "the database failing")
    assert writer.journal_rest() == len(jobs)

    database.fail_next(0)
    async with running(writer.run()):
        await asyncio.wait_for(writer.flush(), timeout=5)
        await until(lambda: writer.state.recovered == len(jobs), "the journal stored")
    ((call_id, status),) = [(call["call_id"], call["status"]) for call in calls(database)]
    assert (call_id, status) == (CALL, "ended")
