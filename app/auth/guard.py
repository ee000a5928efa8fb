"""What stands before a password check: a throttle on failed logins and a bound on how many
checks run at once.

Failed logins are counted in a short sliding window under three keys: the username at one
address (the usual guesser), the address (one host trying many usernames) and the username
from anywhere (a guesser spread over many hosts, so that limit is higher). Once a key has had
its limit of failures in the window, a login under it is refused with 429 and Retry-After,
*without* a password check, until the oldest of those failures leaves the window. Refused
attempts are not counted, so a throttle lasts at most one window after the last real
failure: an attacker can slow a real user down while the attack goes on, never lock them out
for good, and the same user at another address is held back only by the higher
any-address limit. A right password clears its username's counts.

The counts are kept in this process's memory: they are lost on a restart (which gives an
attacker at most one more window's worth of guesses) and each instance counts its own
(issue 16: with several instances behind one address, the limits are per instance). Logins
ended on purpose (logout, disable, new password) are in the database, not here.

Every password check (Argon2id: ~64 MiB and tens of milliseconds each) takes one of
``login_concurrent_checks`` places. A login that finds them all taken waits up to
``login_wait_seconds`` for one (a shift starting, fifty agents logging in in the same second,
should just wait a moment), then gets 503 with Retry-After: the memory a burst can take is
bounded by the setting, not by the number of requests, and no request waits for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

log = logging.getLogger("callassist.auth")
MAX_KEYS = 50_000  # keys tracked at most; the oldest go first (a flood of made-up names)
_NAME_CHARS = 64  # no stored username is longer; a longer one is counted by its start


@dataclass(frozen=True, slots=True)
class LoginLimits:
    window_seconds: float = 60.0
    per_user_address: int = 5
    per_address: int = 30
    per_user: int = 20
    concurrent_checks: int = 4
    wait_seconds: float = 5.0


class Throttled(Exception):
    """Too many failed logins under one key; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class Busy(Exception):
    """Every password-check place stayed taken for the whole wait."""

    retry_after = 1


class LoginGuard:
    """One per process (app/wiring.py builds it). ``clock`` is monotonic seconds."""

    def __init__(self, limits: LoginLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._checks = asyncio.Semaphore(limits.concurrent_checks)

    def check(self, username: str, address: str) -> None:
        """Raises Throttled when a key of this login is at its limit; counts nothing."""
        now = self.clock()
        waits = [self._wait(key, limit, now) for key, limit in self._keys(username, address)]
        longest = max(waits)
        if longest > 0:
            raise Throttled(math.ceil(longest))

    def failed(self, username: str, address: str) -> None:
        """Count a wrong password; logs one line when a key becomes throttled."""
        now = self.clock()
        for key, limit in self._keys(username, address):
            times = self._failures.pop(key, None) or deque()
            self._forget_old(times, now)
            times.append(now)
            self._failures[key] = times  # re-inserted: the dict's order is least recent first
            if len(times) == limit:
                log.warning(
                    "login throttled: %d failed logins in %.0f s for %s; refused for up to %.0f s",
                    limit,
                    self.limits.window_seconds,
                    _describe(key),
                    self.limits.window_seconds,
                )
        while len(self._failures) > MAX_KEYS:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, username: str, address: str) -> None:
        """A right password: this username's counts start again (the address's stay)."""
        name = username[:_NAME_CHARS]
        self._failures.pop(("user@address", name, address), None)
        self._failures.pop(("user", name), None)

    @contextlib.asynccontextmanager
    async def password_check(self) -> AsyncIterator[None]:
        """Hold one of the password-check places; Busy when none comes free in time."""
        if self._checks.locked():  # wait_for(…, 0) would refuse even a free place
            try:
                await asyncio.wait_for(self._checks.acquire(), self.limits.wait_seconds)
            except TimeoutError:
                raise Busy from None
        else:
            await self._checks.acquire()
        try:
            yield
        finally:
            self._checks.release()

    def _keys(self, username: str, address: str) -> list[tuple[tuple[str, ...], int]]:
        name = username[:_NAME_CHARS]
        limits = self.limits
        return [
            (("user@address", name, address), limits.per_user_address),
            (("address", address), limits.per_address),
            (("user", name), limits.per_user),
        ]

    def _wait(self, key: tuple[str, ...], limit: int, now: float) -> float:
        times = self._failures.get(key)
        if times is None:
            return 0.0
        self._forget_old(times, now)
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < limit:
            return 0.0
        # Free again when enough failures have left the window to drop under the limit.
        return times[len(times) - limit] + self.limits.window_seconds - now

    def _forget_old(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.limits.window_seconds:
            times.popleft()


def _describe(key: tuple[str, ...]) -> str:
    """The key in words: usernames quoted (repr: no control characters reach the log)."""
    if key[0] == "user@address":
        return f"user {key[1]!r} from {key[2]}"
    if key[0] == "address":
        return f"address {key[1]}"
    return f"user {key[1]!r} from any address"


def the_login_guard(request: HTTPConnection) -> LoginGuard:
    """The running service's guard (app/wiring.py puts the parts on the app)."""
    return cast(LoginGuard, request.app.state.parts.login_guard)


LoginGuardDep = Annotated[LoginGuard, Depends(the_login_guard)]
