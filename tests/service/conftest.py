"""Service tests run on SQLite and on PostgreSQL (a throw-away database per test).

CALLASSIST_TEST_DATABASE_URL names a PostgreSQL server the tests may create databases on
(.ci/run starts one and sets it); without it the PostgreSQL half is skipped, saying so.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from telephony.simulator.server import AmiServer
from tests.service.harness import AMI_SECRET, AMI_USER, prepare_database

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


@contextlib.asynccontextmanager
async def simulator() -> AsyncIterator[AmiServer]:
    """An AMI simulator on a free loopback port, with the tests' AMI user."""
    server = AmiServer(username=AMI_USER, secret=AMI_SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def pbx() -> AsyncIterator[AmiServer]:
    async with simulator() as server:
        yield server

