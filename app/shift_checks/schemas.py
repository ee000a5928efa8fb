"""The shift check's request and answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ShiftCheckRequest(BaseModel):
    rtt_ms: float | None = Field(
        default=None, ge=0, le=600_000, description="round trip console -> service, measured"
    )


class ShiftCheckResult(BaseModel):
    id: int
    ok: bool
    checked_at: float
    endpoint: dict[str, Any]
    link: dict[str, Any]
    rtt_ms: float | None
    codes: list[str]
    problems: list[str]
