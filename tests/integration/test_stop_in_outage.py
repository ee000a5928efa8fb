"""SIGTERM to a real `callassist serve` during a PostgreSQL outage: the process exits, no
call it heard is lost, and the next start stores them (issue 14, part 3).

PostgreSQL only: the outage is the service's connections cut at a loopback proxy
(tests/service/outage.py), which a separate process cannot tell from a database gone. The
same stop on SQLite, and the journal's every step, are in tests/service/test_outage.py and
tests/desks/test_records_journal.py.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.integration.serve_process import ServeProcess
from tests.service.conftest import TEST_DATABASE, throwaway_postgres
from tests.service.harness import AMI_SECRET, AMI_USER, prepare_database
from tests.service.outage import outage_for

pytestmark = pytest.mark.asyncio
CALLS = 40


async def ended(service: ServeProcess, count: int) -> bool:
    """Whether the service's metrics count ``count`` finished calls (no database needed)."""
    reply = await service.client.get("/metrics")
    finished = [
        sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
        if sample.name == "callassist_calls_total"
    ]
    return sum(finished) == count


async def until(check: Callable[[], Awaitable[bool]], what: str, limit: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {limit} s for {what}")
        await asyncio.sleep(0.1)


@pytest_asyncio.fixture
async def pbx() -> AsyncIterator[AmiServer]:
    server = AmiServer(username=AMI_USER, secret=AMI_SECRET)
    await server.start()
    yield server
    await server.close()


async def test_sigterm_during_a_database_outage_loses_no_call(
    pbx: AmiServer, tmp_path: Path
) -> None:
    server = os.environ.get(TEST_DATABASE)
    if not server:
        pytest.skip(f"{TEST_DATABASE} is not set: no PostgreSQL to starve")
    traffic = Traffic(
        pbx, agents=("PJSIP/1001", "PJSIP/1002"), rng=random.Random(40), calls_per_minute=0, speed=0
    )
    with throwaway_postgres(server) as url, outage_for(url) as outage:
        prepare_database(url)
        service = ServeProcess(outage.url, pbx, tmp_path, stop_store_seconds="1")
        try:
            await service.start()
            await service.token("qa")
            outage.begin()
            placed = [await traffic.place("answered_customer_hangs_up") for _ in range(CALLS)]
            await until(lambda: ended(service, CALLS), "the service to hear every call end")
            await service.stop()  # uvicorn re-raises SIGTERM once shut down: exit -15
            assert "Application shutdown complete" in service.log
            assert "call updates journalled at stop" in service.log

            outage.end()
            await service.start()

            async def all_stored() -> bool:
                return {call["call_id"] for call in await service.calls()} >= set(placed)

            await until(all_stored, "the journalled calls stored")
            assert "call updates recovered from the journal" in service.log
        finally:
            await traffic.close()
            await service.close()
