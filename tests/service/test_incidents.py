"""Incidents through the real service: line faults from the simulator over TCP open them, the
IT side hears of them first, people move them through the procedure. What the desk does
with each signal (joining, recovery, the agents on the line, reminders, retries) is
tests/desks/test_incident_desk.py's."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from telephony.capture import read_capture
from telephony.lines.watch import FaultSignal
from telephony.simulator.server import AmiServer
from tests.conftest import CAPTURES
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio


async def incidents(service: Service, status: str = "active") -> list[dict[str, Any]]:
    reply = await service.get("/api/incidents", "it", status=status)
    reply.raise_for_status()
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


async def settled_incidents(service: Service, count: int, status: str = "active") -> list[Any]:
    """Until the desk has stored ``count`` incidents (it works on its own task)."""
    found: list[Any] = []
    for _ in range(250):
        found = await incidents(service, status)
        if len(found) >= count:
            return found
        await service.settled()
        await _pause()
    raise AssertionError(f"expected {count} incidents, found {found}")


async def detail(service: Service, incident_id: int) -> dict[str, Any]:
    reply = await service.get(f"/api/incidents/{incident_id}", "it")
    reply.raise_for_status()
    found: dict[str, Any] = reply.json()
    return found


async def _pause() -> None:
    await asyncio.sleep(0.02)


async def reported(service: Service, incident_id: int) -> dict[str, Any]:
    """The incident once its report is on the timeline (stored just after it is sent)."""
    for _ in range(250):
        found = await detail(service, incident_id)
        if "reported" in [entry["kind"] for entry in found["timeline"]]:
            return found
        await _pause()
    raise AssertionError(f"incident {incident_id} was never reported")


async def test_a_trunk_going_unreachable_opens_a_level_i_incident_reported_to_it_first(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        async with (
            service.websocket("it") as it,
            service.websocket("qa") as qa,
            service.websocket("agent1") as agent1,
        ):
            for client in (it, qa, agent1):
                await client.next("snapshot")
            await pbx.set_contact("PJSIP/2001", "Reachable")
            await pbx.set_contact("PJSIP/2001", "Unreachable")

            opened = (await it.next("incident.opened"))["incident"]
            assert (opened["kind"], opened["level"]) == ("trunk_down", "I")
            assert (opened["location"], opened["status"]) == ("PJSIP/2001", "open")
            assert opened["summary"] == "Trunk PJSIP/2001 is unreachable"
            assert opened["signals"] == 1 and opened["owner"] is None
            # Incidents are the IT side's: QA and agents not on a call over the trunk hear nothing.
            assert not [m for m in await qa.quiet() if m["type"].startswith("incident")]
            assert not [m for m in await agent1.quiet() if m["type"].startswith("incident")]

        (listed,) = await settled_incidents(service, 1)
        assert listed["id"] == opened["id"]
        timeline = (await reported(service, opened["id"]))["timeline"]
        assert [entry["kind"] for entry in timeline] == ["detected", "reported"]
        detected, report = timeline
        assert detected["at"] <= report["at"]
        assert report["detail"] == {"recipients": 1}  # the IT client connected then


async def test_each_kind_of_signal_opens_its_kind_at_its_level(
    database_url: str, pbx: AmiServer
) -> None:
    bad_media = _rtcp_report(Report0FractionLost="40")  # 15.6 % lost on the trunk
    async with running_service(database_url, pbx, incident_levels="device_fault=III") as service:
        await pbx.wait_logged_in()
        await pbx.set_contact("PJSIP/1002", "Reachable")
        await pbx.remove_contact("PJSIP/1002")  # agent two's phone unregisters
        await pbx.emit(bad_media)  # RTCP over the real link: the reporting class is wanted
        await pbx.emit(
            {
                "Event": "Registry",
                "Privilege": "system,all",
                "ChannelType": "PJSIP",
                "Username": "sip:callcentre@sip.carrier.example",
                "Domain": "sip:sip.carrier.example",
                "Status": "Rejected",
                "Cause": "403 Forbidden",
            }
        )
        desk = service.term.incidents
        assert desk is not None
        desk.signal(FaultSignal("probe_failed", "probe:*77", time.time(), "timeout"), time.time())

        found = {
            (i["kind"], i["location"], i["level"]) for i in await settled_incidents(service, 4)
        }
        assert found == {
            ("device_fault", "PJSIP/1002", "III"),  # level from the settings
            ("poor_media", "PJSIP/2001", "III"),
            ("registration_failed", "PJSIP/sip:sip.carrier.example", "I"),
            ("probe_failed", "probe:*77", "II"),
        }
        ordered = [i["level"] for i in await incidents(service)]
        assert ordered == sorted(ordered, key=["I", "II", "III", "IV"].index)


async def test_the_procedure_through_the_api_with_its_refusals(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        await pbx.set_contact("PJSIP/2001", "Unreachable")
        (incident,) = await settled_incidents(service, 1)
        await reported(service, incident["id"])
        base = f"/api/incidents/{incident['id']}"

        for username in ("agent1", "qa"):
            assert (await service.post(f"{base}/acknowledge", username, {})).status_code == 403
            assert (await service.get(base, username)).status_code == 403
        early = await service.post(f"{base}/review", "it", {"summary": "too soon"})
        assert early.status_code == 409
        assert early.json()["allowed"] == ["acknowledge", "resolve"]
        assert (await service.post(f"{base}/progress", "it", {"note": "x"})).status_code == 409

        taken = await service.post(f"{base}/acknowledge", "it", {})
        assert taken.status_code == 200
        assert (taken.json()["status"], taken.json()["owner"]) == ("acknowledged", "it")
        for empty in ({"note": ""}, {"note": "   "}, {}):
            refused = await service.post(f"{base}/progress", "it", empty)
            assert refused.status_code == 422, empty
        noted = await service.post(f"{base}/progress", "supervisor", {"note": "carrier called"})
        assert noted.json()["last_progress_at"] is not None
        assert (await service.post(f"{base}/resolve", "it", {"cause": " "})).status_code == 422
        resolved = await service.post(f"{base}/resolve", "it", {"cause": "carrier fibre cut"})
        assert (resolved.json()["status"], resolved.json()["cause"]) == (
            "resolved",
            "carrier fibre cut",
        )
        assert (await service.post(f"{base}/review", "it", {"summary": ""})).status_code == 422
        reviewed = await service.post(
            f"{base}/review",
            "supervisor",
            {"summary": "20 min outage", "actions": "second carrier"},
        )
        assert reviewed.status_code == 200
        final = await service.post(f"{base}/review", "it", {"summary": "again"})
        assert final.status_code == 409 and final.json()["allowed"] == []

        view = await detail(service, incident["id"])
        assert view["status"] == "reviewed"
        assert (view["review_summary"], view["review_actions"]) == (
            "20 min outage",
            "second carrier",
        )
        steps = [(e["kind"], e["user"]) for e in view["timeline"]]
        assert steps == [
            ("detected", None),
            ("reported", None),
            ("acknowledged", "it"),
            ("progress", "supervisor"),
            ("resolved", "it"),
            ("reviewed", "supervisor"),
        ]
        assert view["timeline"][3]["note"] == "carrier called"
        assert await incidents(service) == []
        assert [i["status"] for i in await incidents(service, "all")] == ["reviewed"]
        missing = await service.post("/api/incidents/999999/acknowledge", "it", {})
        assert missing.status_code == 404


async def test_open_incidents_are_counted_by_level_in_the_metrics(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        await pbx.set_contact("PJSIP/2001", "Unreachable")
        (incident,) = await settled_incidents(service, 1)
        await reported(service, incident["id"])  # counted right after the report is stored
        text = (await service.client.get("/metrics")).text
        assert 'callassist_incidents_active{level="I",pbx="default"} 1.0' in text
        assert 'callassist_incidents_active{level="IV",pbx="default"} 0.0' in text


def _rtcp_report(**changes: str) -> dict[str, str]:
    """The trunk leg's RTCPSent as dropped_mid_call_network has it, with headers changed."""
    report = next(
        message.headers
        for message in read_capture(CAPTURES / "dropped_mid_call_network.ami")
        if message.headers.get("Event") == "RTCPSent"
        and message.headers.get("Channel", "").startswith("PJSIP/2001-")
    )
    return {**report, **changes}
