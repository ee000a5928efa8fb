"""The login guard's counting, on a clock the test moves (app/auth/guard.py)."""

from __future__ import annotations

import pytest

from app.auth.guard import LoginGuard, LoginLimits, Throttled
from app.auth.store import Role
from app.cli import ROLES


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def guard(**limits: int | float) -> tuple[LoginGuard, Clock]:
    clock = Clock()
    return LoginGuard(LoginLimits(**limits), clock), clock  # type: ignore[arg-type]


def test_the_user_at_one_address_is_refused_until_the_oldest_failure_leaves_the_window() -> None:
    login, clock = guard(window_seconds=60, per_user_address=3)
    for step in range(3):
        login.check("ann", "10.0.0.1")
        login.failed("ann", "10.0.0.1")
        clock.now += 10 * (step < 2)
    with pytest.raises(Throttled) as refused:
        login.check("ann", "10.0.0.1")
    assert refused.value.retry_after == 40  # the first failure, at 100, leaves at 160
    login.check("ann", "10.0.0.2")  # the same user elsewhere is not held back
    login.check("bob", "10.0.0.1")
    clock.now = 160.0
    login.check("ann", "10.0.0.1")


def test_refused_attempts_are_not_counted_so_a_lockout_ends_one_window_after_the_last_failure() -> (
    None
):
    login, clock = guard(window_seconds=60, per_user_address=2)
    for _ in range(2):
        login.failed("ann", "10.0.0.1")
    for _ in range(100):
        clock.now += 0.5
        with pytest.raises(Throttled):
            login.check("ann", "10.0.0.1")
    clock.now = 160.0
    login.check("ann", "10.0.0.1")


def test_many_addresses_guessing_one_user_meet_the_any_address_limit() -> None:
    login, _ = guard(per_user=4, per_user_address=100)
    for n in range(4):
        login.failed("ann", f"10.0.0.{n}")
    with pytest.raises(Throttled):
        login.check("ann", "10.9.9.9")
    login.check("bob", "10.9.9.9")


def test_a_right_password_clears_the_users_counts_but_not_the_addresss() -> None:
    login, _ = guard(per_user_address=2, per_address=3)
    login.failed("ann", "10.0.0.1")
    login.succeeded("ann", "10.0.0.1")
    login.failed("ann", "10.0.0.1")
    login.check("ann", "10.0.0.1")
    login.failed("bob", "10.0.0.1")
    with pytest.raises(Throttled):
        login.check("carl", "10.0.0.1")


def test_a_flood_of_made_up_names_is_forgotten_oldest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("app.auth.guard.MAX_KEYS", 10)
    login, _ = guard(per_user_address=1, per_address=1000, per_user=1000)
    for n in range(50):
        login.failed(f"name{n}", "10.0.0.1")
    with pytest.raises(Throttled):
        login.check("name49", "10.0.0.1")
    login.check("name0", "10.0.0.1")


def test_the_commands_role_choices_are_the_roles() -> None:
    assert tuple(role.value for role in Role) == ROLES
