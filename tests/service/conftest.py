"""Service tests run on SQLite and on PostgreSQL (a throw-away database per test).

CALLASSIST_TEST_DATABASE_URL names a PostgreSQL server the tests may create databases on
(.ci/run starts one and sets it); without it the PostgreSQL half is skipped, saying so.
CALLASSIST_TEST_REDIS_URL names a Redis for the tests of several instances; without it they
start a redis-server of their own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from telephony.simulator.server import AmiServer
from tests.service.harness import AMI_SECRET, AMI_USER, free_port, prepare_database

TEST_DATABASE = "CALLASSIST_TEST_DATABASE_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/callassist.db"
        prepare_database(url)
        yield url
        return
    server = os.environ.get(TEST_DATABASE)
    if not server:
        pytest.skip(f"{TEST_DATABASE} is not set: no PostgreSQL to test on (.ci/run sets it)")
    with throwaway_postgres(server) as url:
        prepare_database(url)
        yield url


class throwaway_postgres:
    """A fresh database on the given server, dropped afterwards."""

    def __init__(self, server_url: str) -> None:
        self._server = make_url(server_url).set(drivername="postgresql")
        self._name = f"callassist_test_{uuid.uuid4().hex[:12]}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        dsn = self._server.render_as_string(hide_password=False)
        return psycopg.connect(dsn, autocommit=True)

    def __enter__(self) -> str:
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{self._name}"')
        url = self._server.set(drivername="postgresql+psycopg", database=self._name)
        return url.render_as_string(hide_password=False)

    def __exit__(self, *_: object) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


@pytest_asyncio.fixture
async def pbx() -> AsyncIterator[AmiServer]:
    server = AmiServer(username=AMI_USER, secret=AMI_SECRET)
    await server.start()
    yield server
    await server.close()


TEST_REDIS = "CALLASSIST_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis to relay live messages through: CALLASSIST_TEST_REDIS_URL's (.ci/run starts
    one and sets it), else a redis-server of our own on a free loopback port, else a skip."""
    given = os.environ.get(TEST_REDIS)
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"{TEST_REDIS} is not set and redis-server is not installed (tests/needs.sh)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    command = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def redis_settings(redis_server: str) -> dict[str, str]:
    """The relay's settings for one test: its own prefix, so tests never hear each other."""
    return {"redis_url": redis_server, "redis_prefix": f"test-{uuid.uuid4().hex[:12]}"}


def wait_for_port(port: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {within} s")
