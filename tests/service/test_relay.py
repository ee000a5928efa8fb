"""Live messages between instances through a real Redis (app/live/relay.py): two hubs in
this process, each with its relay, as two instances would have them. The PBX's side of an
instance is a plain stand-in (its live view and its pop ledger's answer); the service
tests with two `callassist serve` processes are in test_failover.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from app.live.hub import Hub, Subscriber
from app.live.relay import RedisRelay, RelayDown
from tests.service.outage import TcpProxy

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@dataclass
class PbxSide:
    """What an instance's pipeline gives the relay: its live calls while it owns the PBX."""

    name: str
    calls: list[dict[str, Any]] | None = None  # None: another instance owns the PBX
    acks: list[tuple[int, str | None]] = field(default_factory=list)
    pops: set[int] = field(default_factory=set)  # ids its ledger waits for

    def owns(self, pbx: str) -> bool:
        return self.calls is not None and pbx == "default"

    def owns_all(self) -> bool:
        return self.calls is not None

    def owned(self) -> list[str]:
        return ["default"] if self.calls is not None else []

    def owner_view(self, pbx: str) -> list[dict[str, Any]] | None:
        return self.calls if self.owns(pbx) else None

    def link_view(self, pbx: str) -> str:
        return "connected"

    def acked(self, message_id: int, endpoint: str | None, at: float) -> bool:
        if message_id not in self.pops:
            return False
        self.acks.append((message_id, endpoint))
        return True

    async def answer(self, pbx: str, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        """The owner's answer to a question: here, what it was asked, and who answered."""
        return {"ok": {"kind": kind, "args": args, "by": self.name, "pbx": pbx}}


@dataclass
class Instance:
    hub: Hub
    relay: RedisRelay
    side: PbxSide


@contextlib.asynccontextmanager
async def instance(url: str, prefix: str, name: str, side: PbxSide) -> AsyncIterator[Instance]:
    relay = RedisRelay(url, prefix=prefix, instance=name, ask_within=2.0)
    hub = Hub(relay)
    task = asyncio.create_task(relay.run(hub, side, side))
    try:
        await eventually(lambda: relay.state.connected, f"{name} connected to Redis")
        yield Instance(hub, relay, side)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def eventually(check: Callable[[], bool], what: str, within: float = 10.0) -> None:
    """Wait for a state the relay reaches in its own task (fails with ``what``)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if check():
            return
        assert asyncio.get_running_loop().time() < deadline, f"not reached in time: {what}"
        await asyncio.sleep(0.02)


async def next_message(subscriber: Subscriber, within: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        return dict(json.loads(await subscriber.queue.get()))


def ringing(call_id: str, agent: str) -> dict[str, Any]:
    call = {"call_id": call_id, "parties": [agent], "started_at": 1.0, "customer": "+1555"}
    return {"type": "call.ringing", "call_id": call_id, "agent": agent, "call": call, "ack": True}


@pytest_asyncio.fixture
async def pair(redis_settings: dict[str, str]) -> AsyncIterator[tuple[Instance, Instance]]:
    url, prefix = redis_settings["redis_url"], redis_settings["redis_prefix"]
    async with (
        instance(url, prefix, "alpha", PbxSide("alpha", calls=[])) as alpha,
        instance(url, prefix, "beta", PbxSide("beta")) as beta,
    ):
        yield alpha, beta


async def test_a_pop_from_the_owner_reaches_the_agents_console_on_another_instance_only(
    pair: tuple[Instance, Instance],
) -> None:
    alpha, beta = pair
    mine = beta.hub.subscribe("agent1", "agent", "PJSIP/1001")
    other = beta.hub.subscribe("agent2", "agent", "PJSIP/1002")
    supervisor = beta.hub.subscribe("supervisor", "supervisor", None)
    await eventually(lambda: alpha.hub.listeners("PJSIP/1001") == 1, "beta's console counted")

    message_id = alpha.hub.publish(ringing("c1", "PJSIP/1001"), ["PJSIP/1001"])

    pop = await next_message(mine)
    assert (pop["type"], pop["id"], pop["call"]["call_id"]) == ("call.ringing", message_id, "c1")
    assert (await next_message(supervisor))["id"] == message_id
    assert other.queue.empty(), "another agent's console never hears of the call"
    assert beta.hub.next_id() != message_id and beta.hub.next_id() % 1024 != message_id % 1024


async def test_an_acknowledgement_taken_by_another_instance_reaches_the_owners_ledger(
    pair: tuple[Instance, Instance],
) -> None:
    alpha, beta = pair
    message_id = alpha.hub.publish(ringing("c1", "PJSIP/1001"), ["PJSIP/1001"])
    alpha.side.pops.add(message_id)

    beta.relay.ack(message_id, "PJSIP/1001", 123.0)

    await eventually(lambda: bool(alpha.side.acks), "the ack at the owner")
    assert alpha.side.acks == [(message_id, "PJSIP/1001")]


async def test_a_question_asked_on_another_instance_is_answered_by_the_owner_only(
    pair: tuple[Instance, Instance],
) -> None:
    alpha, beta = pair
    answer = await beta.relay.ask("default", "dial", {"callback_id": 7, "agent": "PJSIP/1001"})
    asked = {"callback_id": 7, "agent": "PJSIP/1001"}
    assert answer == {"ok": {"kind": "dial", "args": asked, "by": "alpha", "pbx": "default"}}
    alpha.side.calls = None  # nobody owns the PBX now: nobody answers, the asker is told
    with pytest.raises(RelayDown, match="did not answer"):
        await beta.relay.ask("default", "dial", {})


async def test_the_owner_knows_whether_an_agent_has_a_console_anywhere(
    pair: tuple[Instance, Instance],
) -> None:
    alpha, beta = pair
    assert alpha.hub.listeners("PJSIP/1001") == 0
    console = beta.hub.subscribe("agent1", "agent", "PJSIP/1001")
    await eventually(lambda: alpha.hub.listeners("PJSIP/1001") == 1, "the console counted")
    beta.hub.unsubscribe(console)
    await eventually(lambda: alpha.hub.listeners("PJSIP/1001") == 0, "its leaving counted")


async def test_another_instance_reads_the_owners_live_calls_for_a_snapshot(
    pair: tuple[Instance, Instance],
) -> None:
    alpha, beta = pair
    alpha.hub.publish(ringing("c1", "PJSIP/1001"), ["PJSIP/1001"])
    alpha.hub.publish(ringing("c2", "PJSIP/1002"), ["PJSIP/1002"])
    alpha.hub.publish({"type": "call.ended", "call_id": "c1", "merged": []}, ["PJSIP/1001"])
    alpha.hub.publish({"type": "link.down", "at": 5.0, "reason": "gone"})
    watcher = beta.hub.subscribe("supervisor", "supervisor", None)
    for _ in range(4):
        await next_message(watcher)  # all four reached beta: Redis has written them

    calls, link = await beta.relay.owner_calls("default")
    assert [call["call_id"] for call in calls] == ["c2"]
    assert link == "down"


async def test_after_the_link_comes_back_each_console_gets_only_the_calls_it_may_see(
    pair: tuple[Instance, Instance],
) -> None:
    alpha, beta = pair
    agent = beta.hub.subscribe("agent1", "agent", "PJSIP/1001")
    supervisor = beta.hub.subscribe("supervisor", "supervisor", None)
    calls = [ringing("c1", "PJSIP/1001")["call"], ringing("c2", "PJSIP/1002")["call"]]

    alpha.hub.publish_calls({"type": "link.up", "link": "connected"}, calls)

    assert [c["call_id"] for c in (await next_message(agent))["calls"]] == ["c1"]
    assert [c["call_id"] for c in (await next_message(supervisor))["calls"]] == ["c1", "c2"]
    snapshot, link = await beta.relay.owner_calls("default")
    assert ([c["call_id"] for c in snapshot], link) == (["c1", "c2"], "connected")


async def test_a_line_fault_reaches_each_agent_on_every_instance_with_their_own_calls_only(
    pair: tuple[Instance, Instance],
) -> None:
    alpha, beta = pair
    here = alpha.hub.subscribe("agent1", "agent", "PJSIP/1001")
    there = beta.hub.subscribe("agent2", "agent", "PJSIP/1002")
    elsewhere = beta.hub.subscribe("agent3", "agent", "PJSIP/1002", pbx="south")
    bystander = beta.hub.subscribe("agent4", "agent", "PJSIP/1004")
    parts = {"PJSIP/1001": {"call_ids": ["c1"]}, "PJSIP/1002": {"call_ids": ["c2", "c3"]}}
    fault = {"type": "line.incident", "incident": {"id": 7}}
    alpha.hub.publish_per_agent(fault, parts, pbx="default")

    mine, theirs = await next_message(here), await next_message(there)
    assert (mine["call_ids"], theirs["call_ids"]) == (["c1"], ["c2", "c3"])
    assert mine["id"] == theirs["id"] and theirs["incident"] == {"id": 7}
    assert "per_agent" not in theirs, "no agent hears of another's calls"
    await asyncio.sleep(0.2)
    assert elsewhere.queue.empty(), "PJSIP/1002 on another PBX is another phone"
    assert bystander.queue.empty()


async def test_a_login_ended_on_one_instance_closes_its_sockets_on_the_others(
    pair: tuple[Instance, Instance],
) -> None:
    alpha, beta = pair
    console = beta.hub.subscribe("agent1", "agent", "PJSIP/1001", token_id="t1")
    kept = beta.hub.subscribe("agent1", "agent", "PJSIP/1001", token_id="t2")

    alpha.hub.end_logins("agent1", "t1")

    await eventually(console.ended.is_set, "the socket of the ended login told")
    assert not kept.ended.is_set()


async def test_without_redis_the_owners_consoles_still_get_their_pops_and_the_others_reconnect(
    redis_settings: dict[str, str],
) -> None:
    address = urlsplit(redis_settings["redis_url"])
    with TcpProxy(address.hostname or "127.0.0.1", address.port or 6379) as proxy:
        url = f"redis://127.0.0.1:{proxy.port}{address.path}"
        prefix = redis_settings["redis_prefix"]
        side = PbxSide("alpha", calls=[])
        async with (
            instance(url, prefix, "alpha", side) as alpha,
            instance(url, prefix, "beta", PbxSide("beta")) as beta,
        ):
            at_owner = alpha.hub.subscribe("agent1", "agent", "PJSIP/1001")
            elsewhere = beta.hub.subscribe("agent2", "agent", "PJSIP/1002")

            proxy.cut()
            await eventually(lambda: not beta.relay.state.connected, "beta knows")
            await eventually(lambda: not alpha.relay.state.connected, "alpha knows")
            assert elsewhere.dropped.is_set(), "beta's consoles reconnect for a snapshot"
            message_id = alpha.hub.publish(ringing("c1", "PJSIP/1001"), ["PJSIP/1001"])
            assert (await next_message(at_owner))["id"] == message_id
            assert beta.relay.state.last_error

            side.calls = [ringing("c1", "PJSIP/1001")["call"]]  # what the owner has now
            proxy.open()
            await eventually(lambda: beta.relay.state.connected, "beta back", within=15)
            await eventually(lambda: alpha.relay.state.connected, "alpha back", within=15)
            calls, _ = await beta.relay.owner_calls("default")
            assert [c["call_id"] for c in calls] == ["c1"], "the owner wrote its view again"
