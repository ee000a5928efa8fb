"""Users and roles: who may log in, with which role, bound to which phone endpoint; and
which logins have been ended (a user's token generation, the logged-out tokens)."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from enum import StrEnum
from functools import cache

from pwdlib import PasswordHash
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from app.auth.tokens import TokenClaims
from app.db.tables import RevokedToken, User
from app.pbxes.ids import DEFAULT_PBX

_hasher = PasswordHash.recommended()  # Argon2id with the library's current parameters
MIN_PASSWORD_LENGTH = 8


@cache
def _dummy_hash() -> str:
    """Checked against for unknown usernames too, so timing does not tell which usernames
    exist; made on first use, not at import (`callassist --help` stays quick)."""
    return _hasher.hash("not a real password")


class Role(StrEnum):
    AGENT = "agent"
    QA = "qa"
    IT = "it"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class UserError(ValueError):
    """A user could not be created or changed as asked; the message says why, for the
    person asking."""


class NoSuchUser(UserError):
    """No user has this username."""


def add_user(
    session: Session,
    username: str,
    role: Role,
    password: str,
    *,
    endpoint: str | None = None,
    display_name: str | None = None,
    position: str | None = None,
    pbx: str = DEFAULT_PBX,
    pbxes: Collection[str] = (DEFAULT_PBX,),
) -> User:
    """``pbx``: the PBX the agent's phone is on, one of ``pbxes`` (the configured ones)."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise UserError("a username is 1 to 64 characters with no spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if role is Role.AGENT and not endpoint:
        raise UserError("an agent needs --endpoint, the phone it answers (e.g. PJSIP/1001)")
    if endpoint is not None and "/" not in endpoint:
        raise UserError("an endpoint looks like PJSIP/1001")
    if pbx not in pbxes:
        raise UserError(f"no PBX is named {pbx!r}; the PBXs: {', '.join(pbxes)}")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        endpoint=endpoint,
        pbx=pbx,
        position=position,
        password_hash=_hasher.hash(password),
        created_at=time.time(),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise UserError(f"user {username!r} or endpoint {endpoint!r} already exists") from None
    session.refresh(user)
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """A new password; every token the user holds ends (their generation moves on)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = _hasher.hash(password)
    user.token_generation += 1
    session.add(user)
    session.commit()
    session.refresh(user)


def change_password(session: Session, username: str, password: str) -> User:
    user = _existing(session, username)
    set_password(session, user, password)
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    """Enable or disable a login; disabling ends every token the user holds, and enabling
    does not bring them back."""
    user = _existing(session, username)
    if user.active != active:
        user.active = active
        if not active:
            user.token_generation += 1
        session.add(user)
        session.commit()
        session.refresh(user)
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.exec(select(User).order_by(col(User.username))).all()


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        _hasher.verify_and_update(password, _dummy_hash())
        return None
    valid, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not valid or not user.active:
        return None
    if new_hash is not None:  # parameters moved on since it was hashed
        user.password_hash = new_hash
        session.add(user)
        session.commit()
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def login_user(session: Session, claims: TokenClaims) -> User | None:
    """The active user a token's claims name, or None when that login has been ended:
    the user is disabled, their generation moved on, or the token was logged out."""
    user = find_user(session, claims.username)
    if user is None or not user.active or user.token_generation != claims.generation:
        return None
    if session.get(RevokedToken, claims.token_id) is not None:
        return None
    return user


def ended_logins(session: Session, logins: Collection[TokenClaims]) -> set[str]:
    """The token ids among ``logins`` whose login has been ended (``login_user``'s rules),
    found for all of them in two queries: a process's open WebSockets are checked
    together, not one query each."""
    ended: set[str] = set()
    names = sorted({claims.username for claims in logins})
    current: dict[str, tuple[bool, int]] = {}
    for chunk in _chunks(names):
        rows = session.exec(
            select(User.username, User.active, User.token_generation).where(
                col(User.username).in_(chunk)
            )
        )
        current.update((name, (active, generation)) for name, active, generation in rows)
    for claims in logins:
        active, generation = current.get(claims.username, (False, -1))
        if not active or generation != claims.generation:
            ended.add(claims.token_id)
    token_ids = sorted({claims.token_id for claims in logins} - ended)
    for chunk in _chunks(token_ids):
        revoked = select(RevokedToken.token_id).where(col(RevokedToken.token_id).in_(chunk))
        ended.update(session.exec(revoked))
    return ended


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def revoke_token(session: Session, claims: TokenClaims, now: float) -> None:
    """Log one token out; the list forgets tokens that have expired anyway."""
    session.exec(delete(RevokedToken).where(col(RevokedToken.expires_at) < now))
    session.add(
        RevokedToken(
            token_id=claims.token_id, username=claims.username, expires_at=claims.expires_at
        )
    )
    try:
        session.commit()
    except IntegrityError:  # logged out twice at once: once is enough
        session.rollback()


def _existing(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NoSuchUser(f"no user {username!r}")
    return user
