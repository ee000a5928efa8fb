"""The login API's shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    endpoint: str | None
    position: str | None
