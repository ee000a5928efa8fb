"""Scoring calls and the adherence view, against the running service, the simulator over TCP
and a real database: totals, history, who may score, the scorecard file."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio

CUSTOMER = ("+8613800138000", "张三")


@pytest_asyncio.fixture
async def traffic(pbx: AmiServer) -> AsyncIterator[Traffic]:
    traffic = Traffic(pbx, agents=("PJSIP/1001",), rng=random.Random(5), calls_per_minute=0)
    yield traffic
    await traffic.close()


async def send(
    service: Service, method: str, path: str, username: str, body: dict[str, Any]
) -> httpx.Response:
    token = await service.login(username)
    return await service.client.request(
        method, path, json=body, headers={"Authorization": f"Bearer {token}"}
    )


async def put_scores(
    service: Service, call_pk: int, username: str, *scores: dict[str, Any]
) -> httpx.Response:
    return await send(service, "PUT", f"/api/calls/{call_pk}/scores", username, {"scores": scores})


async def act(service: Service, call_id: str, **action: Any) -> dict[str, Any]:
    body = {"action_id": uuid.uuid4().hex, **action}
    reply = await send(service, "POST", f"/api/console/calls/{call_id}/actions", "agent1", body)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


async def ended_call(service: Service, call_id: str) -> dict[str, Any]:
    """The call's list item once the service has stored its end."""
    await service.settled(lambda: not service.term.pipeline.board.tracker.live_calls)
    (item,) = [c for c in await service.calls() if c["call_id"] == call_id]
    return item


async def detail(service: Service, call_pk: int, username: str = "qa") -> dict[str, Any]:
    reply = await service.get(f"/api/calls/{call_pk}", username)
    assert reply.status_code == 200, reply.text
    found: dict[str, Any] = reply.json()
    return found


async def a_finished_call(service: Service, traffic: Traffic) -> dict[str, Any]:
    """A call agent1 answered and the customer ended, no call script walked."""
    await service.pbx.wait_logged_in()
    call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
    await call.ring()
    await call.answer()
    await call.hang_up()
    assert call.call_id is not None
    return await ended_call(service, call.call_id)


def current(scores: dict[str, Any]) -> dict[str, tuple[int, str, str]]:
    return {s["criterion"]: (s["value"], s["comment"], s["scored_by"]) for s in scores["current"]}


async def test_a_reviewer_scores_a_call_and_a_changed_score_keeps_its_history(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        call = await a_finished_call(service, traffic)
        assert call["score"] is None

        scored = await put_scores(
            service,
            call["id"],
            "qa",
            {"criterion": "greeting", "value": 8, "comment": "no position given"},
            {"criterion": "courtesy", "value": 15},
        )
        assert scored.status_code == 200, scored.text
        first = scored.json()
        # 23 of the 25 points of the criteria scored so far.
        assert first["total"] == 92.0
        assert current(first) == {
            "greeting": (8, "no position given", "qa"),
            "courtesy": (15, "", "qa"),
        }
        assert first["history"] == []
        assert [c["id"] for c in first["criteria"]][:2] == ["greeting", "details_collected"]

        again = await put_scores(
            service,
            call["id"],
            "supervisor",
            {"criterion": "greeting", "value": 5, "comment": "no name either"},
            {"criterion": "courtesy", "value": 15},  # unchanged: stays qa's
        )
        second = again.json()
        assert current(second) == {
            "greeting": (5, "no name either", "supervisor"),
            "courtesy": (15, "", "qa"),
        }
        (old,) = second["history"]
        assert (old["criterion"], old["value"], old["scored_by"]) == ("greeting", 8, "qa")
        assert old["superseded_at"] >= old["scored_at"]
        assert second["total"] == 80.0

        # The list filters on the new total, and the call view shows the same scores.
        (listed,) = await service.calls(score_max=85)
        assert (listed["id"], listed["score"]) == (call["id"], 80.0)
        shown = await detail(service, call["id"])
        assert shown["scores"] == second
        assert shown["score"] == 80.0


async def test_only_reviewers_score_and_only_known_criteria_within_their_max(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx) as service:
        call = await a_finished_call(service, traffic)
        greeting = {"criterion": "greeting", "value": 10}

        refused = await put_scores(service, call["id"], "agent1", greeting)
        assert refused.status_code == 403
        assert (await put_scores(service, call["id"], "it", greeting)).status_code == 403
        anonymous = await service.client.put(
            f"/api/calls/{call['id']}/scores", json={"scores": [greeting]}
        )
        assert anonymous.status_code == 401

        unknown = await put_scores(
            service, call["id"], "qa", greeting, {"criterion": "speed", "value": 1}
        )
        assert unknown.status_code == 422
        assert 'unknown criterion "speed"' in unknown.json()["detail"]
        eleven = {"criterion": "greeting", "value": 11}
        too_high = await put_scores(service, call["id"], "qa", eleven)
        assert too_high.status_code == 422
        assert "from 0 to 10, not 11" in too_high.json()["detail"]
        below = {"criterion": "greeting", "value": -1}
        negative = await put_scores(service, call["id"], "qa", below)
        assert negative.status_code == 422
        twice = await put_scores(service, call["id"], "qa", greeting, greeting)
        assert twice.status_code == 422
        missing = await put_scores(service, 999_999, "qa", greeting)
        assert missing.status_code == 404

        # Nothing of a refused request was kept.
        shown = await detail(service, call["id"])
        assert shown["scores"]["current"] == []
        assert shown["scores"]["total"] is None
        assert shown["score"] is None

        card = (await service.get("/api/scorecard", "agent1")).json()
        assert card["id"] == "procedure"
        greeting_criterion = card["criteria"][0]
        assert greeting_criterion["label_zh"] == "问候并报出姓名和岗位"
        assert greeting_criterion["max"] == 10


async def test_the_call_view_shows_adherence_from_the_call_script_the_agent_walked(
    database_url: str, pbx: AmiServer, traffic: Traffic
) -> None:
    async with running_service(database_url, pbx, adherence_max_hold_seconds=60) as service:
        await pbx.wait_logged_in()
        call = traffic.stage(agent="PJSIP/1001", customer=CUSTOMER)
        await call.ring()
        await call.answer()
        await service.settled(lambda: _answered(service))
        call_id = call.call_id
        assert call_id is not None
        pop = await service.get(f"/api/console/calls/{call_id}", "agent1")
        assert pop.json()["session"]["step"]["id"] == "greet"

        await act(service, call_id, kind="next")
        values = {
            "customer_name": "张三",
            "contact": "+86 138 0013 8000",
            "problem": "无法上网",
            "product": "broadband",
        }
        await act(service, call_id, kind="next", values=values)
        await act(service, call_id, kind="next", values={"answered": True})
        moved = await act(service, call_id, kind="next", values={"satisfied": True})
        assert moved["session"]["step"]["id"] == "close"
        await call.hang_up()
        item = await ended_call(service, call_id)
        await act(service, call_id, kind="hangup")
        await act(service, call_id, kind="wrap_up", disposition="resolved")

        checks = {c["rule"]: c for c in (await detail(service, item["id"]))["adherence"]["checks"]}
        assert {rule: c["passed"] for rule, c in checks.items()} == {
            "greeting_within": True,
            "required_fields": True,
            "confirm_done": True,
            "close_done": True,
            "hold_time": (item["hold_seconds"] or 0) <= 60,
            "talk_time": None,
        }
        assert "all 6 required fields" in checks["required_fields"]["detail"]
        assert "(limit 15 s)" in checks["greeting_within"]["detail"]
        assert "(limit 1 min)" in checks["hold_time"]["detail"]

        # A call answered with no console open: the record alone is judged.
        unwalked = await a_finished_call(service, traffic)
        shown = await detail(service, unwalked["id"])
        by_rule = {c["rule"]: c for c in shown["adherence"]["checks"]}
        assert by_rule["close_done"]["passed"] is None
        assert "no call-script session" in by_rule["close_done"]["detail"]
        assert shown["adherence"]["failed"] == 0


async def test_an_operators_scorecard_file_is_served_and_a_broken_one_is_refused(
    database_url: str, pbx: AmiServer, tmp_path: Path
) -> None:
    card = tmp_path / "card.yaml"
    card.write_text(
        "id: short\ntitle: Short\ncriteria:\n"
        "  - {id: courtesy, label: Courtesy, label_zh: 礼貌, max: 5}\n",
        encoding="utf-8",
    )
    async with running_service(database_url, pbx, scorecard_file=card) as service:
        served = (await service.get("/api/scorecard", "qa")).json()
        assert served == {
            "id": "short",
            "title": "Short",
            "criteria": [
                {
                    "id": "courtesy",
                    "label": "Courtesy",
                    "label_zh": "礼貌",
                    "max": 5,
                    "description": "",
                }
            ],
        }
    card.write_text("id: short\ntitle: Short\ncriteria: []\n", encoding="utf-8")
    async with running_service(database_url, pbx, scorecard_file=card) as service:
        assert (await service.get("/api/scorecard", "qa")).json()["id"] == "procedure"


def _answered(service: Service) -> bool:
    tracker = service.term.pipeline.board.tracker
    return any(call.answered for call in tracker.live_calls)
