"""A database outage, as an operator lives it: the service stopped in the middle of one
loses no call (the next start stores them), and its health says the truth meanwhile.

The service is stopped as SIGTERM stops it (uvicorn's ``should_exit``, then the lifespan's
shutdown), with the database refusing every write; see tests/service/outage.py for how each
database is starved.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.service.harness import Service, running_service
from tests.service.outage import outage_for

pytestmark = pytest.mark.asyncio
CALLS = 12


@pytest_asyncio.fixture
async def traffic(pbx: AmiServer) -> AsyncIterator[Traffic]:
    traffic = Traffic(
        pbx, agents=("PJSIP/1001", "PJSIP/1002"), rng=random.Random(14), calls_per_minute=0, speed=0
    )
    yield traffic
    await traffic.close()


async def until(check: Callable[[], Any], what: str, limit: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {limit} s for {what}")
        await asyncio.sleep(0.05)


async def ended_calls(service: Service) -> int:
    return sum(service.term.pipeline.outcomes.values())


async def test_a_stop_during_a_database_outage_loses_no_call_and_the_next_start_stores_them(
    database_url: str,
    pbx: AmiServer,
    traffic: Traffic,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    journal = tmp_path / "state" / "unstored.jsonl"
    with outage_for(database_url) as outage:
        options: dict[str, Any] = {"journal_path": journal, "stop_store_seconds": 0.2}
        async with running_service(outage.url, pbx, **options) as service:
            await pbx.wait_logged_in()
            await service.settled()
            outage.begin(service.services.database)
            placed = [await traffic.place("answered_customer_hangs_up") for _ in range(CALLS)]

            async def all_ended() -> bool:
                return await ended_calls(service) == CALLS

            await until(all_ended, "every call to end")
        # stopped, the database still down: what was not stored is in the journal
        journalled = [json.loads(line) for line in journal.read_text().splitlines()]
        assert journalled and "call updates journalled at stop" in caplog.text

        outage.end()
        async with running_service(outage.url, pbx, journal_path=journal) as service:

            async def all_stored() -> bool:
                return {call["call_id"] for call in await service.calls()} == set(placed)

            await until(all_stored, "the journal's calls stored")
            assert all(call["outcome"] == "completed" for call in await service.calls())
            assert "call updates recovered from the journal" in caplog.text
            assert journal.read_text() == ""  # stored once: the next start has nothing to do


async def test_failing_storage_makes_readyz_503_with_reason_and_backlog_and_status_answers(
    database_url: str, pbx: AmiServer, traffic: Traffic, tmp_path: Path
) -> None:
    with outage_for(database_url) as outage:
        journal = tmp_path / "unstored.jsonl"
        async with running_service(outage.url, pbx, journal_path=journal) as service:
            await pbx.wait_logged_in()
            await service.settled()
            await service.login("it")
            assert (await service.client.get("/readyz")).status_code == 200
            outage.begin(service.services.database)
            await traffic.place("answered_customer_hangs_up")

            async def refused() -> bool:
                return service.term.writer.state.failures > 0

            await until(refused, "a store to fail")
            ready = await service.client.get("/readyz")
            assert ready.status_code == 503
            (problem,) = [p for p in ready.json()["problems"] if "not stored" in p]
            assert "Error" in problem  # the driver's reason, e.g. OperationalError: ...
            assert ready.json()["backlog"] > 0
            status = await service.get("/api/status", "it")
            assert status.status_code == 200
            assert status.json()["database"]["backlog"] > 0
            assert status.json()["database"]["last_error"]

            outage.end()

            async def ready_again() -> bool:
                return (await service.client.get("/readyz")).status_code == 200

            await until(ready_again, "storage to work again")
            assert len(await service.calls()) == 1
