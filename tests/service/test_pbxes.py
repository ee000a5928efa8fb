"""Several PBXs in one service (issue 16, CALLASSIST_PBXES): two simulators over TCP, each
the PBX of its own agents. The same Linkedid on both is two calls; each agent hears only
their own PBX's calls and link, even where both PBXs have a phone named PJSIP/1001; a call
dropped on one PBX is called back through that PBX."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.auth.store import Role, add_user
from app.db.engine import Database
from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.conftest import CAPTURES
from tests.service.conftest import simulator
from tests.service.harness import AMI_SECRET, AMI_USER, PASSWORD, Service, running_service

pytestmark = pytest.mark.asyncio

CAPTURE = CAPTURES / "normal_inbound_caller_hangup.ami"  # its agent is PJSIP/1001


@pytest_asyncio.fixture
async def south() -> AsyncIterator[AmiServer]:
    async with simulator() as server:
        yield server


@pytest.fixture
def south_agent(database_url: str) -> str:
    """An agent whose phone is PJSIP/1001 on the south PBX (agent1's is PJSIP/1001 on the
    default one)."""
    database = Database(database_url)
    with database.session() as session:
        add_user(
            session, "southagent", Role.AGENT, PASSWORD, endpoint="PJSIP/1001", pbx="south",
            pbxes=("default", "south"),
        )
    database.dispose()
    return "southagent"


def two_pbxes(
    default: AmiServer, south: AmiServer, south_recordings: Path | None = None
) -> dict[str, Any]:
    """The settings naming both simulators, each with its trunk; the south PBX's
    recordings in a folder of their own if given."""
    pbxes: list[dict[str, Any]] = [
        {"name": name, "ami_url": f"ami://{AMI_USER}:{AMI_SECRET}@127.0.0.1:{server.port}",
         "trunks": "PJSIP/2001"}
        for name, server in (("default", default), ("south", south))
    ]
    if south_recordings is not None:
        pbxes[1]["recordings_dir"] = str(south_recordings)
    return {"ami_url": None, "trunks": "", "pbxes": json.dumps(pbxes)}


async def until(check: Callable[[], Awaitable[Any]], what: str, limit: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + limit
    while not (value := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {limit} s for {what}")
        await asyncio.sleep(0.05)
    return value


async def ended_calls(service: Service, count: int) -> list[dict[str, Any]] | None:
    calls = [c for c in await service.calls() if c["status"] == "ended"]
    return calls if len(calls) == count else None


async def test_one_linkedid_on_two_pbxs_is_two_calls_each_popped_on_its_own_pbx_only(
    database_url: str, pbx: AmiServer, south: AmiServer, south_agent: str, tmp_path: Path
) -> None:
    settings = two_pbxes(pbx, south, south_recordings=tmp_path / "south")
    async with running_service(database_url, pbx, **settings) as service:
        await pbx.wait_logged_in()
        await south.wait_logged_in()
        async with (
            service.websocket("agent1") as agent1,
            service.websocket(south_agent) as southagent,
            service.websocket("supervisor") as supervisor,
        ):
            for client in (agent1, southagent, supervisor):
                await client.next("snapshot")
            await pbx.play_capture(CAPTURE)
            ringing = await agent1.next("call.ringing")
            linkedid = ringing["call_id"]
            assert ringing["call"]["pbx"] == "default"
            await agent1.next("call.ended")

            await south.play_capture(CAPTURE)  # the very same ids, on the other PBX
            theirs = await southagent.next("call.ringing")
            assert theirs["call_id"] == f"south:{linkedid}"
            assert (theirs["agent"], theirs["call"]["pbx"]) == ("PJSIP/1001", "south")
            await southagent.next("call.ended")

            assert [m["type"] for m in await agent1.quiet()] == []
            assert all(m["call_id"] == f"south:{linkedid}" for m in southagent.received[1:])
            seen = {m.get("call_id") for m in await supervisor.quiet(1.0)}
            assert seen == {linkedid, f"south:{linkedid}"}

        calls = await until(lambda: ended_calls(service, 2), "both calls stored")
        by_pbx = {c["pbx"]: c for c in calls}
        assert by_pbx["default"]["call_id"] == linkedid
        assert by_pbx["south"]["call_id"] == f"south:{linkedid}"
        assert by_pbx["default"]["linkedid"] == by_pbx["south"]["linkedid"] == linkedid
        assert by_pbx["south"]["outcome"] == by_pbx["default"]["outcome"] == "completed"
        mine = [c["call_id"] for c in await service.calls(south_agent)]
        assert mine == [f"south:{linkedid}"]
        # Each Asterisk writes its own disk: the south call's file is in south's folder.
        recording = Path(by_pbx["south"]["recording"]).name
        (tmp_path / "south").mkdir()
        (tmp_path / "south" / recording).write_bytes(b"RIFF" + bytes(100))
        heard = {c["pbx"]: c["recording_available"] for c in await service.calls()}
        assert heard == {"south": True, "default": False}
        played = await service.get(f"/api/calls/{by_pbx['south']['id']}/recording", "qa")
        assert played.status_code == 200 and len(played.content) == 104

        status = (await service.get("/api/status", "it")).json()
        assert [(p["pbx"], p["pbx_owner"], p["ami"]["status"]) for p in status["pbxes"]] == [
            ("default", True, "connected"),
            ("south", True, "connected"),
        ]
        metrics = (await service.client.get("/metrics")).text
        assert 'callassist_calls_total{outcome="completed",pbx="south"} 1.0' in metrics
        assert 'callassist_ami_link_up{pbx="south"} 1.0' in metrics


async def test_a_call_dropped_on_one_pbx_is_called_back_through_that_pbx(
    database_url: str, pbx: AmiServer, south: AmiServer, south_agent: str
) -> None:
    traffic = Traffic(south, agents=("PJSIP/1001",), rng=random.Random(3), calls_per_minute=0)
    south.on_originate = traffic.answer_originate
    try:
        async with running_service(database_url, pbx, **two_pbxes(pbx, south)) as service:
            await south.wait_logged_in()
            dropped = await traffic.place("dropped_network_cause", agents=["PJSIP/1001"])
            (originate,) = await south.wait_for_action("Originate", timeout=10)
            assert originate["Channel"] == "PJSIP/1001"
            assert not originate["ChannelId"].startswith("south:"), "the PBX gets its own ids"

            async def reached() -> dict[str, Any] | None:
                reply = await service.get("/api/callbacks", "supervisor", status="reached")
                items = reply.json()["items"]
                return items[0] if items else None

            callback = await until(reached, "the callback reached")
            assert (callback["call_id"], callback["pbx"]) == (f"south:{dropped}", "south")
            (attempt,) = callback["attempts_list"]
            assert attempt["channel_id"] == f"south:{originate['ChannelId']}"
            assert not [a for a in pbx.actions if a.get("Action") == "Originate"]
    finally:
        await traffic.close()


async def test_a_pbx_whose_link_goes_down_is_told_to_its_agents_and_its_it_side_only(
    database_url: str, pbx: AmiServer, south: AmiServer, south_agent: str
) -> None:
    async with running_service(database_url, pbx, **two_pbxes(pbx, south)) as service:
        await pbx.wait_logged_in()
        await south.wait_logged_in()
        async with (
            service.websocket("agent1") as agent1,
            service.websocket(south_agent) as southagent,
            service.websocket("it") as it,
        ):
            for client in (agent1, southagent, it):
                assert (await client.next("snapshot"))["link"] == "connected"
            await south.close()
            down = await southagent.next("link.down")
            assert down["pbx"] == "south"
            assert (await it.next("link.down"))["pbx"] == "south"
            assert [m["type"] for m in await agent1.quiet()] == []

            ready = await service.client.get("/readyz")
            assert ready.status_code == 503
            (problem,) = [p for p in ready.json()["problems"] if "AMI link" in p]
            assert problem.endswith("(PBX south)"), problem  # down, or connecting again
