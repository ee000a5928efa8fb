"""A running callassist against the AMI simulator, over real TCP and a real database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
import websockets
from fastapi import FastAPI

from app.auth.store import Role, add_user
from app.db.engine import Database, upgrade
from app.main import create_app
from app.settings import Settings
from app.wiring import Parts, PbxTerm
from telephony.simulator.server import AmiServer

SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"
AMI_USER, AMI_SECRET = "callassist-svc", "ami-Secret-Not-For-Logs"
PASSWORD = "correct horse battery"
USERS = (
    ("agent1", Role.AGENT, "PJSIP/1001"),
    ("agent2", Role.AGENT, "PJSIP/1002"),
    ("qa", Role.QA, None),
    ("it", Role.IT, None),
    ("supervisor", Role.SUPERVISOR, None),
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_database(url: str) -> None:
    """Schema and the test users, as `callassist db upgrade` and `user add` would leave it."""
    upgrade(url)
    database = Database(url)
    with database.session() as session:
        for username, role, endpoint in USERS:
            add_user(session, username, role, PASSWORD, endpoint=endpoint)
    database.dispose()


@dataclass
class Service:
    """One running service; its HTTP client and its PBX are the test's handles."""

    url: str
    pbx: AmiServer
    app: FastAPI
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Parts:
        services: Parts = self.app.state.parts
        return services

    @property
    def term(self) -> PbxTerm:
        """The (first) PBX's parts: its link, pipeline, writer and desks."""
        return self.services.pbxes[0].term

    async def login(self, username: str) -> str:
        if username not in self.tokens:
            reply = await self.client.post(
                "/api/auth/token", data={"username": username, "password": PASSWORD}
            )
            reply.raise_for_status()
            self.tokens[username] = reply.json()["access_token"]
        return self.tokens[username]

    async def get(self, path: str, username: str, **params: Any) -> httpx.Response:
        token = await self.login(username)
        return await self.client.get(
            path, params=params, headers={"Authorization": f"Bearer {token}"}
        )

    async def post(self, path: str, username: str, body: dict[str, Any]) -> httpx.Response:
        token = await self.login(username)
        return await self.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    async def calls(self, username: str = "qa", **params: Any) -> list[dict[str, Any]]:
        reply = await self.get("/api/calls", username, limit=500, **params)
        reply.raise_for_status()
        items: list[dict[str, Any]] = reply.json()["items"]
        return items

    async def settled(self, ready: Callable[[], bool] | None = None, limit: float = 15.0) -> None:
        """Until the link's queue is empty, every job is stored and ``ready()`` holds."""
        services = self.services
        deadline = asyncio.get_running_loop().time() + limit
        while True:
            link = services.pbxes[0].term.link
            idle = link.queue.empty()
            if idle:
                await services.pbxes[0].term.writer.flush()
                if ready is None or ready():
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the service did not settle in time")
            await asyncio.sleep(0.02)

    @contextlib.asynccontextmanager
    async def websocket(self, username: str, **headers: str) -> AsyncIterator[LiveClient]:
        token = await self.login(username)
        address = self.url.replace("http://", "ws://") + f"/ws?token={token}"
        async with websockets.connect(address, additional_headers=headers or None) as ws:
            yield LiveClient(ws)


@dataclass
class LiveClient:
    ws: Any
    received: list[dict[str, Any]] = field(default_factory=list)

    async def next(self, kind: str | None = None, limit: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(limit):
            while True:
                message = json.loads(await self.ws.recv())
                self.received.append(message)
                if kind is None or message["type"] == kind:
                    return message

    async def quiet(self, for_seconds: float = 0.5) -> list[dict[str, Any]]:
        """Everything that arrives in the next moments."""
        seen: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(for_seconds):
                while True:
                    seen.append(json.loads(await self.ws.recv()))
        self.received += seen
        return seen


def settings_for(database_url: str, pbx: AmiServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "ami_url": f"ami://{AMI_USER}:{AMI_SECRET}@127.0.0.1:{pbx.port}",
        "trunks": "PJSIP/2001",
        "secret_key": SECRET_KEY,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def running_service(
    database_url: str, pbx: AmiServer, **overrides: Any
) -> AsyncIterator[Service]:
    port = free_port()
    app = create_app(settings_for(database_url, pbx, **overrides))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="websockets-sansio", log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield Service(url, pbx, app, client)
    finally:
        server.should_exit = True
        await task
