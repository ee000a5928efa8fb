"""Complaints against the running service and a real database: filed at the console with a
due date and a history, found by reviewers with filters, moved along the workflow."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.auth.store import find_user
from app.complaints.store import file_complaint
from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio

CUSTOMER = ("+8613800138000", "张三")
OTHER = "+8613900139000"
DAY = 24 * 3600.0


@pytest_asyncio.fixture
async def traffic(pbx: AmiServer) -> AsyncIterator[Traffic]:
    traffic = Traffic(
        pbx, agents=("PJSIP/1001", "PJSIP/1002"), rng=random.Random(5), calls_per_minute=0
    )
    yield traffic
    await traffic.close()


async def send(
    service: Service, method: str, path: str, username: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    token = await service.login(username)
    headers = {"Authorization": f"Bearer {token}"}
    return await service.client.request(method, path, json=body, headers=headers)


async def patch(service: Service, complaint_id: int, username: str = "qa", **body: Any) -> Any:
    reply = await send(service, "PATCH", f"/api/complaints/{complaint_id}", username, body)
    assert reply.status_code == 200, reply.text
    return reply.json()


async def listed(service: Service, **params: Any) -> list[int]:
    reply = await service.get("/api/complaints", "qa", **params)
    assert reply.status_code == 200, reply.text
    return [item["id"] for item in reply.json()["items"]]


async def detail(service: Service, complaint_id: int, username: str = "qa") -> Any:
    reply = await service.get(f"/api/complaints/{complaint_id}", username)
    assert reply.status_code == 200, reply.text
    return reply.json()


def seed(
    service: Service, *, customer: str | None, filed_at: float, severity: str = "medium"
) -> int:
    """A complaint as the console files it, at a chosen time (for due dates in the past)."""
    with service.services.database.session() as db:
        agent = find_user(db, "agent1")
        assert agent is not None
        complaint = file_complaint(
            db, call_id=None, call_pk=None, customer=customer, content=f"filed at {filed_at}",
            category="billing", severity=severity, created_by=agent.id, now=filed_at,
            due_hours=service.services.settings.complaint_due_hours,
        )
        db.commit()
        assert complaint.id is not None
        return complaint.id


async def file_at_console(service: Service, traffic: Traffic, severity: str) -> str:
    """Play a call to agent1 who walks the call script into the complaint branch."""
    call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
    await call.ring()
    await call.answer()
    await service.settled(lambda: _answered(service))
    call_id = call.call_id
    assert call_id is not None
    assert (await service.get(f"/api/console/calls/{call_id}", "agent1")).status_code == 200

    async def act(**action: Any) -> httpx.Response:
        body = {"action_id": uuid.uuid4().hex, **action}
        return await send(service, "POST", f"/api/console/calls/{call_id}/actions", "agent1", body)

    await act(kind="next")
    values = {"customer_name": "张三", "contact": "+86 138 0013 8000", "problem": "无法上网"}
    assert (await act(kind="next", values={**values, "product": "broadband"})).status_code == 200
    await act(kind="branch", branch="complaint")
    complaint = {"content": "Third outage this week", "category": "network", "severity": severity}
    filed = await act(kind="next", values=complaint)
    assert [e["kind"] for e in filed.json()["effects"]] == ["complaint"], filed.text
    await call.hang_up()
    return call_id


def _answered(service: Service) -> bool:
    tracker = service.term.pipeline.board.tracker
    return any(call.answered for call in tracker.live_calls)


async def test_a_complaint_filed_at_the_console_is_due_by_its_severity_and_has_its_history(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx, complaint_due_hours_high=2.5) as service:
        await pbx.wait_logged_in()
        call_id = await file_at_console(service, traffic, "high")
        page = (await service.get("/api/complaints", "qa", customer=CUSTOMER[0])).json()
        assert page["total"] == 1
        (item,) = page["items"]
        assert item["call_id"] == call_id
        assert item["call_pk"] is not None
        assert item["status"] == "received"
        assert item["severity"] == "high"
        assert item["created_by"] == "agent1"
        assert item["owner"] is None
        assert item["overdue"] is False
        assert item["due_at"] == pytest.approx(item["created_at"] + 2.5 * 3600)

        complaint = await detail(service, item["id"])
        (received,) = complaint["history"]
        assert received["kind"] == "received"
        assert received["user"] == "agent1"
        assert received["at"] == item["created_at"]
        assert received["detail"]["severity"] == "high"
        assert complaint["earlier"] == []
        assert (await service.get(f"/api/calls/{item['call_pk']}", "qa")).json()["call_id"] == (
            call_id
        )


async def test_the_list_finds_complaints_by_status_owner_customer_and_overdue(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        now = time.time()
        late = seed(service, customer=CUSTOMER[0], filed_at=now - 10 * DAY, severity="low")
        owned = seed(service, customer=CUSTOMER[0], filed_at=now - 60, severity="critical")
        fresh = seed(service, customer=OTHER, filed_at=now - 30)
        solved = seed(service, customer=OTHER, filed_at=now - 20 * DAY)
        await patch(service, owned, owner="qa")
        await patch(service, solved, status="in_progress")
        await patch(service, solved, status="resolved")

        assert await listed(service) == [fresh, owned, late, solved]
        assert await listed(service, status="resolved") == [solved]
        assert await listed(service, status="received") == [fresh, owned, late]
        assert await listed(service, owner="qa") == [owned]
        assert await listed(service, owner="supervisor") == []
        assert await listed(service, customer=CUSTOMER[0]) == [owned, late]
        assert await listed(service, overdue="true") == [late]
        assert await listed(service, overdue="false") == [fresh, owned, solved]
        assert await listed(service, customer=OTHER, status="received") == [fresh]

        page = (await service.get("/api/complaints", "qa", limit=2, offset=1)).json()
        assert [item["id"] for item in page["items"]] == [owned, late]
        assert page["total"] == 4
        (item,) = (await service.get("/api/complaints", "qa", overdue="true")).json()["items"]
        assert item["overdue"] is True
        for bad in ({"limit": 501}, {"status": "done"}, {"offset": -1}, {"overdue": "soon"}):
            assert (await service.get("/api/complaints", "qa", **bad)).status_code == 422


async def test_a_complaint_goes_through_the_workflow_and_every_change_is_in_its_history(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        complaint_id = seed(service, customer=CUSTOMER[0], filed_at=time.time() - 60)
        taken = await patch(
            service, complaint_id, "supervisor", owner="qa", status="in_progress",
            note="calling the customer back",
        )
        assert taken["status"] == "in_progress"
        assert taken["owner"] == "qa"
        assert taken["updated_at"] > taken["created_at"]
        await patch(service, complaint_id, status="resolved", note="line replaced")
        reopened = await patch(service, complaint_id, "supervisor", status="in_progress")
        assert reopened["status"] == "in_progress"
        await patch(service, complaint_id, status="resolved")
        closed = await patch(service, complaint_id, "supervisor", status="closed")
        assert closed["status"] == "closed"

        history = [(e["kind"], e["user"], e["detail"]) for e in closed["history"]]
        assert history[1:] == [
            ("status", "supervisor", {"from": "received", "to": "in_progress"}),
            ("owner", "supervisor", {"from": None, "to": "qa"}),
            ("note", "supervisor", {"text": "calling the customer back"}),
            ("status", "qa", {"from": "in_progress", "to": "resolved"}),
            ("note", "qa", {"text": "line replaced"}),
            ("status", "supervisor", {"from": "resolved", "to": "in_progress"}),
            ("status", "qa", {"from": "in_progress", "to": "resolved"}),
            ("status", "supervisor", {"from": "resolved", "to": "closed"}),
        ]
        assert history[0][:2] == ("received", "agent1")
        times = [e["at"] for e in closed["history"]]
        assert times == sorted(times)
        assert closed == await detail(service, complaint_id)


async def test_a_move_outside_the_workflow_is_refused_naming_the_allowed_ones(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        complaint_id = seed(service, customer=CUSTOMER[0], filed_at=time.time())
        path = f"/api/complaints/{complaint_id}"
        skipped = await send(service, "PATCH", path, "qa", {"status": "resolved", "owner": "qa"})
        assert skipped.status_code == 409
        assert skipped.json()["allowed"] == ["in_progress"]
        assert "in_progress" in skipped.json()["detail"]
        unchanged = await detail(service, complaint_id)
        assert unchanged["status"] == "received"
        assert unchanged["owner"] is None, "a refused change changes nothing"
        assert [e["kind"] for e in unchanged["history"]] == ["received"]

        for step in ("in_progress", "resolved", "closed"):
            await patch(service, complaint_id, status=step)
        final = await send(service, "PATCH", path, "qa", {"status": "in_progress"})
        assert final.status_code == 409
        assert final.json()["allowed"] == []
        unknown = await send(service, "PATCH", path, "qa", {"status": "reopened"})
        assert unknown.status_code == 422
        assert (await send(service, "PATCH", path, "qa", {})).status_code == 422
        assert (await send(service, "PATCH", path, "qa", {"note": "  "})).status_code == 422


async def test_only_an_active_reviewer_can_own_a_complaint(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        complaint_id = seed(service, customer=CUSTOMER[0], filed_at=time.time())
        path = f"/api/complaints/{complaint_id}"
        for username in ("agent1", "it", "nobody"):
            refused = await send(service, "PATCH", path, "qa", {"owner": username})
            assert refused.status_code == 422, username
            assert username in refused.json()["detail"]
        assert (await patch(service, complaint_id, owner="supervisor"))["owner"] == "supervisor"
        released = await patch(service, complaint_id, owner=None)
        assert released["owner"] is None
        assert released["history"][-1]["detail"] == {"from": "supervisor", "to": None}
        noted = await patch(service, complaint_id, note="still nobody's")
        assert noted["owner"] is None, "leaving the owner out keeps it as it is"


async def test_complaints_are_for_reviewers_and_agents_are_refused(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        complaint_id = seed(service, customer=CUSTOMER[0], filed_at=time.time())
        path = f"/api/complaints/{complaint_id}"
        for username in ("agent1", "it"):
            assert (await service.get("/api/complaints", username)).status_code == 403
            assert (await service.get(path, username)).status_code == 403
            change = await send(service, "PATCH", path, username, {"status": "in_progress"})
            assert change.status_code == 403
        assert (await service.client.get("/api/complaints")).status_code == 401
        assert (await detail(service, complaint_id))["status"] == "received"
        assert (await service.get(path, "supervisor")).status_code == 200


async def test_the_same_customers_other_complaints_are_linked_newest_first(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        now = time.time()
        oldest = seed(service, customer=CUSTOMER[0], filed_at=now - 3 * DAY)
        seed(service, customer=OTHER, filed_at=now - 2 * DAY)
        middle = seed(service, customer=CUSTOMER[0], filed_at=now - DAY)
        newest = seed(service, customer=CUSTOMER[0], filed_at=now)
        anonymous = seed(service, customer=None, filed_at=now)
        seed(service, customer=None, filed_at=now)

        earlier = (await detail(service, newest))["earlier"]
        assert [c["id"] for c in earlier] == [middle, oldest]
        assert earlier[0]["customer"] == CUSTOMER[0]
        assert [c["id"] for c in (await detail(service, oldest))["earlier"]] == [newest, middle]
        assert (await detail(service, anonymous))["earlier"] == []


async def test_an_unknown_complaint_is_not_found(database_url: str, pbx: AmiServer) -> None:
    async with running_service(database_url, pbx) as service:
        assert (await service.get("/api/complaints/424242", "qa")).status_code == 404
        body = {"note": "hello"}
        missing = await send(service, "PATCH", "/api/complaints/424242", "qa", body)
        assert missing.status_code == 404
        assert (await service.get("/api/complaints/0", "qa")).status_code == 422
