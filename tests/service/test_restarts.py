"""A real `callassist serve`, killed (SIGKILL) mid-call and started again: the call's record
keeps everything that was known before the kill, in one clock, and says events may be missing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.integration.serve_process import ServeProcess

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180)]
CUSTOMER = ("+8613800138000", "张三")


@pytest_asyncio.fixture
async def traffic(pbx: AmiServer) -> AsyncIterator[Traffic]:
    traffic = Traffic(
        pbx, agents=("PJSIP/1001", "PJSIP/1002"), rng=random.Random(14), calls_per_minute=0
    )
    yield traffic
    await traffic.close()


@pytest_asyncio.fixture
async def service(database_url: str, pbx: AmiServer, tmp_path: Path) -> AsyncIterator[ServeProcess]:
    pbx.timestampevents = True  # as the shipped manager.conf sets it
    process = ServeProcess(database_url, pbx, tmp_path)
    yield process
    await process.close()


async def call_row(service: ServeProcess, call_id: str, **wanted: Any) -> dict[str, Any]:
    """The call's row in the QA list once it has the wanted values (within 20 s)."""
    row: dict[str, Any] = {}
    for _ in range(200):
        rows = [c for c in await service.calls() if c["call_id"] == call_id]
        if rows:
            row = rows[0]
            if all(row.get(name) == value for name, value in wanted.items()):
                return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_id} never had {wanted}: {row}")


async def test_a_call_answered_before_a_kill_keeps_its_agent_and_times(
    service: ServeProcess, pbx: AmiServer, traffic: Traffic
) -> None:
    await service.start()
    call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
    await call.ring()
    await call.answer()
    assert call.call_id is not None
    before = await call_row(service, call.call_id, agent="PJSIP/1001")
    assert before["answered_at"] is not None

    service.kill()
    await service.start()
    await call.hang_up()
    after = await call_row(service, call.call_id, status="ended")

    assert after["outcome"] == "completed"
    assert after["ended_by"] == "customer"
    assert after["agent"] == "PJSIP/1001"
    assert after["answered_at"] == before["answered_at"]
    assert after["started_at"] == before["started_at"]
    ring = before["answered_at"] - before["started_at"]
    assert after["ring_seconds"] == pytest.approx(ring, abs=0.01)
    assert 0 <= after["talk_seconds"] <= after["ended_at"] - after["answered_at"] + 0.01
    assert after["events_missed"] is True, "a call re-adopted after a restart must say so"


async def test_a_call_ringing_at_a_kill_is_answered_after_the_start_and_recorded_whole(
    service: ServeProcess, pbx: AmiServer, traffic: Traffic
) -> None:
    await service.start()
    call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
    await call.ring()
    assert call.call_id is not None
    before = await call_row(service, call.call_id, status="live")
    assert before["answered_at"] is None

    service.kill()
    await service.start()
    await call.answer()
    await call.hang_up()
    after = await call_row(service, call.call_id, status="ended")

    assert (after["outcome"], after["ended_by"]) == ("completed", "customer")
    assert after["agent"] == "PJSIP/1001"
    assert after["started_at"] == before["started_at"]
    assert after["customer"] == CUSTOMER[0]
    assert 0 <= after["ring_seconds"] < 60, "ring time mixes two clocks"
    assert after["events_missed"] is True
