"""Typed dependencies for the routers: the services, a database session, the logged-in user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import OAuth2PasswordBearer

from app.auth.store import Role, find_user
from app.auth.tokens import BadToken
from app.db.engine import Session
from app.db.tables import User
from app.records.query import Viewer
from app.wiring import Services

# Row ids and offsets fit a 32-bit signed integer on every database we support.
MAX_INT = 2**31 - 1
CallPk = Annotated[int, Path(ge=1, le=MAX_INT, description="the call's id (from the list)")]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.database.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def user_from_token(services: Services, session: Session, token: str | None) -> User:
    """The active user a token names; raises 401 with a reason a person understands."""
    if not token:
        raise _unauthorized("log in first: this needs a bearer token")
    try:
        claims = services.signer.verify(token)
    except BadToken as error:
        raise _unauthorized(str(error)) from None
    user = find_user(session, claims.username)
    if user is None or not user.active:
        raise _unauthorized("this login is no longer valid")
    return user


def bearer_token(token: Annotated[str | None, Depends(_bearer)]) -> str | None:
    return token


def current_user(
    services: ServicesDep, session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> User:
    return user_from_token(services, session, token)


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    allowed = {role.value for role in roles}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {names}")
        return user

    return check


ReviewerUser = Annotated[User, Depends(require_roles(Role.QA, Role.SUPERVISOR, Role.ADMIN))]
# Who watches the lines and handles incidents: IT and supervisors.
ItSideUser = Annotated[User, Depends(require_roles(Role.IT, Role.SUPERVISOR, Role.ADMIN))]


def agent_at_phone(user: CurrentUser) -> User:
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
    return Viewer(user.role, user.endpoint)
