"""Logging in: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from app.auth.deps import CurrentUser
from app.auth.schemas import Me, Token
from app.auth.store import authenticate
from app.auth.tokens import SignerDep
from app.db.engine import DatabaseDep

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/token", response_model=Token, summary="Log in; get a bearer token")
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    database: DatabaseDep,
    signer: SignerDep,
) -> Token:
    # A NUL cannot be in a stored name or password, and PostgreSQL refuses it in a query.
    bad = "\x00" in form.username or "\x00" in form.password
    user = None
    if not bad:
        user = await database.run(lambda s: authenticate(s, form.username, form.password))
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Token(access_token=signer.issue(user.username, user.role))


@router.get("/me", response_model=Me, summary="Who is logged in")
async def me(user: CurrentUser) -> Me:
    return Me.model_validate(user, from_attributes=True)
