"""Login tokens: signed (HS256) with the service's secret key, valid for one shift.

A token names its user, the user's token generation when it was issued (``gen``) and an id
of its own (``jti``), so that it can be ended before it expires: a logout stores its id, and
disabling the user or changing their password bumps the generation (app/auth/store.py).
Both live in the database, so tokens outlive a restart and every instance agrees.
"""

from __future__ import annotations

import secrets
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
    token_id: str
    generation: int


class TokenSigner:
    def __init__(self, secret_key: str, minutes: int) -> None:
        self._key = secret_key
        self._seconds = minutes * 60

    def issue(
        self, username: str, role: str, *, generation: int = 0, now: float | None = None
    ) -> str:
        issued = time.time() if now is None else now
        claims = {
            "sub": username,
            "role": role,
            "gen": generation,
            "jti": secrets.token_urlsafe(16),
            "iat": int(issued),
            "exp": int(issued + self._seconds),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "exp", "jti", "gen"]},
            )
        except jwt.ExpiredSignatureError:
            raise BadToken("the login has expired; log in again") from None
        except jwt.PyJWTError:
            raise BadToken("the login token is not valid") from None
        token_id, generation = claims["jti"], claims["gen"]
        if not isinstance(token_id, str) or not 0 < len(token_id) <= 64:
            raise BadToken("the login token is not valid")
        if not isinstance(generation, int) or isinstance(generation, bool):
            raise BadToken("the login token is not valid")
        return TokenClaims(
            str(claims["sub"]),
            str(claims.get("role", "")),
            float(claims["exp"]),
            token_id,
            generation,
        )


def the_signer(request: HTTPConnection) -> TokenSigner:
    """The running service's signer (app/wiring.py puts the parts on the app)."""
    return cast(TokenSigner, request.app.state.parts.signer)


SignerDep = Annotated[TokenSigner, Depends(the_signer)]
