"""The API's response shapes, as the OpenAPI schema documents them."""

from __future__ import annotations

from typing import Any, Literal

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


class CallItem(BaseModel):
    """A call record: the replay contract's fields, plus its id and state."""

    id: int
    call_id: str
    direction: str | None
    customer: str | None
    agent: str | None
    agents: list[str]
    queue: str | None
    started_at: float | None
    answered_at: float | None
    ended_at: float | None
    ring_seconds: float | None
    talk_seconds: float | None
    hold_seconds: float | None
    hangup_cause: int | None
    ended_by: str | None
    outcome: str | None
    drop_reason: str | None
    transfers: int
    recording: str | None
    status: Literal["live", "ended"]
    ended_in_gap: bool


class CallPage(BaseModel):
    items: list[CallItem]
    total: int


class TimelineEntry(BaseModel):
    kind: str
    at: float | None
    endpoint: str | None
    detail: dict[str, Any]


class CallDetail(CallItem):
    timeline: list[TimelineEntry]


class LinkStatus(BaseModel):
    configured: bool = False
    status: str = "not configured"
    address: str | None = None  # host:port only; never a credential
    connected_since: float | None = None
    down_since: float | None = None
    last_error: str | None = None
    messages_received: int = 0
    malformed_skipped: int = 0
    events_dropped: int = 0
    reconnects: int = 0
    filters_installed: bool = False
    pbx_restarts: int = 0


class DatabaseStatus(BaseModel):
    backend: str
    reachable: bool
    backlog: int
    last_error: str | None


class ServiceStatus(BaseModel):
    version: str
    uptime_seconds: float
    demo: bool
    ami: LinkStatus
    database: DatabaseStatus
    websocket_clients: int
    live_calls: int
