"""The agent console against the running service, the simulator over TCP and a real database:
screen pops that are acknowledged or counted as missed, the call-script session, the caller
panel, transfers that hand the session over, and the shift-start check."""

from __future__ import annotations

import csv
import io
import random
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlmodel import col, select

from app.console.call_scripts.loader import DEFAULTS_DIR
from app.db.tables import Callback, Incident
from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.service.harness import LiveClient, Service, running_service

pytestmark = pytest.mark.asyncio

CUSTOMER = ("+8613800138000", "张三")


@pytest_asyncio.fixture
async def traffic(pbx: AmiServer) -> AsyncIterator[Traffic]:
    traffic = Traffic(
        pbx, agents=("PJSIP/1001", "PJSIP/1002"), rng=random.Random(4), calls_per_minute=0
    )
    yield traffic
    await traffic.close()


async def act(service: Service, call_id: str, **action: Any) -> httpx.Response:
    body = {"action_id": action.pop("action_id", None) or uuid.uuid4().hex, **action}
    return await service.post(f"/api/console/calls/{call_id}/actions", "agent1", body)


async def ack_pops(client: LiveClient, kind: str) -> dict[str, Any]:
    message = await client.next(kind)
    assert message["ack"] is True
    await client.ws.send(f'{{"type": "ack", "id": {message["id"]}}}')
    return message


async def record_of(service: Service, call_id: str) -> dict[str, Any]:
    await service.settled(lambda: not service.term.pipeline.board.tracker.live_calls)
    (item,) = [c for c in await service.calls() if c["call_id"] == call_id]
    reply = await service.get(f"/api/calls/{item['id']}", "qa")
    reply.raise_for_status()
    detail: dict[str, Any] = reply.json()
    return detail


async def test_an_acknowledged_pop_is_delivered_and_not_counted_missed(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
        async with service.websocket("agent1") as agent1:
            await agent1.next("snapshot")
            await call.ring()
            ringing = await ack_pops(agent1, "call.ringing")
            assert ringing["call"]["customer"] == CUSTOMER[0]
            assert ringing["received_at"] > 0
            await call.answer()
            await ack_pops(agent1, "call.answered")
            await call.hang_up()
            await agent1.next("call.ended")
            assert not [m for m in await agent1.quiet(0.5) if m.get("resent")]
        record = await record_of(service, ringing["call_id"])
        assert record["pops_missed"] == 0
        assert "pop_missed" not in [entry["kind"] for entry in record["timeline"]]
        pops = service.term.pipeline.pops
        assert pops.delivered == 2
        assert pops.latency.total == 2


async def test_an_unacknowledged_pop_is_sent_again_then_recorded_as_missed(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx, pop_ack_seconds=0.3, pop_resends=2) as service:
        await pbx.wait_logged_in()
        call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
        async with service.websocket("agent1") as agent1:
            await agent1.next("snapshot")
            await call.ring()
            first = await agent1.next("call.ringing")
            again = await agent1.next("call.ringing", limit=3)
            assert again["id"] == first["id"]
            assert again["resent"] == 1
            last = await agent1.next("call.ringing", limit=3)
            assert last["resent"] == 2
            extra = [m for m in await agent1.quiet(1.0) if m["type"] == "call.ringing"]
            assert extra == [], "a pop is re-sent only pop_resends times"
            await call.answer()
            await call.hang_up()
            await agent1.next("call.ended")
        record = await record_of(service, first["call_id"])
        assert record["pops_missed"] == 1
        (missed,) = [e for e in record["timeline"] if e["kind"] == "pop_missed"]
        assert missed["endpoint"] == "PJSIP/1001"
        assert missed["detail"]["reason"] == "not acknowledged"
        metrics = (await service.client.get("/metrics")).text
        assert 'callassist_pops_missed_total{pbx="default"} 1.0' in metrics


async def test_a_pop_for_an_agent_with_no_console_open_is_missed_for_that_reason(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        call = traffic.stage(agent="PJSIP/1002", customer=CUSTOMER)
        await call.ring()
        await call.answer()
        await call.hang_up()
        assert call.call_id is not None
        record = await record_of(service, call.call_id)
        (missed,) = [e for e in record["timeline"] if e["kind"] == "pop_missed"]
        assert missed["detail"]["reason"] == "no console connected"


async def test_the_agent_walks_the_call_script_and_the_call_record_holds_it_all(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx, company_name="Northwind Telecom") as service:
        await pbx.wait_logged_in()
        call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
        await call.ring()
        await call.answer()
        await service.settled(lambda: _answered(service))
        call_id = call.call_id
        assert call_id is not None

        pop = (await service.get(f"/api/console/calls/{call_id}", "agent1")).json()
        assert pop["call"]["status"] == "on_call"
        assert pop["caller"]["number"] == CUSTOMER[0]
        session = pop["session"]
        assert session["step"]["id"] == "greet"
        assert "Northwind Telecom" in session["step"]["prompt"]
        assert session["history"][0]["entered_at"] == pytest.approx(
            pop["call"]["answered_at"], abs=1
        )

        assert (await act(service, call_id, kind="next")).status_code == 200
        refused = await act(service, call_id, kind="next")
        assert refused.status_code == 422
        assert set(refused.json()["errors"]) >= {"customer_name", "contact", "problem"}
        assert refused.json()["session"]["step"]["id"] == "collect"

        bad = await act(service, call_id, kind="set", field="contact", value="call me")
        assert bad.status_code == 200
        assert bad.json()["errors"]["contact"]
        values = {"customer_name": "张三", "contact": "+86 138 0013 8000", "problem": "无法上网"}
        values["product"] = "broadband"
        moved = await act(service, call_id, kind="next", values=values)
        assert moved.status_code == 200, moved.text
        assert moved.json()["session"]["step"]["id"] == "answer"

        # The complaint branch, filed once even though the console sends it twice.
        await act(service, call_id, kind="branch", branch="complaint")
        complaint = {"content": "Third outage this week", "category": "network", "severity": "high"}
        again = uuid.uuid4().hex
        filed = await act(service, call_id, kind="next", values=complaint, action_id=again)
        assert [e["kind"] for e in filed.json()["effects"]] == ["complaint"]
        repeat = await act(service, call_id, kind="next", values=complaint, action_id=again)
        assert repeat.json()["duplicate"] is True
        assert repeat.json()["effects"] == []
        assert repeat.json()["session"]["step"]["id"] == "answer"  # back where it branched
        await act(service, call_id, kind="note", text="Customer is on the 3rd floor")

        # A reload restores the same step, fields and notes.
        restored = (await service.get("/api/console", "agent1")).json()["sessions"]
        assert [s["step"]["id"] for s in restored] == ["answer"]
        assert restored[0]["fields"]["customer_name"] == "张三"
        assert restored[0]["notes"] == "Customer is on the 3rd floor"

        await call.hang_up()
        await service.settled(lambda: not service.term.pipeline.board.tracker.live_calls)
        await act(service, call_id, kind="hangup")
        wrapped = await act(service, call_id, kind="wrap_up", disposition="complaint_filed")
        assert wrapped.json()["session"]["status"] == "done"
        assert (await service.get("/api/console", "agent1")).json()["sessions"] == []

        record = await record_of(service, call_id)
        # QA finds the call by what the agent wrote, in any case, and by the disposition.
        assert [c["call_id"] for c in await service.calls(q="3RD FLOOR")] == [call_id]
        assert [c["call_id"] for c in await service.calls(disposition="complaint_filed")] == [
            call_id
        ]
        (session_record,) = record["call_script_sessions"]
        assert session_record["disposition"] == "complaint_filed"
        assert session_record["fields"]["contact"] == "+86 138 0013 8000"
        assert session_record["notes"] == "Customer is on the 3rd floor"
        assert session_record["steps"][0]["title"] == "Greeting"  # in the call script's words
        assert session_record["field_labels"]["contact"] == "Contact number"
        steps = [s["step"] for s in session_record["steps"]]
        assert steps[:4] == ["greet", "collect", "answer", "complaint"]
        assert all(s["left_at"] is not None for s in session_record["steps"])
        (filed_complaint,) = record["complaints"]
        assert filed_complaint["severity"] == "high"

        # The next call from the same number pops with what the centre now knows.
        second = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
        await second.ring()
        await service.settled(lambda: bool(service.term.pipeline.board.tracker.live_calls))
        caller = (await service.get(f"/api/console/calls/{second.call_id}", "agent1")).json()
        assert caller["caller"]["name"] == "张三"
        assert [c["call_id"] for c in caller["caller"]["last_calls"]] == [call_id]
        assert caller["caller"]["last_calls"][0]["disposition"] == "complaint_filed"
        assert caller["caller"]["open_complaints"][0]["content"] == "Third outage this week"
        assert caller["session"] is None  # ringing, not answered yet
        await second.answer()
        await second.hang_up()


async def test_a_transferred_call_continues_where_the_first_agent_stopped(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        call = traffic.stage("transfer_and_hold", agent="PJSIP/1001", customer=CUSTOMER)
        await call.ring()
        await call.answer()
        await service.settled(lambda: _answered(service))
        call_id = call.call_id
        assert call_id is not None
        await service.get(f"/api/console/calls/{call_id}", "agent1")
        await act(service, call_id, kind="next")
        await act(service, call_id, kind="set", field="customer_name", value="张三")
        await act(service, call_id, kind="note", text="wants billing")

        await call.transfer_to("PJSIP/1002")
        await service.settled(lambda: _agents(service, call_id) == 2)
        handed = (await service.get(f"/api/console/calls/{call_id}", "agent2")).json()["session"]
        assert handed["handed_over_from"] == "PJSIP/1001"
        assert handed["step"]["id"] == "collect"
        assert handed["fields"]["customer_name"] == "张三"
        assert handed["notes"] == "wants billing"
        assert handed["status"] == "active"
        await call.hang_up()

        await record_of(service, call_id)
        export = await service.get("/api/calls.csv", "qa", customer=CUSTOMER[0])
        (row,) = csv.DictReader(io.StringIO(export.content.decode("utf-8-sig")))
        assert row["agents"] == "PJSIP/1001;PJSIP/1002"  # both, in the order they talked
        assert row["transfers"] == "1"


async def test_the_console_is_the_agents_own(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
        await call.ring()
        await call.answer()
        await service.settled(lambda: _answered(service))
        path = f"/api/console/calls/{call.call_id}"
        assert (await service.get(path, "agent2")).status_code == 404
        assert (await service.get(path, "qa")).status_code == 403
        assert (await service.client.get(path)).status_code == 401
        body = {"action_id": "x1", "kind": "next"}
        assert (await service.post(path + "/actions", "agent2", body)).status_code == 404
        bad = await service.post(path + "/actions", "agent1", {"action_id": "x 1", "kind": "go"})
        assert bad.status_code == 422
        await call.hang_up()


async def test_the_shift_check_tells_the_truth_about_the_phone_and_is_recorded(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        check = (await service.post("/api/shift-checks", "agent1", {"rtt_ms": 12.5})).json()
        assert check["ok"] is True
        assert check["endpoint"]["registered"] is True
        assert check["endpoint"]["reachable"] is True
        assert check["link"]["up"] is True

        await pbx.set_contact("PJSIP/1001", "Unreachable")
        check = (await service.post("/api/shift-checks", "agent1", {"rtt_ms": 12.5})).json()
        assert check["ok"] is False
        assert check["codes"] == ["unreachable"]
        assert "headset" in check["problems"][0]

        await pbx.remove_contact("PJSIP/1001")
        check = (await service.post("/api/shift-checks", "agent1", {"rtt_ms": 900})).json()
        assert check["codes"] == ["not_registered", "slow"]
        latest = (await service.get("/api/shift-checks/latest", "agent1")).json()
        assert latest["id"] == check["id"]
        assert latest["rtt_ms"] == 900


def _answered(service: Service) -> bool:
    tracker = service.term.pipeline.board.tracker
    return any(call.answered for call in tracker.live_calls)


def _agents(service: Service, call_id: str) -> int:
    live = service.term.pipeline.live_call(call_id)
    return 0 if live is None else len(live.agents)


async def test_a_broken_call_script_file_is_refused_by_name_and_line_and_the_rest_serve(
    database_url: str, pbx: AmiServer, tmp_path: Path
) -> None:
    folder = tmp_path / "call-scripts"
    folder.mkdir()
    shipped = (DEFAULTS_DIR / "general.en.yaml").read_text(encoding="utf-8")
    (folder / "sales.en.yaml").write_text(
        shipped.replace("id: general", "id: sales", 1).replace("default: true", "default: false"),
        encoding="utf-8",
    )
    (folder / "broken.en.yaml").write_text(
        "id: broken\nlanguage: en\ntitle: Broken\ndispositions: [{id: done, label: Done}]\n"
        "steps:\n  - id: greet\n    title: Hello\n    prompt: Hello\n    kind: greeting\n",
        encoding="utf-8",
    )
    async with running_service(database_url, pbx, scripts_dir=folder) as service:
        status = (await service.get("/api/status", "supervisor")).json()["call_scripts"]
        assert {"general.en", "general.zh-CN", "sales.en"} <= set(status["loaded"])
        (error,) = status["errors"]
        assert "broken.en.yaml:9:" in error
        assert "greeting" in error


# ---------------------------------------------------------------------------- line faults

ALTERNATE = {"alternate_number": "400-820-8820", "alternate_email": "help@northwind.example"}


def _callbacks(service: Service) -> list[Callback]:
    with service.services.database.session() as db:
        return list(db.exec(select(Callback).order_by(col(Callback.id))).all())


async def test_the_line_fault_procedure_records_the_customers_choice_and_a_callback(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx, **ALTERNATE) as service:
        await pbx.wait_logged_in()
        call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
        await call.ring()
        await call.answer()
        await service.settled(lambda: _answered(service))
        call_id = call.call_id
        assert call_id is not None
        pop = (await service.get(f"/api/console/calls/{call_id}", "agent1")).json()
        assert "line_fault" in [b["id"] for b in pop["session"]["branches"]]

        taken = (await act(service, call_id, kind="branch", branch="line_fault")).json()
        step = taken["session"]["step"]
        assert step["id"] == "line_fault"
        assert "400-820-8820" in step["prompt"] and "help@northwind.example" in step["prompt"]
        by_email = await act(service, call_id, kind="next", values={"line_fault_choice": "email"})
        assert by_email.json()["session"]["step"]["id"] == "greet"  # back where it branched
        assert by_email.json()["session"]["fields"]["line_fault_choice"] == "email"
        assert by_email.json()["effects"] == []
        assert _callbacks(service) == []

        await act(service, call_id, kind="branch", branch="line_fault")
        chosen = await act(service, call_id, kind="next", values={"line_fault_choice": "callback"})
        (effect,) = chosen.json()["effects"]
        assert effect["kind"] == "callback"
        (callback,) = _callbacks(service)
        assert callback.customer == CUSTOMER[0]  # nothing collected: the caller's number
        assert (callback.reason, callback.status) == ("requested", "queued")
        assert callback.agent == "PJSIP/1001"
        assert "line is back" in callback.note
        restored = (await service.get(f"/api/console/calls/{call_id}", "agent1")).json()
        assert restored["session"]["fields"]["line_fault_choice"] == "callback"
        assert [c["status"] for c in restored["caller"]["pending_callbacks"]] == ["queued"]
        await call.hang_up()


async def test_the_console_reports_the_incidents_on_the_calls_trunk_and_the_agents_phone(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        now = time.time()
        incidents = [
            ("trunk_down", "PJSIP/2001", "I", "open", None),  # the call's trunk
            ("device_fault", "PJSIP/1001", "IV", "acknowledged", None),  # the agent's phone
            ("poor_media", "PJSIP/2001", "III", "resolved", None),  # over
            ("drop_cluster", "PJSIP/2001", "II", "open", now),  # recovered since
            ("trunk_down", "PJSIP/2999", "I", "open", None),  # another trunk
            ("device_fault", "PJSIP/1002", "IV", "open", None),  # another agent's phone
        ]
        with service.services.database.session() as db:
            for kind, location, level, state, recovered in incidents:
                db.add(
                    Incident(
                        kind=kind,
                        location=location,
                        level=level,
                        status=state,
                        opened_at=now - 60,
                        last_signal_at=now - 30,
                        recovered_at=recovered,
                        updated_at=now,
                    )
                )
            db.commit()
        call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
        await call.ring()
        await call.answer()
        await service.settled(lambda: _answered(service))
        path = f"/api/console/calls/{call.call_id}"
        shown = (await service.get(path, "agent1")).json()["incidents"]
        assert {(i["kind"], i["location"], i["level"], i["status"]) for i in shown} == {
            ("trunk_down", "PJSIP/2001", "I", "open"),
            ("device_fault", "PJSIP/1001", "IV", "acknowledged"),
        }
        await call.hang_up()
        await service.settled(lambda: not service.term.pipeline.board.tracker.live_calls)
        assert (await service.get(path, "agent1")).json()["incidents"] == []  # call over


async def test_the_snapshot_tells_a_reloaded_console_its_phone_is_faulty(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        async with service.websocket("agent1") as agent1:
            assert (await agent1.next("snapshot"))["endpoint_fault"] is None
            await pbx.set_contact("PJSIP/1001", "Unreachable")
            fault = await agent1.next("line.fault")
            assert (fault["fault"], fault["location"]) == ("unreachable", "PJSIP/1001")
        async with service.websocket("agent1") as reloaded:
            assert (await reloaded.next("snapshot"))["endpoint_fault"] == "unreachable"
        async with service.websocket("agent2") as other:
            assert (await other.next("snapshot"))["endpoint_fault"] is None
        await pbx.set_contact("PJSIP/1001", "Reachable")
        await service.settled(
            lambda: "PJSIP/1001" not in service.term.pipeline.board.watch.faulted
        )
        async with service.websocket("agent1") as recovered:
            assert (await recovered.next("snapshot"))["endpoint_fault"] is None
