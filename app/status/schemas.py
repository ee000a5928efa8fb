"""/api/status as the API shows it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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
    backlog: int = Field(description="call updates taken and not stored yet")
    last_error: str | None = Field(description="why storing fails now; null while it works")
    failing_since: float | None = None
    journal: str | None = Field(
        default=None, description="where call updates not stored at a stop wait for the next start"
    )
    set_aside: int = Field(
        default=0,
        description="call updates the database refused for good since the start, kept in"
        " <journal>.refused for an operator",
    )


class CallScriptsStatus(BaseModel):
    loaded: list[str] = Field(description="id.language of every call script in use")
    errors: list[str] = Field(description="refused files: file:line: problem")


class PbxCheckStatus(BaseModel):
    checked_at: float | None = Field(default=None, description="when the PBX last answered it")
    ok: bool = False
    problems: list[str] = Field(
        default=[], description='what the PBX lacks, or "not checked: <why>"'
    )


class PbxOwnerStatus(BaseModel):
    """Which instance owns a PBX (issue 16): the owner runs its AMI link, pipeline, record
    writer and desks; the others serve pages and the API from the database, standing by."""

    pbx: str = Field(description="the PBX's name (CALLASSIST_PBXES; one PBX: default)")
    pbx_owner: bool = Field(description="whether this instance owns the PBX now")
    owner: str | None = Field(
        description="the owner's instance name (this one's or another's); null: nobody holds"
        " the PBX's lock now"
    )
    instance: str = Field(description="this instance's name (CALLASSIST_INSTANCE_NAME)")
    owner_since: float | None = Field(default=None, description="when this instance's term began")
    locked: bool = Field(
        description="whether a PostgreSQL lock decides the owner; false: SQLite or no PBX, this"
        " instance owns it from its start to its stop"
    )
    terms: int = Field(default=0, description="terms of ownership begun since the start")
    losses: int = Field(default=0, description="terms ended by a lost lock connection")
    ami: LinkStatus | None = Field(default=None, description="its AMI link, as its owner sees it")
    check: PbxCheckStatus | None = Field(default=None, description="its PBX check")
    live_calls: int = Field(default=0, description="its calls in progress")


class RelayStatus(BaseModel):
    """Live messages between instances through Redis (CALLASSIST_REDIS_URL)."""

    configured: bool = Field(description="false: one instance, no Redis; the rest is empty")
    connected: bool = Field(description="whether Redis is reached now")
    since: float | None = Field(default=None, description="connected, or failing, since")
    last_error: str | None = Field(default=None, description="why Redis is not reached")
    published: int = Field(default=0, description="live messages sent to the other instances")
    received: int = Field(default=0, description="live messages from the other instances")
    dropped: int = Field(default=0, description="live messages not sent: Redis was down")


class ServiceStatus(BaseModel):
    version: str
    uptime_seconds: float
    demo: bool
    ami: LinkStatus = Field(description="the first PBX's AMI link (every PBX's: pbxes)")
    pbx: PbxCheckStatus = Field(
        default_factory=PbxCheckStatus,
        description="the AMI permissions and dialplan the service relies on, after each login"
        " (the first PBX's; every PBX's: pbxes)",
    )
    database: DatabaseStatus
    websocket_clients: int
    live_calls: int = Field(description="calls in progress on every PBX")
    call_scripts: CallScriptsStatus
    pbxes: list[PbxOwnerStatus] = Field(
        default=[], description="each PBX: its owner, AMI link, check and calls in progress"
    )
    redis: RelayStatus = Field(
        default_factory=lambda: RelayStatus(configured=False, connected=False),
        description="live messages between instances",
    )


# -- the agent console -----------------------------------------------------------------------

ActionKind = Literal["set", "next", "back", "branch", "refer", "note", "hangup", "wrap_up"]
PRINTABLE_ID = r"^[A-Za-z0-9._:-]+$"
MAX_VALUE = 4000
