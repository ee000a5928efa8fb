"""The demo service running in this process for a browser to use: uvicorn on a loopback
port in a thread with its own event loop, the demo PBX inside it, and handles for the test
to make calls ring, get answered and end (the staged calls of the simulator)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from app.db.engine import Database, upgrade
from app.demo.pbx import DEMO_TRUNKS, DemoPbx, ensure_demo_users
from app.main import create_app
from app.settings import Settings
from app.wiring import Parts, PbxTerm
from telephony.simulator.staged import StagedCall

T = TypeVar("T")
START_WITHIN = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_database(url: str) -> dict[str, str]:
    """Schema and demo users, as `callassist demo` leaves them; username -> password."""
    upgrade(url)
    database = Database(url)
    with database.session() as session:
        passwords = ensure_demo_users(session)
    database.dispose()
    return passwords


class ServiceThread:
    """uvicorn.Server in a background thread; ``run(coro)`` runs a coroutine on its loop."""

    def __init__(self, app: FastAPI, port: int) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, ws="websockets-sansio", log_config=None,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name="e2e-service", daemon=True)
        self.failure: BaseException | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.serve())
        except BaseException as error:  # reported by start() or stop(), not lost in the thread
            self.failure = error
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_WITHIN
        while not self.server.started:
            if self.failure is not None or not self.thread.is_alive():
                raise RuntimeError(f"the service did not start: {self.failure!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start within {START_WITHIN:.0f} s")
            time.sleep(0.05)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        if self.thread.is_alive():
            raise RuntimeError("the service did not stop within 20 s")
        if self.failure is not None:
            raise self.failure


@dataclass
class Call:
    """A staged call of the demo PBX, driven from the test's thread."""

    service: DemoService
    staged: StagedCall

    @property
    def call_id(self) -> str:
        assert self.staged.call_id is not None, "ring() first"
        return self.staged.call_id

    def ring(self) -> None:
        self.service.thread.run(self.staged.ring())

    def answer(self) -> None:
        self.service.thread.run(self.staged.answer())

    def hold(self) -> None:
        self.service.thread.run(self.staged.hold())

    def unhold(self) -> None:
        self.service.thread.run(self.staged.unhold())

    def transfer_to(self, other_agent: str) -> None:
        self.service.thread.run(self.staged.transfer_to(other_agent))

    def hang_up(self) -> None:
        self.service.thread.run(self.staged.hang_up())


@dataclass
class DemoService:
    url: str
    app: FastAPI
    thread: ServiceThread
    passwords: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Parts:
        services: Parts = self.app.state.parts
        return services

    @property
    def term(self) -> PbxTerm:
        """The (first) PBX's parts: its link, pipeline, writer and desks."""
        return self.services.pbxes[0].term

    @property
    def pbx(self) -> DemoPbx:
        pbx = self.app.state.demo_pbx
        assert pbx is not None, "the service runs without its demo PBX"
        return pbx

    def wait_for_pbx(self) -> None:
        self.thread.run(self.pbx.server.wait_logged_in(timeout=20))

    def stage(
        self,
        customer: tuple[str, str],
        agent: str = "PJSIP/1001",
        scenario: str = "answered_customer_hangs_up",
    ) -> Call:
        async def stage() -> StagedCall:
            return self.pbx.traffic.stage(scenario, agent=agent, customer=customer)

        return Call(self, self.thread.run(stage()))

    def token(self, username: str) -> str:
        if username not in self.tokens:
            reply = httpx.post(
                f"{self.url}/api/auth/token",
                data={"username": username, "password": self.passwords[username]},
            )
            reply.raise_for_status()
            self.tokens[username] = reply.json()["access_token"]
        return self.tokens[username]

    def get(self, path: str, username: str, **params: Any) -> Any:
        reply = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token(username)}"},
        )
        reply.raise_for_status()
        return reply.json()

    def record(self, call_id: str, *, within: float = 15.0) -> dict[str, Any]:
        """The call's record as QA sees it, once the call has ended and been stored."""
        deadline = time.monotonic() + within
        while True:
            items = self.get("/api/calls", "qa", limit=500)["items"]
            found = [c for c in items if c["call_id"] == call_id and c["status"] == "ended"]
            if found:
                detail: dict[str, Any] = self.get(f"/api/calls/{found[0]['id']}", "qa")
                return detail
            if time.monotonic() > deadline:
                raise AssertionError(f"call {call_id} was not recorded as ended in {within} s")
            time.sleep(0.2)


def start_demo(directory: Path, **settings_overrides: Any) -> DemoService:
    """The demo service on a fresh database in ``directory``; ``settings_overrides`` are
    further Settings (the QA test points ``recordings_dir`` at a folder of its own)."""
    database_url = f"sqlite:///{directory}/e2e.db"
    passwords = prepare_database(database_url)
    values: dict[str, Any] = {"trunks": DEMO_TRUNKS, "demo_calls_per_minute": 0}
    settings = Settings(
        demo=True, database_url=database_url, **{**values, **settings_overrides}
    )
    app = create_app(settings)
    port = free_port()
    thread = ServiceThread(app, port)
    thread.start()
    service = DemoService(f"http://127.0.0.1:{port}", app, thread, passwords)
    service.wait_for_pbx()
    return service
