"""Live calls reach the right people over a real WebSocket, snapshot first."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

import pytest
import websockets

from telephony.ami.link import AmiLink
from telephony.simulator.channels import LiveChannels
from telephony.simulator.server import AmiServer
from tests.conftest import CAPTURES
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio


async def test_an_agent_sees_their_own_call_live_and_nobody_elses(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        async with (
            service.websocket("agent1") as agent1,
            service.websocket("agent2") as agent2,
            service.websocket("supervisor") as supervisor,
        ):
            for client in (agent1, agent2, supervisor):
                snapshot = await client.next()
                assert snapshot["type"] == "snapshot"
                assert snapshot["calls"] == []
            await pbx.play_capture(CAPTURES / "normal_inbound_caller_hangup.ami")

            ringing = await agent1.next("call.ringing")
            assert ringing["agent"] == "PJSIP/1001"
            assert ringing["call"]["customer"] == "+15551230100"
            answered = await agent1.next("call.answered")
            assert answered["first"] is True
            ended = await agent1.next("call.ended")
            assert ended["record"]["outcome"] == "completed"
            assert ended["record"]["ended_by"] == "customer"
            ids = [m["id"] for m in agent1.received]
            assert ids == sorted(ids)

            seen_by_supervisor = [m["type"] for m in await supervisor.quiet()]
            assert seen_by_supervisor == ["call.ringing", "call.answered", "call.ended"]
            assert [m["type"] for m in await agent2.quiet()] == []


async def test_a_client_that_connects_mid_call_gets_the_call_in_its_snapshot(
    database_url: str, pbx: AmiServer, tmp_path: Path
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        capture = (CAPTURES / "normal_inbound_caller_hangup.ami").read_bytes()
        # Everything up to the customer's hang-up: the call is answered and still going.
        cut = capture.index(b"Event: HangupRequest")
        partial = tmp_path / "talking.ami"
        partial.write_bytes(capture[:cut])
        await pbx.play_capture(partial)
        await service.settled(lambda: bool(service.term.pipeline.board.tracker.live_calls))
        async with service.websocket("agent1") as agent1:
            snapshot = await agent1.next("snapshot")
            (call,) = snapshot["calls"]
            assert call["agents"] == ["PJSIP/1001"]
            assert call["customer"] == "+15551230100"
            assert call["answered_at"] is not None
        async with service.websocket("agent2") as agent2:
            assert (await agent2.next("snapshot"))["calls"] == []
        (record,) = await service.calls()
        assert record["status"] == "live"
        assert record["agents"] == ["PJSIP/1001"]


async def test_the_live_connection_closes_when_the_login_expires(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        signer = service.services.signer
        # A login issued a shift ago, with a second left to run.
        shift = service.services.settings.token_minutes * 60
        token = signer.issue("agent1", "agent", now=time.time() - shift + 1.5)
        address = service.url.replace("http://", "ws://") + f"/ws?token={token}"
        async with websockets.connect(address) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
        assert "expired" in closed.value.rcvd.reason


def talking_capture(folder: Path) -> Path:
    """Agent one talking to a customer: normal_inbound_caller_hangup up to its hang-up."""
    capture = (CAPTURES / "normal_inbound_caller_hangup.ami").read_bytes()
    talking = folder / "talking.ami"
    talking.write_bytes(capture[: capture.index(b"Event: HangupRequest")])
    return talking


def reconnect_quickly(service: Service) -> None:
    """The link tries again within a fraction of a second, not the production back-off."""
    link = service.term.link
    assert isinstance(link, AmiLink)
    link.settings = dataclasses.replace(link.settings, backoff_initial=0.05, backoff_max=0.2)


async def test_after_a_pbx_restart_every_console_is_told_the_link_is_back(
    database_url: str, pbx: AmiServer, tmp_path: Path
) -> None:
    talking = talking_capture(tmp_path)
    async with running_service(database_url, pbx) as service:
        reconnect_quickly(service)
        await pbx.wait_logged_in()
        await pbx.play_capture(talking)  # agent one talks to a customer
        await service.settled(lambda: bool(service.term.pipeline.board.tracker.live_calls))
        async with (
            service.websocket("agent1") as agent1,
            service.websocket("agent2") as agent2,
            service.websocket("it") as it,
        ):
            for client in (agent1, agent2, it):
                await client.next("snapshot")
            # Asterisk restarts: every session is cut, and it comes back with no channels.
            await pbx.close()
            pbx.channels = LiveChannels()
            pbx.uptime = 2
            await pbx.start()
            await pbx.wait_logged_in(2)

            for client in (agent1, agent2, it):
                down = await client.next("link.down")
                up = await client.next("link.up")
                assert up["link"] == "connected"
                assert up["at"] >= down["at"]
                assert up["calls"] == []  # the call did not survive the restart
            # The call the restart cut ended for agent one before the link was said back.
            kinds = [m["type"] for m in agent1.received]
            ended = agent1.received[kinds.index("call.ended")]
            assert ended["record"]["ended_in_gap"] is True
            assert kinds.index("link.down") < kinds.index("call.ended") < kinds.index("link.up")
            assert (await service.get("/api/status", "it")).json()["ami"]["status"] == "connected"


async def test_the_link_coming_back_brings_each_console_the_calls_it_may_see(
    database_url: str, pbx: AmiServer, tmp_path: Path
) -> None:
    talking = talking_capture(tmp_path)
    async with running_service(database_url, pbx) as service:
        reconnect_quickly(service)
        await pbx.wait_logged_in()
        async with (
            service.websocket("agent1") as agent1,
            service.websocket("agent2") as agent2,
            service.websocket("supervisor") as supervisor,
        ):
            for client in (agent1, agent2, supervisor):
                await client.next("snapshot")
            await pbx.drop_sessions()  # the network fails...
            await agent1.next("link.down")
            await pbx.play_capture(talking, hold_when_disconnected=False)  # ...a call starts
            await pbx.wait_logged_in(2)

            mine = (await agent1.next("link.up"))["calls"]
            others = (await agent2.next("link.up"))["calls"]
            everyone = (await supervisor.next("link.up"))["calls"]

    assert [call["agents"] for call in mine] == [["PJSIP/1001"]]
    assert mine[0]["customer"] == "+15551230100"
    assert others == []
    assert [call["call_id"] for call in everyone] == [call["call_id"] for call in mine]
