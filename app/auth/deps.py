"""Who is asking: the logged-in user from the bearer token, and the role checks every route
states in its signature (``CurrentUser``, ``ReviewerUser``, ``ItSideUser``, ``AgentUser``,
``AdminUser``). ``CurrentLogin`` is the user with the token's claims (logout needs its id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from fastapi.security import OAuth2PasswordBearer

from app.auth.store import Role, login_user
from app.auth.tokens import BadToken, SignerDep, TokenClaims, TokenSigner
from app.db.engine import Database, DatabaseDep, DatabaseError, Session
from app.db.tables import User
from app.records.query import Viewer

# Row ids and offsets fit a 32-bit signed integer on every database we support.
MAX_INT = 2**31 - 1
CallPk = Annotated[int, Path(ge=1, le=MAX_INT, description="the call's id (from the list)")]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


@dataclass(frozen=True, slots=True)
class Login:
    """A logged-in user and the claims of the token they came with."""

    user: User
    claims: TokenClaims


def login_from_token(signer: TokenSigner, session: Session, token: str | None) -> Login:
    """The active user a token names, with its claims; raises 401 with a reason a person
    understands (expired, forged, or ended: logged out, disabled, password changed)."""
    if not token:
        raise _unauthorized("log in first: this needs a bearer token")
    try:
        claims = signer.verify(token)
    except BadToken as error:
        raise _unauthorized(str(error)) from None
    user = login_user(session, claims)
    if user is None:
        raise _unauthorized("this login is no longer valid; log in again")
    return Login(user, claims)


def user_from_token(signer: TokenSigner, session: Session, token: str | None) -> User:
    return login_from_token(signer, session, token).user


async def login_of(database: Database, signer: TokenSigner, token: str | None) -> Login:
    """``login_from_token`` off the event loop, as every route reaches the database."""
    return await database.run(lambda session: login_from_token(signer, session, token))


async def user_of(database: Database, signer: TokenSigner, token: str | None) -> User:
    return (await login_of(database, signer, token)).user


def bearer_token(token: Annotated[str | None, Depends(_bearer)]) -> str | None:
    return token


async def current_login(
    database: DatabaseDep, signer: SignerDep, token: Annotated[str | None, Depends(_bearer)]
) -> Login:
    return await login_of(database, signer, token)


CurrentLogin = Annotated[Login, Depends(current_login)]


async def current_user(login: CurrentLogin) -> User:
    return login.user


CurrentUser = Annotated[User, Depends(current_user)]


async def signed_in(
    database: DatabaseDep, signer: SignerDep, token: Annotated[str | None, Depends(_bearer)]
) -> str:
    """The logged-in username, for the page that must answer while the database is down
    (/api/status: an operator's first look in an outage). The user is checked in the
    database when it answers; while it does not, the token's signature and expiry vouch
    for it alone (a login disabled meanwhile sees the status until the database is back)."""
    try:
        return (await user_of(database, signer, token)).username
    except DatabaseError:
        if not token:
            raise _unauthorized("log in first: this needs a bearer token") from None
        try:
            return signer.verify(token).username
        except BadToken as error:
            raise _unauthorized(str(error)) from None


SignedIn = Annotated[str, Depends(signed_in)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    allowed = {role.value for role in roles}

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {names}")
        return user

    return check


ReviewerUser = Annotated[User, Depends(require_roles(Role.QA, Role.SUPERVISOR, Role.ADMIN))]
# Who watches the lines and handles incidents: IT and supervisors.
ItSideUser = Annotated[User, Depends(require_roles(Role.IT, Role.SUPERVISOR, Role.ADMIN))]
AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]


async def agent_at_phone(user: CurrentUser) -> User:
    """The console is for an agent with a phone: its calls are the ones ringing there."""
    if user.role != Role.AGENT.value:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the console is for agents")
    if not user.endpoint:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "no phone is assigned to your login: ask a supervisor"
        )
    return user


AgentUser = Annotated[User, Depends(agent_at_phone)]


def viewer_of(user: User) -> Viewer:
    """What the user may see of the calls: an agent's phone is an endpoint on one PBX."""
    return Viewer(user.role, user.endpoint, user.pbx)
