"""Call records as the API shows them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class CallItem(BaseModel):
    """A call record: the replay contract's fields, plus its id and state.

    A call is named by (pbx, linkedid); ``call_id`` is both in one string (the bare linkedid
    on the default PBX), the id the service's other pages and messages use."""

    id: int
    call_id: str
    pbx: str = Field(description="the PBX the call was on: its name, `default` with one PBX")
    linkedid: str = Field(description="the call's Linkedid on its PBX: call_id without its pbx")
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
    events_missed: bool = Field(
        default=False,
        description="taken up again after a restart or an outage: some events were not seen",
    )
    pops_missed: int = Field(default=0, description="agents whose console never got the pop")
    disposition: str | None = None
    score: float | None = Field(default=None, description="latest scorecard total, 0-100")
    trunk: str | None = Field(default=None, description="the customer leg's endpoint")
    callback_for: str | None = Field(
        default=None, description="a callback call: the call_id of the call it answers for"
    )
    recording_available: bool = Field(
        default=False, description="the recording is on disk and holds sound (not a bare header)"
    )


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
    recording_empty: bool = Field(
        default=False, description="the file is on disk but holds no sound (a WAV header only)"
    )
    recording_started_at: float | None = Field(
        default=None, description="where the recording's second 0 is on the call's clock"
    )
    callbacks: list[dict[str, Any]] = Field(
        default=[], description="callback views with attempts_list: what this call was owed"
    )
    callback_calls: list[dict[str, Any]] = Field(
        default=[], description="the calls placed to call this one's customer back"
    )
    callback_for_pk: int | None = Field(
        default=None, description="a callback call: the id of the call it answers for"
    )
    call_script_sessions: list[dict[str, Any]] = Field(
        default=[], description="per agent: call script, steps with times, fields, notes,"
        " disposition"
    )
    complaints: list[dict[str, Any]] = []
    adherence: dict[str, Any] = Field(
        default={}, description='{"checks": [{rule, label, passed, detail}], "passed", "failed"}'
    )
    scores: dict[str, Any] = Field(
        default={}, description='{"criteria", "current", "history", "total"}: the scorecard'
    )
