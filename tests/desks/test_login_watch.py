"""The open WebSockets' logins, checked together (app/auth/watch.py): a login ended anywhere
(logged out, disabled, a new password) closes its sockets at the next period; the others
stay open, and a database that does not answer ends none."""

from __future__ import annotations

import pytest
from sqlmodel import update

from app.auth.store import Role, add_user, revoke_token
from app.auth.tokens import TokenClaims, TokenSigner
from app.auth.watch import LoginWatch
from app.db.tables import User
from tests.desks.fakes import TestDatabase

pytestmark = pytest.mark.asyncio
SIGNER = TokenSigner("k" * 40, 60)


def claims_of(username: str, generation: int = 0) -> TokenClaims:
    return SIGNER.verify(SIGNER.issue(username, "agent", generation=generation))


async def test_ended_logins_close_their_sockets_and_only_theirs(database: TestDatabase) -> None:
    with database.session() as session:
        for name in ("stays", "logs_out", "disabled", "new_password"):
            add_user(session, name, Role.QA, "password-123")
    watch = LoginWatch(database, every=30)
    sockets = {name: watch.watch(claims_of(name)) for name in ("stays", "logs_out", "disabled")}
    _, second_tab = watch.watch(claims_of("stays"))
    _, old_password = watch.watch(claims_of("new_password"))
    assert await watch.check() == 0

    logged_out = sockets["logs_out"][1].claims
    with database.session() as session:
        revoke_token(session, logged_out, now=0.0)
        session.execute(update(User).where(User.username == "disabled").values(active=False))
        moved_on = update(User).where(User.username == "new_password")
        session.execute(moved_on.values(token_generation=1))
        session.commit()

    assert await watch.check() == 3
    assert sockets["logs_out"][1].ended.is_set()
    assert sockets["disabled"][1].ended.is_set()
    assert old_password.ended.is_set()
    assert not sockets["stays"][1].ended.is_set() and not second_tab.ended.is_set()


async def test_a_database_that_does_not_answer_ends_no_login(database: TestDatabase) -> None:
    with database.session() as session:
        add_user(session, "agent", Role.QA, "password-123")
    watch = LoginWatch(database, every=30)
    key, socket = watch.watch(claims_of("agent", generation=5))  # ended: wrong generation
    database.fail_next(1)
    assert await watch.check() == 0 and not socket.ended.is_set()
    assert await watch.check() == 1 and socket.ended.is_set()
    watch.forget(key)
    assert await watch.check() == 0  # a closed socket is no longer asked about

