"""What an operator sees of the AMI link: its status and its counters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LinkStatus(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    LOGGING_IN = "logging in"
    CONNECTED = "connected"
    CREDENTIALS_REJECTED = "credentials rejected"
    DOWN = "down"
    CLOSED = "closed"


@dataclass(slots=True)
class LinkState:
    """What an operator sees of the link (status page, IT board, metrics)."""

    status: LinkStatus = LinkStatus.IDLE
    banner: str | None = None
    connected_since: float | None = None
    down_since: float | None = None
    last_error: str | None = None
    messages_received: int = 0
    malformed_skipped: int = 0
    events_ignored: int = 0  # sent by a PBX that did not take our filters; skipped undecoded
    events_dropped: int = 0  # the queue was full; a resync followed
    reconnects: int = 0
    next_attempt_in: float | None = None
    filters_installed: bool = False
    pbx_started: str | None = None  # CoreStatus's CoreStartupDate and Time (PBX local)
    pbx_restarts: int = 0
