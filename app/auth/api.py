"""Logging in and out (the OAuth2 password flow), and the admins' user list: disable,
enable, set a password. Ending a login here also closes its WebSockets at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.auth.deps import AdminUser, CurrentLogin, CurrentUser
from app.auth.guard import Busy, LoginGuardDep, Throttled
from app.auth.schemas import Me, NewPassword, Token, UserInfo, UserList
from app.auth.store import (
    NoSuchUser,
    UserError,
    authenticate,
    change_password,
    list_users,
    revoke_token,
    set_active,
)
from app.auth.tokens import SignerDep
from app.db.engine import DatabaseDep, Session
from app.db.tables import User
from app.live.hub import HubDep
from app.web.answers import ROLE, SIGNED_IN, UNREADABLE, Answers, problem

router = APIRouter(prefix="/api", tags=["auth"], responses=SIGNED_IN)
# The admins' routes: a role, and a user that may not exist.
FOR_ADMINS: Answers = {**ROLE, 404: problem("no such user")}

Username = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[^\s\x00]+$",
        description="the user's login name",
    ),
]


@router.post(
    "/auth/token",
    response_model=Token,
    summary="Log in; get a bearer token",
    responses={
        401: problem("wrong username or password (the same answer for both)"),
        429: problem("too many failed logins: try again after Retry-After seconds"),
        503: problem("too many password checks at once: try again after Retry-After"),
    },
)
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    database: DatabaseDep,
    signer: SignerDep,
    guard: LoginGuardDep,
) -> Token:
    address = request.client.host if request.client else "unknown"
    try:
        guard.check(form.username, address)
        user = await _checked(form, database, guard)
    except Throttled as refused:
        raise _retry_later(
            status.HTTP_429_TOO_MANY_REQUESTS, str(refused), refused.retry_after
        ) from None
    except Busy:
        raise _retry_later(
            status.HTTP_503_SERVICE_UNAVAILABLE, "too many logins at once; try again", 1
        ) from None
    if user is None:
        guard.failed(form.username, address)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    guard.succeeded(form.username, address)
    return Token(
        access_token=signer.issue(user.username, user.role, generation=user.token_generation)
    )


async def _checked(
    form: OAuth2PasswordRequestForm, database: DatabaseDep, guard: LoginGuardDep
) -> User | None:
    # A NUL cannot be in a stored name or password, and PostgreSQL refuses it in a query.
    if "\x00" in form.username or "\x00" in form.password:
        return None
    async with guard.password_check():
        return await database.run(lambda s: authenticate(s, form.username, form.password))


def _retry_later(code: int, detail: str, seconds: int) -> HTTPException:
    return HTTPException(code, detail, headers={"Retry-After": str(seconds)})


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out: this token stops working everywhere, its live updates close",
)
async def log_out(login: CurrentLogin, database: DatabaseDep, hub: HubDep) -> Response:
    await database.run(lambda s: revoke_token(s, login.claims, time.time()))
    hub.end_logins(login.user.username, login.claims.token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=Me, summary="Who is logged in")
async def me(user: CurrentUser) -> Me:
    return Me.model_validate(user, from_attributes=True)


@router.get("/users", response_model=UserList, summary="Every user (admins)", responses=ROLE)
async def users(admin: AdminUser, database: DatabaseDep) -> UserList:
    rows = await database.run(
        lambda s: [UserInfo.model_validate(u, from_attributes=True) for u in list_users(s)]
    )
    return UserList(items=rows)


@router.post(
    "/users/{username}/disable",
    response_model=UserInfo,
    summary="Disable a login: its tokens and live updates end at once (admins)",
    responses={**FOR_ADMINS, 409: problem("you cannot disable your own login")},
)
async def disable(
    username: Username, admin: AdminUser, database: DatabaseDep, hub: HubDep
) -> UserInfo:
    if username == admin.username:
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot disable your own login")
    user = await _changed(database, lambda s: set_active(s, username, False))
    hub.end_logins(username)
    return user


@router.post(
    "/users/{username}/enable",
    response_model=UserInfo,
    summary="Enable (admins)",
    responses=FOR_ADMINS,
)
async def enable(username: Username, admin: AdminUser, database: DatabaseDep) -> UserInfo:
    return await _changed(database, lambda s: set_active(s, username, True))


@router.put(
    "/users/{username}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a password: the user's tokens and live updates end at once (admins)",
    responses={**FOR_ADMINS, **UNREADABLE},
)
async def set_user_password(
    username: Username, body: NewPassword, admin: AdminUser, database: DatabaseDep, hub: HubDep
) -> Response:
    await _changed(database, lambda s: change_password(s, username, body.password))
    hub.end_logins(username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _changed(database: DatabaseDep, change: Callable[[Session], User]) -> UserInfo:
    """Run a store change; a missing user is 404, a refused change 422."""
    try:
        return await database.run(
            lambda s: UserInfo.model_validate(change(s), from_attributes=True)
        )
    except NoSuchUser as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except UserError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
