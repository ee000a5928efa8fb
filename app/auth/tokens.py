"""Login tokens: signed (HS256) with the service's secret key, valid for one shift."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, cast

import jwt
from fastapi import Depends
from starlette.requests import HTTPConnection

ALGORITHM = "HS256"


class BadToken(Exception):
    """Expired, forged or malformed; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    role: str
    expires_at: float


class TokenSigner:
    def __init__(self, secret_key: str, minutes: int) -> None:
        self._key = secret_key
        self._seconds = minutes * 60

    def issue(self, username: str, role: str, now: float | None = None) -> str:
        issued = time.time() if now is None else now
        claims = {
            "sub": username,
            "role": role,
            "iat": int(issued),
            "exp": int(issued + self._seconds),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
            )
        except jwt.ExpiredSignatureError:
            raise BadToken("the login has expired; log in again") from None
        except jwt.PyJWTError:
            raise BadToken("the login token is not valid") from None
        return TokenClaims(str(claims["sub"]), str(claims.get("role", "")), float(claims["exp"]))


def the_signer(request: HTTPConnection) -> TokenSigner:
    """The running service's signer (app/wiring.py puts the parts on the app)."""
    return cast(TokenSigner, request.app.state.parts.signer)


SignerDep = Annotated[TokenSigner, Depends(the_signer)]
