"""The login API's shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.store import MIN_PASSWORD_LENGTH


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    endpoint: str | None
    pbx: str = "default"
    position: str | None


class UserInfo(BaseModel):
    """A user as an admin sees them (never their password hash)."""

    username: str
    display_name: str
    role: str
    endpoint: str | None
    pbx: str = "default"
    position: str | None
    active: bool


class UserList(BaseModel):
    items: list[UserInfo]


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)
