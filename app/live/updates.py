"""What the pipeline tells the desks: plain data, in the order things happened.

Desks learn about calls and lines only from these (never by reading the tracker or the line
watch), so a desk can be driven in a test by handing it updates, and what it knows is
exactly what it was told, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from telephony.calls.model import CallEnded, LiveCall
from telephony.calls.originate import OriginateAnswer
from telephony.lines.watch import FaultSignal, LineStatus


@dataclass(frozen=True, slots=True)
class CallSeen:
    """A call in progress changed (it rings, was answered, held, transferred, queued)."""

    live: LiveCall


@dataclass(frozen=True, slots=True)
class FaultSeen:
    """A line fault signal; ``received`` is when its AMI frame reached the service."""

    signal: FaultSignal
    received: float


@dataclass(frozen=True, slots=True)
class LinesChanged:
    """Endpoints whose line status changed (ContactStatus, PeerStatus, a contact listing)."""

    lines: tuple[LineStatus, ...]


@dataclass(frozen=True, slots=True)
class LiveCallsListed:
    """After a (re)login: the calls the PBX still has; every other call is over."""

    call_ids: frozenset[str]
    at: float


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The AMI link went down; what the desks know of calls may be stale until relisted."""

    at: float
    reason: str


Update = (
    CallSeen | CallEnded | FaultSeen | LinesChanged | LiveCallsListed | LinkLost | OriginateAnswer
)


class Desk(Protocol):
    """What the pipeline hands updates to: ``take`` never waits (the desk's own task works)."""

    def take(self, update: Update) -> None: ...
