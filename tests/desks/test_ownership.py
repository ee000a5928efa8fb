"""Ownership of the PBX (issue 16) with a fake lock and a fake term: won, standing by, taken
over, lost and won again, stopped. The real lock on PostgreSQL, with two instances competing,
is tests/service/test_ownership_lock.py's; two real processes, tests/service/test_failover.py.
"""

from __future__ import annotations

import asyncio

import pytest

from app.ownership.desk import Ownership
from tests.desks.fakes import running, until

pytestmark = pytest.mark.asyncio
POLL = 0.001


class FakeLock:
    """A lock another instance may hold (``holder``), that this one may lose (``lose``)."""

    def __init__(self, holder: str | None = None) -> None:
        self.other: str | None = holder
        self.held = False
        self.released = 0

    async def try_take(self) -> bool:
        if self.other is None:
            self.held = True
        return self.held

    async def still_held(self) -> bool:
        return self.held

    async def holder(self) -> str | None:
        return "me" if self.held else self.other

    async def release(self) -> None:
        self.held = False
        self.released += 1

    def lose(self, to: str | None = None) -> None:
        self.held, self.other = False, to


class FakeTerm:
    """Counts starts and stops; a stop takes a moment (it stores what was taken)."""

    def __init__(self) -> None:
        self.starts = 0
        self.stops = 0
        self.running = False

    def start(self) -> None:
        assert not self.running, "a term begun twice"
        self.starts += 1
        self.running = True

    async def stop(self) -> None:
        assert self.running, "a term ended that never began"
        await asyncio.sleep(0.01)
        self.stops += 1
        self.running = False


def ownership(term: FakeTerm, lock: FakeLock | None) -> Ownership:
    return Ownership(term, lock, pbx="default", instance="me", poll=POLL)


async def test_the_free_lock_is_won_and_the_term_begins() -> None:
    term, lock = FakeTerm(), FakeLock()
    owner = ownership(term, lock)
    async with running(owner.run()):
        await until(lambda: term.running, "the term to begin")
        assert (owner.state.owner, owner.state.owner_name) == (True, "me")
    await owner.stop()
    assert (term.starts, term.stops, lock.released) == (1, 1, 1)
    assert owner.state.owner is False


async def test_with_another_owner_it_stands_by_naming_it_and_takes_over_when_it_goes() -> None:
    term, lock = FakeTerm(), FakeLock(holder="other-1")
    owner = ownership(term, lock)
    async with running(owner.run()):
        await until(lambda: owner.state.owner_name == "other-1", "the owner's name read")
        assert owner.state.owner is False
        assert term.starts == 0, "a stand-by never runs the PBX-facing parts"
        lock.lose()  # the owner died: its session, and the lock with it, went
        await until(lambda: term.running, "the takeover")
        assert (owner.state.owner, owner.state.owner_name) == (True, "me")
    await owner.stop()


async def test_a_lost_lock_ends_the_term_then_it_competes_again() -> None:
    term, lock = FakeTerm(), FakeLock()
    owner = ownership(term, lock)
    async with running(owner.run()):
        await until(lambda: term.running, "the term to begin")
        lock.lose(to="other-2")
        await until(lambda: term.stops == 1, "the term to end")
        await until(lambda: owner.state.owner_name == "other-2", "the new owner named")
        assert (owner.state.owner, owner.state.losses, term.running) == (False, 1, False)
        lock.lose(to=None)
        await until(lambda: term.starts == 2, "the lock won again")
        assert owner.state.terms == 2
    await owner.stop()
    assert term.stops == 2


async def test_a_stop_while_a_lost_term_ends_waits_for_that_ending_not_a_second() -> None:
    term, lock = FakeTerm(), FakeLock()
    owner = ownership(term, lock)
    async with running(owner.run()):
        await until(lambda: term.running, "the term to begin")
        lock.lose(to="other-3")
        await asyncio.sleep(POLL * 5)  # the ending has begun (it takes 10 ms)
    await owner.stop()  # FakeTerm.stop asserts it is not ended twice
    assert (term.starts, term.stops, term.running) == (1, 1, False)


async def test_without_a_lock_it_owns_the_pbx_from_start_to_stop() -> None:
    term = FakeTerm()
    owner = ownership(term, None)
    assert owner.locked is False
    async with running(owner.run()):
        await until(lambda: term.running, "the term to begin")
        assert (owner.state.owner, owner.state.owner_name) == (True, "me")
    assert term.running, "only the stop ends it, as before issue 16"
    await owner.stop()
    assert (term.starts, term.stops) == (1, 1)


async def test_a_stop_before_any_term_only_lets_the_lock_go() -> None:
    term, lock = FakeTerm(), FakeLock(holder="other-4")
    owner = ownership(term, lock)
    async with running(owner.run()):
        await until(lambda: owner.state.owner_name == "other-4", "standing by")
    await owner.stop()
    assert (term.starts, term.stops, lock.released) == (0, 0, 1)
