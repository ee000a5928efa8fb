"""The PBX's ownership lock on a real PostgreSQL (issue 16): two instances in this process
compete for it; the owner's lock connection cut (a database restart, as the server sees it)
ends its term and hands the PBX to the other. On SQLite there is no lock: the instance owns
the PBX from its start to its stop, as before. Two real processes: test_failover.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.db.pbx_lock import PbxLock
from app.ownership.desk import Ownership
from app.settings import Settings
from app.wiring import build
from telephony.ami.link import LinkConfig
from tests.desks.test_ownership import FakeTerm

pytestmark = pytest.mark.asyncio


def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the ownership lock is PostgreSQL's; on SQLite there is none to compete for")


async def eventually(check: Callable[[], Awaitable[bool]], what: str, limit: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {limit} s for {what}")
        await asyncio.sleep(0.02)


def cut_sessions_of(database_url: str, instance: str) -> int:
    """Terminate the instance's lock session, as a database restart would."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (instance,),
        ).fetchall()
    return len(rows)


@contextlib.asynccontextmanager
async def competing(database_url: str, *names: str) -> AsyncIterator[list[Ownership]]:
    """Instances of one PBX with fake terms, each running its ownership as the service does."""
    owners = [
        Ownership(FakeTerm(), PbxLock(database_url, "default", name), pbx="default",
                  instance=name, poll=0.05)
        for name in names
    ]
    tasks = [asyncio.create_task(owner.run()) for owner in owners]
    try:
        yield owners
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for owner in owners:
            await owner.stop()


async def test_one_lock_one_holder_and_the_others_read_its_name(database_url: str) -> None:
    postgres_only(database_url)
    first, second = PbxLock(database_url, "pbx-a", "one"), PbxLock(database_url, "pbx-a", "two")
    other_pbx = PbxLock(database_url, "pbx-b", "two")
    try:
        assert await first.try_take()
        assert not await second.try_take()
        assert await second.holder() == "one"
        assert await other_pbx.try_take(), "each PBX has its own lock"
        await first.release()  # the server ends the session a moment after it is closed
        await eventually(lambda: _none(second.holder()), "the released lock has no holder")
        assert await second.try_take()
        assert await second.still_held()
    finally:
        for lock in (first, second, other_pbx):
            await lock.release()


async def test_the_first_owns_the_second_stands_by_and_takes_over_when_it_stops(
    database_url: str,
) -> None:
    postgres_only(database_url)
    async with competing(database_url, "alpha") as (alpha,):
        await eventually(lambda: _true(alpha.state.owner), "alpha owning the PBX")
        async with competing(database_url, "beta") as (beta,):
            await eventually(lambda: _true(beta.state.owner_name == "alpha"), "beta naming alpha")
            assert beta.state.owner is False
            assert beta.state.terms == 0, "a stand-by never runs the PBX-facing parts"
            await alpha.stop()  # its lock connection closed: the lock goes at once
            await eventually(lambda: _true(beta.state.owner), "beta taking over")
            assert beta.state.terms == 1


async def test_a_lost_lock_connection_ends_the_term_and_one_owner_carries_on(
    database_url: str,
) -> None:
    postgres_only(database_url)
    async with competing(database_url, "alpha") as (alpha,):
        await eventually(lambda: _true(alpha.state.owner), "alpha owning the PBX")
        async with competing(database_url, "beta") as (beta,):
            await eventually(lambda: _true(beta.state.owner_name == "alpha"), "beta naming alpha")
            assert cut_sessions_of(database_url, "alpha") == 1
            await eventually(lambda: _true(alpha.state.losses == 1), "alpha standing down")
            await eventually(lambda: _owned_once(alpha, beta), "one owner again")
            owner, other = (alpha, beta) if alpha.state.owner else (beta, alpha)
            await eventually(
                lambda: _true(other.state.owner_name == owner.state.instance), "the owner named"
            )


async def _owned_once(*owners: Ownership) -> bool:
    return [o.state.owner for o in owners].count(True) == 1


async def test_on_sqlite_there_is_no_lock_and_the_instance_owns_its_pbx(database_url: str) -> None:
    settings = Settings(database_url=database_url, secret_key="k" * 40, instance_name="solo")
    parts = build(settings, {"default": LinkConfig.from_url("ami://u:p@127.0.0.1:5038")})
    try:
        ownership = parts.pbx("default").ownership
        assert ownership.locked is database_url.startswith("postgresql")
        assert ownership.state.instance == "solo"
    finally:
        parts.database.dispose()


async def _true(value: bool) -> bool:
    return value


async def _none(holder: Awaitable[str | None]) -> bool:
    return await holder is None
