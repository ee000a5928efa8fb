"""The API's response shapes, as the OpenAPI schema documents them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    pops_missed: int = Field(default=0, description="agents whose console never got the pop")
    disposition: str | None = None
    score: float | None = Field(default=None, description="latest scorecard total, 0-100")
    trunk: str | None = Field(default=None, description="the customer leg's endpoint")
    callback_for: str | None = Field(
        default=None, description="a callback call: the call_id of the call it answers for"
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
    recording_available: bool = Field(default=False, description="the file is on disk")
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


class CallScriptsStatus(BaseModel):
    loaded: list[str] = Field(description="id.language of every call script in use")
    errors: list[str] = Field(description="refused files: file:line: problem")


class PbxCheckStatus(BaseModel):
    checked_at: float | None = Field(default=None, description="when the PBX last answered it")
    ok: bool = False
    problems: list[str] = Field(
        default=[], description='what the PBX lacks, or "not checked: <why>"'
    )


class ServiceStatus(BaseModel):
    version: str
    uptime_seconds: float
    demo: bool
    ami: LinkStatus
    pbx: PbxCheckStatus = Field(
        default_factory=PbxCheckStatus,
        description="the AMI permissions and dialplan the service relies on, after each login",
    )
    database: DatabaseStatus
    websocket_clients: int
    live_calls: int
    call_scripts: CallScriptsStatus


# -- the agent console -----------------------------------------------------------------------

ActionKind = Literal["set", "next", "back", "branch", "refer", "note", "hangup", "wrap_up"]
PRINTABLE_ID = r"^[A-Za-z0-9._:-]+$"
MAX_VALUE = 4000


class ActionRequest(BaseModel):
    """One thing the agent did in the call script. ``action_id`` is the console's own id for
    it: sending the same action again (an offline queue, a retry) applies it once."""

    action_id: str = Field(min_length=1, max_length=64, pattern=PRINTABLE_ID)
    kind: ActionKind
    field: str | None = Field(default=None, max_length=64)
    value: str | bool | None = Field(default=None, description="for set; max 4000 characters")
    values: dict[str, str | bool] | None = Field(default=None, description="for next")
    branch: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=20_000, description="for note")
    disposition: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, max_length=20_000)
    at: float | None = Field(default=None, description="when the agent did it (epoch seconds)")

    @field_validator("value")
    @classmethod
    def _short_value(cls, value: str | bool | None) -> str | bool | None:
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise ValueError(f"a field value holds at most {MAX_VALUE} characters")
        return value



class Effect(BaseModel):
    kind: Literal["complaint", "transfer", "emergency", "callback"]
    model_config = ConfigDict(extra="allow")


class ActionResult(BaseModel):
    session: dict[str, Any] = Field(description="the call-script session as the console shows it")
    effects: list[Effect] = []
    errors: dict[str, str] = Field(default={}, description="field name -> what is wrong")
    duplicate: bool = Field(default=False, description="this action_id was applied before")


class ConsoleCall(BaseModel):
    call: dict[str, Any]
    caller: dict[str, Any] = Field(
        description="number, name known from earlier calls, last_calls, open_complaints,"
        " pending_callbacks"
    )
    session: dict[str, Any] | None
    incidents: list[dict[str, Any]] = Field(
        default=[], description="line faults affecting the call now: {id, kind, location,"
        " level, status} (the console offers the line-fault procedure)"
    )


class ConsoleOverview(BaseModel):
    company: str
    sessions: list[dict[str, Any]]
    call_script_errors: list[str] = Field(
        default=[], description="call script files that were refused, file:line: problem"
    )


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
