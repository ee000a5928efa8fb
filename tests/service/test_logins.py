"""Logins guarded and ended, through the real running service (issue 15, parts 4 and 6):
failed logins throttled per user and address with 429 and Retry-After, password checks
bounded, and logout, disable and a new password ending tokens and open WebSockets at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from app.auth import store
from app.auth.store import Role, add_user
from telephony.simulator.server import AmiServer
from tests.service.harness import PASSWORD, Service, running_service
from tests.service.test_cli import COMMAND, environment

pytestmark = pytest.mark.asyncio

ADMIN = "admin"
POLICY_VIOLATION = 1008  # frontend/shared/live.js: "log in again"
WRONG = "Not-The-Password-42"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def log_in(service: Service, username: str, password: str = PASSWORD) -> httpx.Response:
    return await service.client.post(
        "/api/auth/token", data={"username": username, "password": password}
    )


async def fresh_token(service: Service, username: str) -> str:
    reply = await log_in(service, username)
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


def add_admin(service: Service) -> None:
    with service.services.database.session() as session:
        add_user(session, ADMIN, Role.ADMIN, PASSWORD)


@contextlib.asynccontextmanager
async def live(service: Service, token: str) -> AsyncIterator[Any]:
    """An open WebSocket past its snapshot."""
    address = service.url.replace("http://", "ws://") + f"/ws?token={token}"
    async with websockets.connect(address) as ws:
        assert json.loads(await ws.recv())["type"] == "snapshot"
        yield ws


async def closed_with(ws: Any) -> int:
    """The close code the server ended the socket with (fails if it stays open 10 s)."""
    async with asyncio.timeout(10):
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "the server did not send a close frame"
    code: int = closed.value.rcvd.code
    return code


def assert_retry_after(reply: httpx.Response, status: int, most: float) -> int:
    assert reply.status_code == status, reply.text
    seconds = int(reply.headers["Retry-After"])
    assert 1 <= seconds <= most, seconds
    return seconds


class Clock:
    """The guard's monotonic clock, moved by the test instead of waited for."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def counted_checks(
    monkeypatch: pytest.MonkeyPatch, hold: Callable[[], None] = lambda: None
) -> Iterator[dict[str, int]]:
    """Wraps the hasher's verify: how many checks ran, and the most at once."""
    seen = {"calls": 0, "now": 0, "most": 0}
    lock = threading.Lock()
    verify = store._hasher.verify_and_update

    def counting(password: str, hashed: str) -> tuple[bool, str | None]:
        with lock:
            seen["calls"] += 1
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            hold()
            return verify(password, hashed)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(store._hasher, "verify_and_update", counting)
    yield seen


# -- throttling ------------------------------------------------------------------------------


async def test_wrong_passwords_get_429_with_retry_after_and_the_window_lets_them_go(
    database_url: str, pbx: AmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    limits = {"login_failures_per_user_address": 3, "login_window_seconds": 60}
    async with running_service(database_url, pbx, **limits) as service:
        clock = Clock()
        service.services.login_guard.clock = clock
        caplog.set_level(logging.INFO, logger="callassist.auth")
        for _ in range(3):
            assert (await log_in(service, "agent1", WRONG)).status_code == 401
        for password in (WRONG, PASSWORD):  # refused unchecked, even the right password
            reply = await log_in(service, "agent1", password)
            assert_retry_after(reply, 429, most=60)
            assert "too many failed logins" in reply.json()["detail"]
        # Another user at the same address is not held back.
        assert (await log_in(service, "agent2")).status_code == 200

        clock.now += 30  # half the window: still refused, and sooner free
        assert_retry_after(await log_in(service, "agent1"), 429, most=30)
        clock.now += 30  # the window has let the failures go
        assert (await log_in(service, "agent1")).status_code == 200

    throttled = [r.getMessage() for r in caplog.records if "throttled" in r.getMessage()]
    assert len(throttled) == 1, throttled  # one line for the burst, not one per attempt
    assert "agent1" in throttled[0] and "127.0.0.1" in throttled[0]
    assert not any(WRONG in r.getMessage() or PASSWORD in r.getMessage() for r in caplog.records)


async def test_one_address_trying_many_usernames_is_throttled_as_a_whole(
    database_url: str, pbx: AmiServer
) -> None:
    limits = {"login_failures_per_address": 4, "login_failures_per_user_address": 10}
    async with running_service(database_url, pbx, **limits) as service:
        for name in ("agent1", "agent2", "nobody", "qa"):
            assert (await log_in(service, name, WRONG)).status_code == 401
        assert_retry_after(await log_in(service, "supervisor"), 429, most=60)


async def test_a_right_password_starts_the_users_count_again(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx, login_failures_per_user_address=3) as service:
        for _ in range(2):
            assert (await log_in(service, "agent1", WRONG)).status_code == 401
        assert (await log_in(service, "agent1")).status_code == 200
        for _ in range(2):  # a typo or two after a good login is not an attack
            assert (await log_in(service, "agent1", WRONG)).status_code == 401
        assert (await log_in(service, "agent1")).status_code == 200


async def test_concurrent_bad_logins_never_run_more_password_checks_than_the_setting(
    database_url: str, pbx: AmiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "login_concurrent_checks": 2,
        "login_wait_seconds": 60,
        "login_failures_per_user_address": 1000,
        "login_failures_per_address": 1000,
        "login_failures_per_user": 1000,
    }
    async with running_service(database_url, pbx, **settings) as service:
        with counted_checks(monkeypatch) as seen:
            names = [f"agent{1 + n % 2}" if n % 3 else f"nobody{n}" for n in range(40)]
            replies = await asyncio.gather(*(log_in(service, n, WRONG) for n in names))
        assert [r.status_code for r in replies] == [401] * 40
        assert seen["calls"] == 40, "every login was checked (unknown usernames too)"
        assert 1 <= seen["most"] <= 2, seen


async def test_a_login_finding_every_check_taken_gets_503_with_retry_after(
    database_url: str, pbx: AmiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        release.wait(30)

    settings = {"login_concurrent_checks": 1, "login_wait_seconds": 0}
    async with running_service(database_url, pbx, **settings) as service:
        with counted_checks(monkeypatch, hold) as seen:
            first = asyncio.create_task(log_in(service, "agent1"))
            assert await asyncio.to_thread(entered.wait, 10), "the first check never started"
            busy = await log_in(service, "agent2")
            release.set()
            assert (await first).status_code == 200
        assert_retry_after(busy, 503, most=5)
        assert seen["calls"] == 1, "the refused login spent no password check"
        assert (await log_in(service, "agent2")).status_code == 200  # free again


# -- logout ----------------------------------------------------------------------------------


async def test_logout_ends_the_token_at_once_and_closes_its_websocket(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        token, other = await fresh_token(service, "agent1"), await fresh_token(service, "agent1")
        async with live(service, token) as ws, live(service, other) as other_ws:
            reply = await service.client.post("/api/auth/logout", headers=bearer(token))
            assert reply.status_code == 204, reply.text
            assert await closed_with(ws) == POLICY_VIOLATION
            assert (await service.client.get("/api/me", headers=bearer(token))).status_code == 401
            again = await service.client.post("/api/auth/logout", headers=bearer(token))
            assert again.status_code == 401
            # The same user's other login (another tab, another PC) goes on.
            assert (await service.client.get("/api/me", headers=bearer(other))).status_code == 200
            await other_ws.send(json.dumps({"type": "ping", "sent": 1}))
            assert json.loads(await other_ws.recv())["type"] == "pong"
        refused = await service.client.post("/api/auth/logout")
        assert refused.status_code == 401


async def test_a_logged_out_token_stays_refused_after_a_restart(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        ended, kept = await fresh_token(service, "qa"), await fresh_token(service, "qa")
        await service.client.post("/api/auth/logout", headers=bearer(ended))
    async with running_service(database_url, pbx) as service:  # same deployment, same key
        assert (await service.client.get("/api/me", headers=bearer(ended))).status_code == 401
        assert (await service.client.get("/api/me", headers=bearer(kept))).status_code == 200


# -- admins: disable, enable, set a password -------------------------------------------------


async def test_disabling_a_user_ends_their_tokens_and_websockets_and_enabling_lets_them_in(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        add_admin(service)
        admin = await fresh_token(service, ADMIN)
        token = await fresh_token(service, "agent1")
        async with live(service, token) as ws:
            reply = await service.client.post("/api/users/agent1/disable", headers=bearer(admin))
            assert reply.status_code == 200, reply.text
            assert reply.json()["active"] is False
            assert await closed_with(ws) == POLICY_VIOLATION
        assert (await service.client.get("/api/me", headers=bearer(token))).status_code == 401
        assert (await log_in(service, "agent1")).status_code == 401

        reply = await service.client.post("/api/users/agent1/enable", headers=bearer(admin))
        assert reply.status_code == 200 and reply.json()["active"] is True
        assert (await service.client.get("/api/me", headers=bearer(token))).status_code == 401
        assert (await log_in(service, "agent1")).status_code == 200

        listed = await service.client.get("/api/users", headers=bearer(admin))
        assert listed.status_code == 200
        users = {u["username"]: u for u in listed.json()["items"]}
        assert set(users) == {ADMIN, "agent1", "agent2", "qa", "it", "supervisor"}
        assert users["agent1"] == {
            "username": "agent1",
            "display_name": "agent1",
            "role": "agent",
            "endpoint": "PJSIP/1001",
            "pbx": "default",
            "position": None,
            "active": True,
        }
        assert "password" not in listed.text and "$argon2" not in listed.text


async def test_setting_a_password_ends_the_users_tokens_and_websockets(
    database_url: str, pbx: AmiServer
) -> None:
    new_password = "A-New-Password-For-Qa"
    async with running_service(database_url, pbx) as service:
        add_admin(service)
        admin = await fresh_token(service, ADMIN)
        token = await fresh_token(service, "qa")
        async with live(service, token) as ws:
            reply = await service.client.put(
                "/api/users/qa/password", json={"password": new_password}, headers=bearer(admin)
            )
            assert reply.status_code == 204, reply.text
            assert await closed_with(ws) == POLICY_VIOLATION
        assert (await service.client.get("/api/me", headers=bearer(token))).status_code == 401
        assert (await log_in(service, "qa")).status_code == 401
        assert (await log_in(service, "qa", new_password)).status_code == 200
        assert (await service.client.get("/api/me", headers=bearer(admin))).status_code == 200


async def test_the_user_api_is_for_admins_and_refuses_bad_requests_plainly(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        add_admin(service)
        admin = bearer(await fresh_token(service, ADMIN))
        supervisor = bearer(await fresh_token(service, "supervisor"))
        client = service.client
        for method, path in (
            ("GET", "/api/users"),
            ("POST", "/api/users/agent1/disable"),
            ("POST", "/api/users/agent1/enable"),
        ):
            reply = await client.request(method, path, headers=supervisor)
            assert reply.status_code == 403 and "admin" in reply.json()["detail"]
            assert (await client.request(method, path)).status_code == 401
        password = {"password": "Long-Enough-Password"}
        reply = await client.put("/api/users/agent1/password", json=password, headers=supervisor)
        assert reply.status_code == 403

        own = await client.post(f"/api/users/{ADMIN}/disable", headers=admin)
        assert own.status_code == 409 and "your own" in own.json()["detail"]
        missing = await client.post("/api/users/nobody/disable", headers=admin)
        assert missing.status_code == 404 and "nobody" in missing.json()["detail"]
        missing = await client.put("/api/users/nobody/password", json=password, headers=admin)
        assert missing.status_code == 404
        for body in ({"password": "short"}, {}, {"password": 12345678}, {"pw": "x" * 10}):
            reply = await client.put("/api/users/agent1/password", json=body, headers=admin)
            assert reply.status_code == 422, (body, reply.text)
        for name in ("a%20b", "a%00b", "x" * 65):
            reply = await client.post(f"/api/users/{name}/disable", headers=admin)
            assert reply.status_code in (404, 422), (name, reply.text)
            assert reply.status_code < 500
        assert (await client.get("/api/me", headers=supervisor)).status_code == 200


# -- the CLI, while the service runs ---------------------------------------------------------


async def test_a_user_disabled_from_the_command_line_loses_their_open_websocket(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx, ws_login_check_seconds=0.2) as service:
        token = await fresh_token(service, "agent2")
        async with live(service, token) as ws:
            env = environment(database_url=database_url)
            result = await asyncio.to_thread(
                subprocess.run,
                [*COMMAND, "user", "disable", "agent2"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            assert await closed_with(ws) == POLICY_VIOLATION
        assert (await service.client.get("/api/me", headers=bearer(token))).status_code == 401
