"""The logins of this process's open WebSockets, checked together.

A socket's login may be ended elsewhere (the CLI, another instance: logged out, disabled, a
new password), which this process hears of only from the database. Each socket used to ask
for itself every ``ws_login_check_seconds``: with 2,000 consoles that is 67 queries a second
on every instance for nothing new. Here one task asks for all of them in two queries per
period (app/auth/store.py, ``ended_logins``) and tells the sockets whose login is over.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.auth import store
from app.auth.tokens import TokenClaims
from app.db.engine import Database, DatabaseError

log = logging.getLogger("callassist.auth")


@dataclass(eq=False, slots=True)
class Watched:
    """One socket's login; ``ended`` is set when it has been ended."""

    claims: TokenClaims
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class LoginWatch:
    def __init__(self, database: Database, every: float) -> None:
        self._database = database
        self._every = every
        self._watched: dict[int, Watched] = {}
        self._ids = itertools.count()

    def watch(self, claims: TokenClaims) -> tuple[int, Watched]:
        key = next(self._ids)
        watched = self._watched[key] = Watched(claims)
        return key, watched

    def forget(self, key: int) -> None:
        self._watched.pop(key, None)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.check()

    async def check(self) -> int:
        """Tell the sockets whose login has been ended; how many. A database that does not
        answer ends no login: the next period asks again."""
        watched = list(self._watched.values())
        if not watched:
            return 0
        logins = [w.claims for w in watched]
        try:
            ended = await self._database.run(lambda s: store.ended_logins(s, logins))
        except DatabaseError as error:
            log.warning("open logins not checked (%s); checking again in %g s", error, self._every)
            return 0
        told = [w for w in watched if w.claims.token_id in ended]
        for w in told:
            w.ended.set()
        return len(told)


def the_login_watch(request: HTTPConnection) -> LoginWatch:
    """The running service's (app/wiring.py puts the parts on the app)."""
    return cast(LoginWatch, request.app.state.parts.logins)


LoginWatchDep = Annotated[LoginWatch, Depends(the_login_watch)]
