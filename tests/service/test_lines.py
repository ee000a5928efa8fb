"""The IT board's lines through the real service: states and round trips from the simulator
over TCP (events and the contact listing read after login), and drop rates per trunk."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest

from app.db.engine import Database
from app.db.tables import CallRow
from telephony.simulator.server import AmiServer
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio


async def board(service: Service, username: str = "it") -> dict[str, Any]:
    reply = await service.get("/api/lines", username)
    reply.raise_for_status()
    found: dict[str, Any] = reply.json()
    return found


async def line_of(
    service: Service, endpoint: str, state: str, limit: float = 10.0
) -> dict[str, Any]:
    """The endpoint's line once it shows ``state`` (events reach the table asynchronously)."""
    deadline = time.monotonic() + limit
    while True:
        lines = {line["endpoint"]: line for line in (await board(service))["endpoints"]}
        if endpoint in lines and lines[endpoint]["state"] == state:
            return lines[endpoint]
        if time.monotonic() > deadline:
            raise AssertionError(f"{endpoint} never became {state}: {lines.get(endpoint)}")
        await asyncio.sleep(0.05)


async def test_the_lines_show_each_phone_and_trunk_with_state_and_round_trip(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        await pbx.set_contact("PJSIP/1001", "Reachable", roundtrip_usec=1500)
        phone = await line_of(service, "PJSIP/1001", "reachable")
        before = time.time()
        await pbx.set_contact("PJSIP/1001", "Unreachable")
        down = await line_of(service, "PJSIP/1001", "unreachable")
        shown = await board(service)

        assert phone["roundtrip_ms"] == 1.5
        assert (phone["kind"], phone["agent"]) == ("agent", "agent1")
        assert down["roundtrip_ms"] is None
        assert down["last_change_at"] >= before > phone["last_change_at"]
        lines = {line["endpoint"]: line for line in shown["endpoints"]}
        # Never heard from, yet on the board: the configured trunk and agent two's phone.
        assert (lines["PJSIP/2001"]["kind"], lines["PJSIP/2001"]["state"]) == ("trunk", "unknown")
        assert lines["PJSIP/1002"]["state"] == "unknown"
        assert shown["endpoints"][0]["endpoint"] == "PJSIP/2001"  # trunks first
        assert shown["link"]["status"] == "connected"
        assert shown["incidents_active"] >= 0
        for username in ("agent1", "qa"):
            assert (await service.get("/api/lines", username)).status_code == 403


async def test_the_contact_listing_after_login_shows_what_no_event_said(
    database_url: str, pbx: AmiServer
) -> None:
    # Registered before the service started: no ContactStatus will ever tell the service.
    pbx.contacts.register("PJSIP/2001", status="Reachable", roundtrip_usec=2000, now=time.time())
    pbx.contacts.register("PJSIP/1002", status="Unreachable", now=time.time())
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        trunk = await line_of(service, "PJSIP/2001", "reachable")
        await line_of(service, "PJSIP/1002", "unreachable")

        assert trunk["roundtrip_ms"] == 2.0
        assert [a for a in pbx.actions if a.get("Action") == "PJSIPShowContacts"]
        for _ in range(200):  # the phone that was already down is an incident
            items = (await service.get("/api/incidents", "it")).json()["items"]
            if items:
                break
            await asyncio.sleep(0.05)
        assert [(i["kind"], i["location"], i["level"]) for i in items] == [
            ("device_fault", "PJSIP/1002", "IV")
        ]


async def incidents(service: Service, count: int) -> list[dict[str, Any]]:
    for _ in range(200):
        items: list[dict[str, Any]] = (await service.get("/api/incidents", "it")).json()["items"]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.05)
    return items


async def test_a_trunk_with_a_static_contact_shows_its_state_right_after_login(
    database_url: str, pbx: AmiServer
) -> None:
    # The carrier's contact is configured, not registered: PJSIPShowContacts never lists it,
    # and no ContactStatus comes while it keeps answering.
    pbx.contacts.add_static("PJSIP/2001", "sip:127.0.0.1:25090")
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        trunk = await line_of(service, "PJSIP/2001", "reachable", limit=5.0)

        assert (trunk["kind"], trunk["roundtrip_ms"]) == ("trunk", 0.751)
        asked = [a.get("Endpoint") for a in pbx.actions if a.get("Action") == "PJSIPShowEndpoint"]
        assert asked == ["2001"]  # only the endpoint PJSIPShowContacts left out
        assert await incidents(service, 0) == []


async def test_a_trunk_already_down_at_login_is_an_incident_and_survives_a_reconnect(
    database_url: str, pbx: AmiServer
) -> None:
    pbx.contacts.add_static("PJSIP/2001", "sip:127.0.0.1:25090", status="Unreachable")
    async with running_service(database_url, pbx) as service:
        link = service.term.link
        assert link is not None
        link.settings = dataclasses.replace(link.settings, backoff_initial=0.05, backoff_max=0.2)
        await pbx.wait_logged_in()
        await line_of(service, "PJSIP/2001", "unreachable")
        opened = await incidents(service, 1)
        await pbx.set_contact("PJSIP/2001", "Reachable")  # it answers again, then a PBX cut
        await line_of(service, "PJSIP/2001", "reachable")
        await pbx.drop_sessions()
        await pbx.wait_logged_in(2)
        await pbx.wait_for_action("PJSIPShowEndpoint", 2)
        await asyncio.sleep(0.3)  # the second listing is applied
        after = await line_of(service, "PJSIP/2001", "reachable")

    assert [(i["kind"], i["location"]) for i in opened] == [("trunk_down", "PJSIP/2001")]
    assert after["state"] == "reachable"  # the listing after the reconnect did not unregister it


def add_call(
    database_url: str, call_id: str, trunk: str | None, outcome: str, ended_at: float
) -> None:
    """A stored call as the recorder leaves it (calls.trunk is the customer leg's trunk)."""
    database = Database(database_url)
    with database.session() as session:
        session.add(
            CallRow(
                call_id=call_id,
                status="ended",
                trunk=trunk,
                outcome=outcome,
                started_at=ended_at - 60,
                ended_at=ended_at,
                updated_at=ended_at,
            )
        )
        session.commit()
    database.dispose()


async def test_drop_rates_per_trunk_over_the_last_hours(database_url: str, pbx: AmiServer) -> None:
    now = time.time()
    calls = [
        ("a1", "PJSIP/2001", "completed", now - 600),
        ("a2", "PJSIP/2001", "dropped", now - 500),
        ("a3", "PJSIP/2001", "completed", now - 400),
        ("a4", "PJSIP/2001", "abandoned", now - 300),
        ("b1", "PJSIP/carrier-b", "dropped", now - 3 * 3600),
        ("b2", "PJSIP/carrier-b", "dropped", now - 3 * 3600 + 60),
        ("old", "PJSIP/2001", "dropped", now - 30 * 3600),  # before the window
        ("internal", None, "dropped", now - 100),  # no trunk: not a line's drop
    ]
    for call in calls:
        add_call(database_url, *call)
    async with running_service(database_url, pbx) as service:
        reply = await service.get(
            "/api/lines/drop-rates", "supervisor", hours=24, bucket_minutes=60
        )
        rates = reply.json()
        short = (await service.get("/api/lines/drop-rates", "it", hours=2)).json()
        refused = await service.get("/api/lines/drop-rates", "agent1")

    assert reply.status_code == 200
    assert rates["bucket_seconds"] == 3600
    assert rates["until"] - rates["since"] == pytest.approx(24 * 3600)
    trunk, carrier = rates["trunks"]
    assert (trunk["trunk"], trunk["calls"], trunk["dropped"], trunk["rate"]) == (
        "PJSIP/2001",
        4,
        1,
        0.25,
    )
    assert (carrier["trunk"], carrier["calls"], carrier["dropped"], carrier["rate"]) == (
        "PJSIP/carrier-b",
        2,
        2,
        1.0,
    )
    assert len(trunk["buckets"]) == 24
    assert [b["calls"] for b in trunk["buckets"]][-1] == 4  # all within the last hour
    assert sum(b["dropped"] for b in carrier["buckets"]) == 2
    assert all(b["start"] >= rates["since"] for b in trunk["buckets"])
    assert [t["trunk"] for t in short["trunks"]] == ["PJSIP/2001"]
    assert refused.status_code == 403
