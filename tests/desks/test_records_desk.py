"""The record writer (app/records/desk.py) driven with the record jobs the pipeline returns
for a recorded call, on the real database: stored in order, and never lost to a database
that fails for a while."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from app.records.desk import RecordWriter
from app.records.query import CallFilters, Viewer, get_call, list_calls
from app.records.store import CallChange, RecordJob
from telephony.ami.link import LinkEvent
from telephony.calls.model import CallAnswered, CallEnded
from telephony.scope import IdScope
from tests.desks.fakes import (
    AGENT_ONE,
    TestDatabase,
    link_events,
    make_pipeline,
    running,
    until,
)

pytestmark = pytest.mark.asyncio

QA = Viewer("qa", None)
CALL = "1795478681.0"  # normal_inbound_caller_hangup
TIMELINE = ["ringing", "answered", "ended", "pop_missed"]


def jobs_of_a_call(events: list[LinkEvent] | None = None) -> list[RecordJob]:
    """Agent one answers a customer, who hangs up; no console of agent one is connected."""
    pipeline = make_pipeline()
    events = events if events is not None else link_events("normal_inbound_caller_hangup")
    return [job for event in events for job in pipeline.handle(event)]


LINKEDID = "1733490000.12"


def jobs_on(pbx: str | None) -> list[RecordJob]:
    """The same call with the Linkedid ``LINKEDID``, on the default PBX (None) or on ``pbx``,
    its ids scoped there as the AMI link scopes them (two PBXs number their calls alike)."""
    scope = IdScope.of(pbx)
    events = link_events("normal_inbound_caller_hangup", rename={CALL: LINKEDID})
    return jobs_of_a_call([replace(e, headers=scope.inward(e.headers)) for e in events])


async def store_all(database: TestDatabase, jobs: list[RecordJob]) -> None:
    writer = RecordWriter(database)
    async with running(writer.run()):
        for job in jobs:
            await writer.put(job)
        async with asyncio.timeout(1):
            await writer.flush()



def calls(database: TestDatabase) -> list[dict[str, Any]]:
    """The calls as QA finds them, each with its timeline."""

    def read(session: Any) -> list[dict[str, Any]]:
        items, _ = list_calls(session, CallFilters(), QA, limit=50, offset=0)
        found = [get_call(session, item["id"], QA) for item in items]
        return [call for call in found if call is not None]

    return database.read(read)


async def test_a_calls_jobs_are_stored_in_order_as_one_record(database: TestDatabase) -> None:
    jobs = jobs_of_a_call()
    writer = RecordWriter(database, max_batch=2)  # several batches: order across them counts
    async with running(writer.run()):
        for job in jobs:
            await writer.put(job)
        async with asyncio.timeout(1):
            await writer.flush()

    (call,) = calls(database)
    assert (call["call_id"], call["status"], call["outcome"]) == (CALL, "ended", "completed")
    assert (call["agent"], call["ended_by"], call["hangup_cause"]) == (AGENT_ONE, "customer", 16)
    assert call["pops_missed"] == 1  # nobody saw the pop
    assert [entry["kind"] for entry in call["timeline"]] == TIMELINE
    assert (writer.state.stored, writer.state.failures) == (len(jobs), 0)


async def test_a_batch_the_database_refuses_is_tried_again_until_stored_and_counted(
    database: TestDatabase,
) -> None:
    jobs = jobs_of_a_call()
    writer = RecordWriter(database, retry_initial=0.001, retry_max=0.002)
    database.fail_next(1_000_000)  # down until the test says otherwise
    async with running(writer.run()):
        for job in jobs:
            await writer.put(job)
        await until(lambda: writer.state.failures >= 3, "three failed tries")
        assert writer.state.last_error == "OperationalError"
        assert writer.state.stored == 0 and writer.backlog == len(jobs)  # held, still owed
        database.fail_next(0)  # the database is back
        async with asyncio.timeout(1):
            await writer.flush()

    assert writer.state.failures >= 3
    assert writer.state.stored == len(jobs)
    assert not writer.state.last_error  # cleared once stored
    (call,) = calls(database)  # stored once, whole
    assert (call["status"], call["outcome"], call["pops_missed"]) == ("ended", "completed", 1)
    assert [entry["kind"] for entry in call["timeline"]] == TIMELINE  # nothing written twice


async def test_a_call_seen_again_with_less_keeps_what_was_stored(database: TestDatabase) -> None:
    # Taken up after a restart, a call may be seen with less than was stored before: who
    # answered and when are kept, never replaced with nothing.
    jobs = jobs_of_a_call()
    answered = next(
        job for job in jobs if isinstance(job, CallChange) and isinstance(job.update, CallAnswered)
    )
    assert isinstance(answered, CallChange) and answered.live is not None
    blank = replace(answered.live, answered_at=None, agents=(), queue=None, events_missed=True)
    writer = RecordWriter(database)
    async with running(writer.run()):
        for job in [*jobs[: jobs.index(answered) + 1], CallChange(answered.update, blank)]:
            await writer.put(job)
        async with asyncio.timeout(1):
            await writer.flush()

    (call,) = calls(database)
    assert call["status"] == "live"
    assert call["agent"] == AGENT_ONE
    assert call["answered_at"] == answered.live.answered_at
    assert call["events_missed"] is True


async def test_one_linkedid_on_two_pbxs_is_two_calls_each_with_its_pbx(
    database: TestDatabase,
) -> None:
    await store_all(database, [*jobs_on(None), *jobs_on("south")])

    found = {call["call_id"]: call for call in calls(database)}
    assert set(found) == {LINKEDID, f"south:{LINKEDID}"}
    assert (found[LINKEDID]["pbx"], found[LINKEDID]["linkedid"]) == ("default", LINKEDID)
    south = found[f"south:{LINKEDID}"]
    assert (south["pbx"], south["linkedid"]) == ("south", LINKEDID)
    assert (south["status"], south["outcome"]) == ("ended", "completed")
    assert south["agents"] == [AGENT_ONE]
    assert [entry["kind"] for entry in south["timeline"]] == TIMELINE


async def test_a_call_first_stored_at_its_end_has_its_pbx_too(database: TestDatabase) -> None:
    # After an outage, a call may be written for the first time by its end.
    ended = [
        job for job in jobs_on("south")
        if isinstance(job, CallChange) and isinstance(job.update, CallEnded)
    ]
    await store_all(database, ended)

    (call,) = calls(database)
    assert (call["call_id"], call["pbx"], call["linkedid"]) == (
        f"south:{LINKEDID}", "south", LINKEDID
    )
