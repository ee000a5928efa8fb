"""Two real `callassist serve` processes on one PostgreSQL, one Redis and one PBX (issue 16):
the first owns the PBX, the second stands by and serves consoles; the owner is SIGKILLed
mid-call and the second takes over: the agent connected to it got the pop, the call's record
keeps what the dead owner stored, and the dropped call is called back once.

PostgreSQL only: on SQLite there is one instance by nature (test_restarts.py and
test_callback_restarts.py are the same story with one process started again).
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import websockets

from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.integration.serve_process import ServeProcess
from tests.service.harness import LiveClient
from tests.service.outage import TcpProxy
from tests.service.test_callback_restarts import callbacks, eventually, originates
from tests.service.test_ownership_lock import cut_sessions_of
from tests.service.test_restarts import call_row

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180)]
CUSTOMER = ("+15550002222", "Joe Customer")


@pytest_asyncio.fixture
async def traffic(pbx: AmiServer) -> AsyncIterator[Traffic]:
    traffic = Traffic(
        pbx,
        agents=("PJSIP/1001", "PJSIP/1002"),
        rng=random.Random(16),
        calls_per_minute=0,
        speed=3.0,
    )
    pbx.on_originate = traffic.answer_originate
    yield traffic
    await traffic.close()


@pytest_asyncio.fixture
async def pair(
    database_url: str, pbx: AmiServer, tmp_path: Path, redis_settings: dict[str, str]
) -> AsyncIterator[tuple[ServeProcess, ServeProcess]]:
    """Two instances on one PostgreSQL and one Redis, as an operator scales out."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share one PBX on PostgreSQL only (SQLite: one machine)")
    pbx.timestampevents = True
    made = []
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        made.append(
            ServeProcess(database_url, pbx, tmp_path / name, instance_name=name, **redis_settings)
        )
    yield made[0], made[1]
    for process in made:
        await process.close()


@contextlib.asynccontextmanager
async def console(service: ServeProcess, username: str) -> AsyncIterator[LiveClient]:
    """A browser's live connection to one instance, as the proxy in front would give it."""
    token = await service.token(username)
    address = f"ws://127.0.0.1:{service.port}/ws?token={token}"
    async with websockets.connect(address) as ws:
        client = LiveClient(ws)
        assert (await client.next())["type"] == "snapshot"
        yield client


async def acknowledged(client: LiveClient, kind: str) -> dict[str, Any]:
    """The next message of this kind, acknowledged as the console does."""
    message = await client.next(kind, limit=20)
    if message.get("ack"):
        await client.ws.send(json.dumps({"type": "ack", "id": message["id"]}))
    return message


async def ownership(service: ServeProcess) -> dict[str, Any]:
    reply = await service.get("/api/status", "supervisor")
    reply.raise_for_status()
    (pbx,) = reply.json()["pbxes"]
    return dict(pbx)


async def test_the_second_instance_stands_by_then_takes_over_a_killed_owner_mid_call(
    pair: tuple[ServeProcess, ServeProcess], pbx: AmiServer, traffic: Traffic
) -> None:
    alpha, beta = pair
    await alpha.start()
    await beta.start()  # ready while standing by: it serves from the database
    assert (await ownership(alpha))["pbx_owner"] is True
    standing = await ownership(beta)
    assert (standing["pbx_owner"], standing["owner"], standing["instance"]) == (
        False,
        "alpha",
        "beta",
    )
    assert (await beta.client.get("/readyz")).json()["standing_by"] is True

    async with console(beta, "agent1") as agent:  # connected to the instance standing by
        call = traffic.stage("dropped_network_cause", agent="PJSIP/1001", customer=CUSTOMER)
        await call.ring()
        pop = await acknowledged(agent, "call.ringing")  # from alpha, through Redis
        assert (pop["call_id"], pop["customer"]) == (call.call_id, CUSTOMER[0])
        await call.answer()
        assert (await acknowledged(agent, "call.answered"))["call_id"] == call.call_id
        await _owner_answers_on(beta, call.call_id)
        assert call.call_id is not None
        before = await call_row(beta, call.call_id, agent="PJSIP/1001")  # stored by alpha
        assert before["answered_at"] is not None
        await eventually(lambda: _delivered(alpha, 2), "beta's acks in alpha's pop ledger")

        alpha.kill()  # mid-call: its lock's session closes with its socket
        await eventually(lambda: _owns(beta), "beta taking the PBX over", within=20)
        await call.hang_up()  # the network drops it: a callback is owed
        ended = await agent.next("call.ended", limit=20)  # now from beta itself
        assert ended["record"]["outcome"] == "dropped"

    after = await call_row(beta, call.call_id, status="ended")
    assert after["outcome"] == "dropped"
    assert (after["agent"], after["answered_at"]) == ("PJSIP/1001", before["answered_at"])
    assert after["started_at"] == before["started_at"]
    (originate,) = await pbx.wait_for_action("Originate", timeout=20)
    assert (originate["Channel"], originate["Exten"]) == ("PJSIP/1001", CUSTOMER[0])
    await eventually(lambda: _callback_settled(beta), "the callback followed to its end")
    assert len(originates(pbx)) == 1, "a dropped call is called back exactly once"


async def _owner_answers_on(standing_by: ServeProcess, call_id: str | None) -> None:
    """What only the PBX's owner knows, asked on the instance standing by: its link and calls
    on the status page, its line board, the agent's phone at the shift check, the call at
    the agent's console."""
    status = (await standing_by.get("/api/status", "it")).json()
    assert (status["ami"]["status"], status["live_calls"]) == ("connected", 1)
    assert status["pbxes"][0]["pbx_owner"] is False
    board = await standing_by.get("/api/lines", "it")
    assert board.status_code == 200, board.text
    assert board.json()["link"]["status"] == "connected"
    check = await standing_by.post("/api/shift-checks", "agent1", {"rtt_ms": 20})
    assert check.status_code == 200, check.text
    assert check.json()["link"] == {"up": True, "status": "connected"}
    console = await standing_by.get(f"/api/console/calls/{call_id}", "agent1")
    assert console.status_code == 200, console.text
    assert console.json()["call"]["status"] == "on_call"


async def _delivered(service: ServeProcess, count: int) -> bool:
    """Whether the pop ledger counts this many pops acknowledged (/metrics)."""
    text = (await service.client.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith("callassist_pops_delivered_total"))
    return float(line.split()[-1]) >= count


async def _owns(service: ServeProcess) -> bool:
    return bool((await ownership(service))["pbx_owner"])


async def _callback_settled(service: ServeProcess) -> bool:
    items = await callbacks(service)
    return bool(items) and items[0]["status"] in ("reached", "queued")


async def test_an_owner_that_loses_its_lock_connection_stands_down_and_carries_on_when_it_wins(
    pair: tuple[ServeProcess, ServeProcess], pbx: AmiServer, traffic: Traffic
) -> None:
    """A database restart, as the owner sees it: its lock session cut. Alone, it wins the
    lock again, and its second term takes the call up as a start would (one process, so
    the parts' own restart is what is tested: link, pipeline, writer, desks)."""
    alpha, _ = pair
    await alpha.start()
    call = traffic.stage("dropped_network_cause", agent="PJSIP/1001", customer=CUSTOMER)
    await call.ring()
    await call.answer()
    assert call.call_id is not None
    before = await call_row(alpha, call.call_id, agent="PJSIP/1001")

    assert cut_sessions_of(alpha.env["CALLASSIST_DATABASE_URL"], "alpha") == 1
    await eventually(lambda: _terms(alpha, 2), "a second term after the lost lock")
    assert "the ownership lock is lost" in alpha.log
    await eventually(lambda: _link_up(alpha), "the link up again")
    await call.hang_up()

    after = await call_row(alpha, call.call_id, status="ended")
    assert (after["outcome"], after["agent"]) == ("dropped", "PJSIP/1001")
    assert after["answered_at"] == before["answered_at"]
    await pbx.wait_for_action("Originate", timeout=20)
    await eventually(lambda: _callback_settled(alpha), "the callback followed to its end")
    assert len(originates(pbx)) == 1


async def _terms(service: ServeProcess, count: int) -> bool:
    state = await ownership(service)
    return bool(state["pbx_owner"]) and state["terms"] == count


async def _link_up(service: ServeProcess) -> bool:
    reply = await service.get("/api/status", "supervisor")
    return bool(reply.json()["ami"]["status"] == "connected")


async def test_without_redis_the_owners_consoles_still_get_pops_and_the_others_say_so(
    database_url: str,
    pbx: AmiServer,
    tmp_path: Path,
    redis_settings: dict[str, str],
    traffic: Traffic,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share one PBX on PostgreSQL only (SQLite: one machine)")
    redis = urlsplit(redis_settings["redis_url"])
    with TcpProxy(redis.hostname or "127.0.0.1", redis.port or 6379) as proxy:
        settings = {**redis_settings, "redis_url": f"redis://127.0.0.1:{proxy.port}{redis.path}"}
        processes = []
        for name in ("alpha", "beta"):
            (tmp_path / name).mkdir()
            process = ServeProcess(
                database_url, pbx, tmp_path / name, instance_name=name, **settings
            )
            processes.append(process)
            await process.start()
        alpha, beta = processes
        try:
            async with console(alpha, "agent1") as agent:
                proxy.cut()
                await eventually(lambda: _redis_problem(beta), "beta saying Redis is gone")
                assert (await alpha.client.get("/readyz")).status_code == 200

                call = traffic.stage(agent="PJSIP/1001")
                await call.ring()
                assert (await acknowledged(agent, "call.ringing"))["call_id"] == call.call_id

                proxy.open()
                await eventually(lambda: _ready(beta), "beta ready again", within=20)
        finally:
            for process in processes:
                await process.close()


async def _redis_problem(service: ServeProcess) -> bool:
    reply = await service.client.get("/readyz")
    problems = reply.json()["problems"]
    return reply.status_code == 503 and any(p.startswith("Redis unreachable") for p in problems)


async def _ready(service: ServeProcess) -> bool:
    return (await service.client.get("/readyz")).status_code == 200
