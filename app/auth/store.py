"""Users and roles: who may log in, with which role, bound to which phone endpoint."""

from __future__ import annotations

import time
from enum import StrEnum

from pwdlib import PasswordHash
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.db.tables import User

_hasher = PasswordHash.recommended()  # Argon2id with the library's current parameters
# Spent on unknown usernames too, so timing does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("not a real password")
MIN_PASSWORD_LENGTH = 8


class Role(StrEnum):
    AGENT = "agent"
    QA = "qa"
    IT = "it"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class UserError(ValueError):
    """A user could not be created as asked; the message says why, for the person asking."""


def add_user(
    session: Session,
    username: str,
    role: Role,
    password: str,
    *,
    endpoint: str | None = None,
    display_name: str | None = None,
    position: str | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise UserError("a username is 1 to 64 characters with no spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if role is Role.AGENT and not endpoint:
        raise UserError("an agent needs --endpoint, the phone it answers (e.g. PJSIP/1001)")
    if endpoint is not None and "/" not in endpoint:
        raise UserError("an endpoint looks like PJSIP/1001")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        endpoint=endpoint,
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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = _hasher.hash(password)
    session.add(user)
    session.commit()


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        _hasher.verify(password, _DUMMY_HASH)
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
