"""What a user, an operator or an attacker meets at the service's edges, through the real
running service: logins and tokens, roles and scopes, bad input, the WebSocket's handshake,
secrets kept out of logs and pages, health, metrics and the OpenAPI schema."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select, update
from websockets.exceptions import InvalidStatus

import app
from app.auth.tokens import TokenSigner
from app.db.tables import CallEvent, CallParty, CallRow, User
from app.logs import MaskTokens
from app.logs import configure as configure_logging
from telephony.simulator.server import AmiServer
from tests.conftest import CAPTURES
from tests.service.harness import (
    AMI_SECRET,
    AMI_USER,
    PASSWORD,
    SECRET_KEY,
    LiveClient,
    Service,
    free_port,
    running_service,
)

pytestmark = pytest.mark.asyncio

CALLER_HANGUP = CAPTURES / "normal_inbound_caller_hangup.ami"  # agent PJSIP/1001 answers
API_GETS = ("/api/calls", "/api/calls/1", "/api/status", "/api/me")
SOURCE_ROOT = str(Path(app.__file__).resolve().parent.parent)


# -- helpers ---------------------------------------------------------------------------------


def assert_clean_error(reply: httpx.Response, status: int) -> None:
    """The status asked for, and a body that shows no stack trace and no source path."""
    where = f"{reply.request.method} {reply.request.url}"
    assert reply.status_code == status, f"{where}: {reply.status_code} {reply.text}"
    body = reply.text
    assert "Traceback" not in body, f"{where} shows a stack trace: {body}"
    assert SOURCE_ROOT not in body and ".py" not in body, f"{where} shows source paths: {body}"


def detail_of(reply: httpx.Response) -> Any:
    return reply.json()["detail"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored_state(service: Service) -> dict[str, Any]:
    """What bad input must leave untouched: row counts and every user's login data."""
    with service.services.database.session() as session:
        counts = {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (User, CallRow, CallParty, CallEvent)
        }
        users = session.execute(
            select(User.username, User.password_hash, User.active, User.role).order_by(
                User.username
            )
        ).all()
    return {"counts": counts, "users": [tuple(row) for row in users]}


def deactivate(service: Service, username: str) -> None:
    with service.services.database.session() as session:
        session.execute(update(User).where(User.username == username).values(active=False))
        session.commit()


async def play_agent1_call(service: Service, pbx: AmiServer) -> dict[str, Any]:
    """The recorded inbound call answered by PJSIP/1001, stored; its record as QA sees it."""
    await pbx.wait_logged_in()
    await pbx.play_capture(CALLER_HANGUP)
    pipeline = service.term.pipeline
    assert pipeline is not None
    await service.settled(lambda: pipeline.outcomes.get("completed", 0) >= 1)
    (record,) = await service.calls("qa")
    assert record["agents"] == ["PJSIP/1001"]
    return record


def ws_address(service: Service, token: str | None) -> str:
    address = service.url.replace("http://", "ws://") + "/ws"
    return address if token is None else f"{address}?token={token}"


async def ws_refused(address: str, **headers: str) -> int:
    """The HTTP status the handshake was refused with; fails when it was accepted."""
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(address, additional_headers=headers or None):
            pass
    status: int = refused.value.response.status_code
    return status


async def ws_snapshot(address: str, **headers: str) -> dict[str, Any]:
    """Connect, and return the first message (the snapshot)."""
    async with websockets.connect(address, additional_headers=headers or None) as ws:
        message: dict[str, Any] = json.loads(await ws.recv(decode=True))
        return message


def forged_tokens() -> dict[str, str]:
    """Tokens naming a real user that the service must not take."""
    long_ago = time.time() - 30 * 24 * 3600
    claims = {"sub": "agent1", "role": "agent", "exp": int(time.time()) + 3600}
    none_alg, payload = (
        base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
        for part in ({"alg": "none", "typ": "JWT"}, claims)
    )
    return {
        "expired": TokenSigner(SECRET_KEY, 60).issue("agent1", "agent", now=long_ago),
        "another key": TokenSigner("another-key-" + "x" * 40, 60).issue("agent1", "agent"),
        "garbage": "not.a.token",
        "alg none": f"{none_alg}.{payload}.",
        "unknown user": TokenSigner(SECRET_KEY, 60).issue("nobody", "supervisor"),
    }


# -- logins and tokens -----------------------------------------------------------------------


async def test_a_failed_login_says_401_alike_for_a_wrong_password_and_an_unknown_user(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        before = stored_state(service)
        client = service.client
        wrong = await client.post(
            "/api/auth/token", data={"username": "agent1", "password": "not the password"}
        )
        unknown = await client.post(
            "/api/auth/token", data={"username": "nobody", "password": PASSWORD}
        )
        for reply in (wrong, unknown):
            assert_clean_error(reply, 401)
            assert reply.headers["WWW-Authenticate"] == "Bearer"
        assert detail_of(wrong) == detail_of(unknown), "the reply tells which usernames exist"
        assert "access_token" not in wrong.text

        for form in ({"username": "agent1"}, {"password": PASSWORD}, {}):
            missing = await client.post("/api/auth/token", data=form)
            assert_clean_error(missing, 422)
        # A refused form does not echo the password it carried.
        bad_grant = await client.post(
            "/api/auth/token",
            data={"username": "agent1", "password": PASSWORD, "grant_type": "bogus"},
        )
        assert_clean_error(bad_grant, 422)
        assert PASSWORD not in bad_grant.text
        assert stored_state(service) == before


async def test_a_username_with_a_nul_byte_is_refused_as_bad_input(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        before = stored_state(service)
        reply = await service.client.post(
            "/api/auth/token", data={"username": "agent1\x00", "password": PASSWORD}
        )
        assert_clean_error(reply, 422)
        assert stored_state(service) == before


async def test_expired_forged_garbage_or_missing_tokens_get_401_everywhere(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        before = stored_state(service)
        cases: dict[str, dict[str, str]] = {
            name: bearer(token) for name, token in forged_tokens().items()
        }
        cases["no token"] = {}
        cases["not bearer"] = {"Authorization": f"Basic {PASSWORD}"}
        for name, headers in cases.items():
            for path in API_GETS:
                reply = await service.client.get(path, headers=headers)
                assert_clean_error(reply, 401)
                assert reply.headers.get("WWW-Authenticate") == "Bearer", (name, path)
                assert "items" not in reply.text, (name, path)
        expired = await service.client.get("/api/me", headers=bearer(forged_tokens()["expired"]))
        assert "expired" in detail_of(expired)
        # The real token still works: the refusals were about the tokens.
        assert (await service.get("/api/me", "agent1")).json()["username"] == "agent1"
        assert stored_state(service) == before


async def test_a_deactivated_user_cannot_log_in_and_their_token_stops_working(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        token = await service.login("agent2")
        assert (await service.get("/api/me", "agent2")).status_code == 200
        deactivate(service, "agent2")

        login = await service.client.post(
            "/api/auth/token", data={"username": "agent2", "password": PASSWORD}
        )
        assert_clean_error(login, 401)
        for path in API_GETS:
            assert_clean_error(await service.client.get(path, headers=bearer(token)), 401)
        assert await ws_refused(ws_address(service, token)) == 403


# -- roles and scopes ------------------------------------------------------------------------


async def test_the_csv_export_is_refused_to_agents_and_it_naming_the_roles_it_needs(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        before = stored_state(service)
        for username in ("agent1", "it"):
            reply = await service.get("/api/calls.csv", username)
            assert_clean_error(reply, 403)
            detail = detail_of(reply)
            assert "qa" in detail and "supervisor" in detail, detail
        assert stored_state(service) == before
        allowed = await service.get("/api/calls.csv", "qa")
        assert allowed.status_code == 200
        assert allowed.headers["content-type"].startswith("text/csv")


async def test_an_agent_cannot_see_another_agents_call(database_url: str, pbx: AmiServer) -> None:
    async with running_service(database_url, pbx) as service:
        record = await play_agent1_call(service, pbx)
        call_pk = record["id"]
        before = stored_state(service)

        mine = await service.get(f"/api/calls/{call_pk}", "agent1")
        assert mine.status_code == 200
        assert mine.json()["call_id"] == record["call_id"]
        for username in ("qa", "supervisor"):
            seen = await service.get(f"/api/calls/{call_pk}", username)
            assert seen.status_code == 200, username
            assert [c["id"] for c in await service.calls(username)] == [call_pk]

        theirs = await service.get(f"/api/calls/{call_pk}", "agent2")
        assert_clean_error(theirs, 404)
        assert record["customer"] not in theirs.text
        assert [c["id"] for c in await service.calls("agent1")] == [call_pk]
        listing = await service.get("/api/calls", "agent2")
        assert listing.json() == {"items": [], "total": 0}
        # Filtering on the other agent's phone does not widen what an agent sees.
        filtered = await service.get("/api/calls", "agent2", agent="PJSIP/1001")
        assert filtered.json() == {"items": [], "total": 0}
        assert stored_state(service) == before


async def test_an_agent_whose_phone_only_rang_cannot_open_the_colleagues_call(
    database_url: str, pbx: AmiServer
) -> None:
    # The queue rang agent one, who did not pick up; agent two answered and talked.
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        await pbx.play_capture(CAPTURES / "queue_ringnoanswer_then_answer.ami")
        await service.settled(lambda: not service.term.pipeline.board.tracker.live_calls)
        (record,) = await service.calls()
        call_pk = record["id"]

        answered = await service.get(f"/api/calls/{call_pk}", "agent2")
        only_rang = await service.get(f"/api/calls/{call_pk}", "agent1")
        listing = await service.get("/api/calls", "agent1")
        recording = await service.get(f"/api/calls/{call_pk}/recording", "agent1")

    assert answered.status_code == 200
    assert_clean_error(only_rang, 404)
    assert record["customer"] not in only_rang.text
    assert listing.json() == {"items": [], "total": 0}
    assert recording.status_code == 404


# -- malformed input -------------------------------------------------------------------------


async def test_malformed_query_parameters_get_422_naming_the_parameter(
    database_url: str, pbx: AmiServer
) -> None:
    cases = (
        ("/api/calls", {"limit": "0"}, "limit"),
        ("/api/calls", {"limit": "501"}, "limit"),
        ("/api/calls", {"limit": "ten"}, "limit"),
        ("/api/calls", {"offset": "-1"}, "offset"),
        ("/api/calls", {"outcome": "bogus"}, "outcome"),
        ("/api/calls", {"since": "yesterday"}, "since"),
        ("/api/calls", {"until": "2026-13-45"}, "until"),
        ("/api/calls", {"has_complaint": "maybe"}, "has_complaint"),
        ("/api/calls", {"agent": "P" * 129}, "agent"),
        ("/api/calls.csv", {"outcome": "bogus"}, "outcome"),
        ("/api/calls/abc", {}, "call_pk"),
    )
    async with running_service(database_url, pbx) as service:
        before = stored_state(service)
        for path, params, name in cases:
            reply = await service.get(path, "supervisor", **params)
            assert_clean_error(reply, 422)
            named = [error["loc"] for error in detail_of(reply)]
            assert any(name in loc for loc in named), (path, params, named)
        assert stored_state(service) == before


HUGE = (2**31, 2**63, 2**70)  # past PostgreSQL's integer, past bigint, past any


async def test_odd_but_well_formed_times_get_an_answer_not_a_server_error(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        await play_agent1_call(service, pbx)
        for params in (
            {"since": "nan"},
            {"since": "inf"},
            {"until": "-inf"},
            {"since": "-1e308", "until": "1e308"},
            {"since": "0001-01-01T00:00:00+23:59"},
            {"until": "9999-12-31T23:59:59"},
        ):
            reply = await service.get("/api/calls", "supervisor", **params)
            assert reply.status_code in (200, 422), f"{params}: {reply.status_code}"
            assert "Traceback" not in reply.text


async def test_an_offset_too_big_for_the_database_gets_a_4xx_not_a_server_error(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        for offset in HUGE:
            reply = await service.get("/api/calls", "supervisor", offset=offset)
            assert reply.status_code in (200, 422), f"offset={offset}: {reply.status_code}"
            assert "Traceback" not in reply.text
            if reply.status_code == 200:
                assert reply.json()["items"] == []
            else:
                assert any("offset" in error["loc"] for error in detail_of(reply)), reply.text


async def test_a_call_id_too_big_for_the_database_gets_a_4xx_not_a_server_error(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        for call_pk in HUGE:
            reply = await service.get(f"/api/calls/{call_pk}", "supervisor")
            assert reply.status_code in (404, 422), f"/api/calls/{call_pk}: {reply.status_code}"
            assert "Traceback" not in reply.text


async def test_a_nul_byte_in_a_text_filter_gets_a_4xx_or_no_match_not_a_server_error(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        for name in ("customer", "agent", "queue"):
            reply = await service.get("/api/calls", "supervisor", **{name: "+1555\x00"})
            assert reply.status_code in (200, 422), f"{name}: {reply.status_code} {reply.text}"
            if reply.status_code == 200:
                assert reply.json() == {"items": [], "total": 0}


# -- the WebSocket ---------------------------------------------------------------------------


async def test_the_websocket_refuses_a_missing_or_bad_token(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        assert await ws_refused(ws_address(service, None)) == 403
        assert await ws_refused(ws_address(service, "")) == 403
        for name, token in forged_tokens().items():
            assert await ws_refused(ws_address(service, token)) == 403, name
        assert service.services.hub.clients == 0


async def test_the_websocket_checks_the_origin(database_url: str, pbx: AmiServer) -> None:
    async with running_service(database_url, pbx) as service:
        address = ws_address(service, await service.login("agent1"))
        for origin in ("http://evil.example", "null", service.url + ".evil.example"):
            assert await ws_refused(address, Origin=origin) == 403, origin
        assert (await ws_snapshot(address, Origin=service.url))["type"] == "snapshot"
        assert (await ws_snapshot(address, Origin=service.url + "/"))["type"] == "snapshot"


async def test_the_websocket_takes_the_configured_allowed_origins(
    database_url: str, pbx: AmiServer
) -> None:
    allowed = "https://console.example"
    async with running_service(database_url, pbx, allowed_origins=allowed) as service:
        address = ws_address(service, await service.login("agent1"))
        assert (await ws_snapshot(address, Origin=allowed))["type"] == "snapshot"
        assert await ws_refused(address, Origin="http://evil.example") == 403
        assert await ws_refused(address, Origin="https://console.example.evil") == 403


async def test_garbage_from_a_websocket_client_gets_an_error_and_the_link_stays_usable(
    database_url: str, pbx: AmiServer
) -> None:
    garbage = [
        "not json at all",
        "[1, 2, 3]",
        '"just a string"',
        "42",
        '{"no": "type"}',
        '{"type": "bogus"}',
        '{"type": ["ping"]}',
    ]
    async with running_service(database_url, pbx) as service, service.websocket("agent1") as live:
        assert (await live.next())["type"] == "snapshot"
        for message in garbage:
            await answered_with_an_error(live, message)


async def test_a_binary_frame_gets_an_error_and_the_link_stays_usable(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service, service.websocket("agent1") as live:
        assert (await live.next())["type"] == "snapshot"
        await answered_with_an_error(live, b"\x00\xff binary frame")


async def answered_with_an_error(live: LiveClient, message: str | bytes) -> None:
    await live.ws.send(message)
    reply = await live.next(limit=5)
    assert reply["type"] == "error", (message, reply)
    assert reply.get("detail"), (message, reply)
    await live.ws.send(json.dumps({"type": "ping"}))
    assert (await live.next(limit=5))["type"] == "pong", message


# -- secrets stay out of logs and pages -------------------------------------------------------

CLIENT_SIDE_LOGGERS = ("httpx", "httpcore", "websockets.client")  # the test's own clients


@contextlib.contextmanager
def logging_as_served() -> Iterator[None]:
    """Logging set up the way `callassist serve` does (app.logs.configure), undone after."""
    names = ("uvicorn.error", "uvicorn.access")
    filters = {name: list(logging.getLogger(name).filters) for name in names}
    configure_logging(logging.DEBUG)
    try:
        yield
    finally:
        for name in names:
            logging.getLogger(name).filters[:] = filters[name]


def service_log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = []
    for record in caplog.records:
        if record.name.startswith(CLIENT_SIDE_LOGGERS):
            continue
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        lines.append(f"{record.name}: {text}")
    return lines


@contextlib.asynccontextmanager
async def capturing(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    with logging_as_served():
        caplog.set_level(logging.DEBUG)
        yield


async def test_ami_credentials_and_login_tokens_never_show_in_logs_or_pages(
    database_url: str, pbx: AmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    bodies: list[str] = []
    async with capturing(caplog), running_service(database_url, pbx) as service:
        client = service.client
        login = await client.post(
            "/api/auth/token", data={"username": "agent1", "password": PASSWORD}
        )
        bodies.append(login.text)
        token = login.json()["access_token"]
        service.tokens["agent1"] = token
        async with service.websocket("agent1") as live:
            bodies.append(json.dumps(await live.next("snapshot")))
            await play_agent1_call(service, pbx)
            bodies += [json.dumps(m) for m in await live.quiet(0.3)]
        await ws_refused(ws_address(service, token), Origin="http://evil.example")

        await pbx.drop_sessions()  # the network fails: the link goes down and comes back
        await pbx.wait_logged_in(count=2, timeout=15)
        await service.settled()
        for path in ("/api/status", "/api/calls", "/api/calls/1", "/api/me"):
            bodies.append((await service.get(path, "supervisor")).text)
        for path in ("/readyz", "/metrics", "/openapi.json", "/healthz", "/no/such/page"):
            bodies.append((await client.get(path)).text)
        not_found = await service.get("/api/calls/999999", "supervisor")
        invalid = await service.get("/api/calls", "supervisor", limit="0")
        assert not_found.status_code == 404 and invalid.status_code == 422
        bodies += [not_found.text, invalid.text]
        status = (await service.get("/api/status", "supervisor")).json()
        assert status["ami"]["status"] == "connected"
        assert status["ami"]["reconnects"] >= 1

    lines = service_log_lines(caplog)
    assert any("WebSocket /ws?token=" in line for line in lines), "no WebSocket request line"
    assert any("AMI link down" in line for line in lines), "the forced disconnect left no log"
    everything = {"log": "\n".join(lines), **{f"page {i}": b for i, b in enumerate(bodies)}}
    for where, text in everything.items():
        assert AMI_SECRET not in text, f"the AMI secret is in the {where}"
        assert AMI_USER not in text, f"the AMI username is in the {where}"
    leaking = [line for line in lines if token in line]
    assert not leaking, f"the login token is in the log: {leaking[:3]}"


async def test_a_rejected_ami_login_shows_in_readyz_and_status_without_the_secret(
    database_url: str, pbx: AmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wrong-" + AMI_SECRET
    ami_url = f"ami://{AMI_USER}:{wrong}@127.0.0.1:{pbx.port}"
    async with capturing(caplog), running_service(database_url, pbx, ami_url=ami_url) as service:
        link = service.term.link
        assert link is not None
        client = service.client
        await pbx.wait_for_action("Login", timeout=10)
        await service.settled(lambda: str(link.snapshot().status) == "credentials rejected")
        ready = await client.get("/readyz")
        assert_clean_error(ready, 503)
        assert any("credentials" in p for p in ready.json()["problems"]), ready.text
        status = await service.get("/api/status", "it")
        bodies = [ready.text, status.text, (await client.get("/metrics")).text]
    assert status.json()["ami"]["status"] == "credentials rejected"
    texts = [*bodies, "\n".join(service_log_lines(caplog))]
    for text in texts:
        assert wrong not in text and AMI_SECRET not in text
        assert AMI_USER not in text


async def test_the_log_filter_masks_a_token_in_a_request_line() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5555", "/ws?token=eyJhbGciOi.payload.sig&x=1"),
        None,
    )
    assert MaskTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5555 - "WebSocket /ws?token=***&x=1" [accepted]'


# -- health, readiness, metrics --------------------------------------------------------------


async def test_health_readiness_and_metrics_need_no_login(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        client = service.client
        await pbx.wait_logged_in()
        await service.settled(
            lambda: str(service.term.link.snapshot().status) == "connected"
        )
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["ready"] is True

        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert metric_value(metrics.text, 'callassist_ami_link_up{pbx="default"}') == 1.0
        await play_agent1_call(service, pbx)
        metrics = await client.get("/metrics")
        completed = 'callassist_calls_total{outcome="completed",pbx="default"}'
        assert metric_value(metrics.text, completed) == 1.0


def metric_value(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} in the metrics:\n{exposition}")


async def test_readyz_says_503_with_a_reason_when_the_pbx_cannot_be_reached(
    database_url: str, pbx: AmiServer
) -> None:
    nowhere = f"ami://{AMI_USER}:{AMI_SECRET}@127.0.0.1:{free_port()}"
    async with running_service(database_url, pbx, ami_url=nowhere) as service:
        ready = await service.client.get("/readyz")
        assert_clean_error(ready, 503)
        assert ready.json()["ready"] is False
        assert any("AMI" in problem for problem in ready.json()["problems"]), ready.text
        assert AMI_SECRET not in ready.text
        metrics = await service.client.get("/metrics")
        assert metric_value(metrics.text, 'callassist_ami_link_up{pbx="default"}') == 0.0


async def test_readyz_turns_503_when_the_pbx_goes_away(database_url: str, pbx: AmiServer) -> None:
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        link = service.term.link
        assert link is not None
        await service.settled(lambda: str(link.snapshot().status) == "connected")
        assert (await service.client.get("/readyz")).status_code == 200
        await pbx.close()
        await service.settled(lambda: str(link.snapshot().status) != "connected")
        ready = await service.client.get("/readyz")
        assert_clean_error(ready, 503)
        assert any("AMI" in problem for problem in ready.json()["problems"]), ready.text


# -- the OpenAPI schema ----------------------------------------------------------------------


async def test_the_openapi_schema_documents_the_api_and_every_operation_needs_a_login(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        reply = await service.client.get("/openapi.json")
        assert reply.status_code == 200
        paths: dict[str, dict[str, Any]] = reply.json()["paths"]
        for documented in (
            "/api/auth/token",
            "/api/calls",
            "/api/calls/{call_pk}",
            "/api/calls.csv",
            "/api/status",
        ):
            assert documented in paths, f"{documented} is not in the OpenAPI schema"
        assert "post" in paths["/api/auth/token"]

        checked = []
        for path, operations in paths.items():
            if not path.startswith("/api/"):
                continue
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            for method in operations:
                if (method, path) == ("post", "/api/auth/token"):
                    continue
                answer = await service.client.request(method.upper(), concrete)
                assert answer.status_code == 401, f"{method.upper()} {path} without a token"
                checked.append(f"{method} {path}")
        assert len(checked) >= 4, checked


async def test_every_page_and_api_answer_carries_the_security_headers(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        token = await service.login("qa")
        answers = [
            await service.client.get("/agent/"),
            await service.client.get("/qa/review.js"),
            await service.client.get("/readyz"),
            await service.client.get("/api/calls"),  # 401
            await service.client.get("/api/calls", headers={"Authorization": f"Bearer {token}"}),
            await service.client.get(
                "/api/calls.csv", headers={"Authorization": f"Bearer {token}"}
            ),
        ]
    for answer in answers:
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, answer.url
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


NUL_SCORE = '{"scores": [{"criterion": "g", "value": 1, "comment": "\\u0000"}]}'


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/callbacks?customer=%00", None),
        ("get", "/api/calls?q=a%00b", None),
        ("put", "/api/calls/1/scores", NUL_SCORE),
    ],
)
async def test_a_nul_character_in_any_text_is_a_422_not_a_server_error(
    database_url: str, pbx: AmiServer, method: str, path: str, body: str | None
) -> None:
    async with running_service(database_url, pbx) as service:
        token = await service.login("supervisor")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        answer = await service.client.request(method, path, content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert "NUL" in answer.json()["detail"][0]["msg"]
