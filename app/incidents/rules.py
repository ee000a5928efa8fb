"""Incidents from line-fault signals, and how an incident may move: pure rules, no I/O.

The centre's emergency procedure, as rules: confirm the event type and its response level,
report first, handle, report progress, review. Here a fault signal (telephony/lines/watch.py)
becomes a decision: open an incident of a kind at a level, join the one already open at that
location (one fault, one incident, however many signals it sends), or mark it recovered.
People move incidents along a table of moves; levels I and II remind when nobody acted.
The line probe's own endpoint opens nothing. Time comes in as arguments; the service stores
and publishes what these functions decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from telephony.calls.trunks import TrunkPlan
from telephony.lines.watch import (
    DROP_CLUSTER,
    POOR_MEDIA,
    RECOVERED,
    REGISTRATION_FAILED,
    REGISTRATION_REJECTED,
    UNREACHABLE,
    UNREGISTERED,
    FaultSignal,
)

TRUNK_DOWN = "trunk_down"
REGISTRATION_FAILED_KIND = "registration_failed"
DROP_CLUSTER_KIND = "drop_cluster"
POOR_MEDIA_KIND = "poor_media"
PROBE_FAILED = "probe_failed"
DEVICE_FAULT = "device_fault"
KINDS = (
    TRUNK_DOWN,
    REGISTRATION_FAILED_KIND,
    DROP_CLUSTER_KIND,
    POOR_MEDIA_KIND,
    PROBE_FAILED,
    DEVICE_FAULT,
)
LEVELS = ("I", "II", "III", "IV")  # I is the most urgent
# The shipped rules (settings.incident_levels); a kind the operator's rules leave out gets
# its level from here.
DEFAULT_LEVELS: Mapping[str, str] = {
    TRUNK_DOWN: "I",
    REGISTRATION_FAILED_KIND: "I",
    DROP_CLUSTER_KIND: "II",
    PROBE_FAILED: "II",
    POOR_MEDIA_KIND: "III",
    DEVICE_FAULT: "IV",
}
REMINDED_LEVELS = ("I", "II")

OPEN, ACKNOWLEDGED, RESOLVED, REVIEWED = "open", "acknowledged", "resolved", "reviewed"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED, REVIEWED)
ACTIVE = (OPEN, ACKNOWLEDGED)  # not yet resolved: signals join it, reminders run
# The workflow as a table: what a person may do to an incident in each status. Progress
# notes come from the owner, so an incident is acknowledged (owned) before them; a fault that
# cleared by itself may be resolved straight away.
MOVES: Mapping[str, tuple[str, ...]] = {
    OPEN: ("acknowledge", "resolve"),
    ACKNOWLEDGED: ("progress", "resolve"),
    RESOLVED: ("review",),
    REVIEWED: (),
}
AFTER_MOVE: Mapping[str, str] = {
    "acknowledge": ACKNOWLEDGED,
    "progress": ACKNOWLEDGED,
    "resolve": RESOLVED,
    "review": REVIEWED,
}
_DIRECT_KINDS = {
    REGISTRATION_REJECTED: REGISTRATION_FAILED_KIND,
    REGISTRATION_FAILED: REGISTRATION_FAILED_KIND,
    DROP_CLUSTER: DROP_CLUSTER_KIND,
    POOR_MEDIA: POOR_MEDIA_KIND,
    PROBE_FAILED: PROBE_FAILED,
}


@dataclass(frozen=True, slots=True)
class ActiveIncident:
    """The open or acknowledged incident at a signal's location, as the rules need it."""

    id: int
    kind: str
    level: str
    recovered: bool  # its signal cleared and has not come back


@dataclass(frozen=True, slots=True)
class OpenIncident:
    kind: str
    location: str
    level: str
    summary: str
    detail: dict[str, object]
    at: float | None


@dataclass(frozen=True, slots=True)
class Heading:
    """What an incident says it is: its kind, its level and the sentence the IT board shows."""

    kind: str
    level: str
    summary: str


@dataclass(frozen=True, slots=True)
class JoinIncident:
    """Another signal of a known fault: counted, put on the timeline, never a new incident.

    ``heading`` is what the incident says from now on, when the signal changes it: a more
    urgent kind (``escalated``: a trunk that had poor media is now down), the fault back
    after it recovered (``relapsed``: the incident says what is wrong now, not what was), or
    the latest word of the same kind (unreachable, then unregistered).
    """

    incident_id: int
    at: float | None
    detail: dict[str, object]
    heading: Heading | None = None
    escalated: bool = False
    relapsed: bool = False


@dataclass(frozen=True, slots=True)
class MarkRecovered:
    incident_id: int
    at: float | None


Decision = OpenIncident | JoinIncident | MarkRecovered


class IllegalMove(Exception):
    """A move the workflow does not have from this status; ``allowed`` names those it has."""

    def __init__(self, status: str, move: str) -> None:
        self.allowed = MOVES.get(status, ())
        if self.allowed:
            reason = f"a {status} incident allows only: {', '.join(self.allowed)}"
        else:
            reason = f"a {status} incident is final"
        super().__init__(f"cannot {move}: {reason}")


class Standing(Protocol):
    """What the reminder rule reads of an incident (the stored row fits)."""

    @property
    def level(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def opened_at(self) -> float: ...
    @property
    def acknowledged_at(self) -> float | None: ...
    @property
    def last_progress_at(self) -> float | None: ...
    @property
    def reminded_at(self) -> float | None: ...


def level_of(kind: str, levels: Mapping[str, str]) -> str:
    level = levels.get(kind) or DEFAULT_LEVELS.get(kind, "III")
    return level if level in LEVELS else DEFAULT_LEVELS.get(kind, "III")


def more_urgent(level: str, than: str) -> bool:
    return _rank(level) < _rank(than)


def incident_kind(signal: FaultSignal, trunks: TrunkPlan) -> str | None:
    """The kind of incident a signal opens, or None when it opens nothing on its own (one
    call's media timeout or fault cause: evidence that joins a location already in trouble).

    Reachability is about where it happens: a trunk that stops answering cuts every customer
    on it (trunk_down); an agent's phone only that agent (device_fault).
    """
    if signal.fault in (UNREACHABLE, UNREGISTERED):
        return TRUNK_DOWN if trunks.is_trunk(signal.location) else DEVICE_FAULT
    return _DIRECT_KINDS.get(signal.fault)


def decide(
    signal: FaultSignal,
    *,
    trunks: TrunkPlan,
    levels: Mapping[str, str],
    active: ActiveIncident | None,
) -> Decision | None:
    """What one signal does, given the active incident at its location (if any).

    Nothing at the line probe's own endpoint: its contact lapses after every line check
    (unreachable, unregistered) and that says nothing about any line; whether the lines work
    is what the check itself reports (probe_failed at ``probe:<extension>``).
    """
    if trunks.is_probe(signal.location):
        return None
    if signal.fault == RECOVERED:
        if active is None or active.recovered:
            return None
        return MarkRecovered(active.id, signal.at)
    detail: dict[str, object] = {"fault": signal.fault, "detail": signal.detail}
    kind = incident_kind(signal, trunks)
    if active is not None:
        return _join(active, signal, kind, levels, detail)
    if kind is None:
        return None
    return OpenIncident(
        kind, signal.location, level_of(kind, levels), summarize(kind, signal), detail, signal.at
    )


def _join(
    active: ActiveIncident,
    signal: FaultSignal,
    kind: str | None,
    levels: Mapping[str, str],
    detail: dict[str, object],
) -> JoinIncident:
    """A signal at a location with an active incident. Evidence (one call's media timeout)
    only counts; a fault of its own is news when it is more urgent, of the same kind, or the
    fault is back after a recovery: then the incident takes its kind, level and summary. A
    less urgent fault while the first one lasts (drops on a trunk that is down) leaves the
    incident saying the worse thing, which is still true."""
    if kind is None:
        return JoinIncident(active.id, signal.at, detail)
    level = level_of(kind, levels)
    escalated = more_urgent(level, active.level)
    heading = None
    if escalated or active.recovered or kind == active.kind:
        heading = Heading(kind, level, summarize(kind, signal))
    return JoinIncident(active.id, signal.at, detail, heading, escalated, active.recovered)


def summarize(kind: str, signal: FaultSignal) -> str:
    """What was detected, in a sentence for the IT board."""
    where = signal.location
    said = f": {signal.detail}" if signal.detail not in (None, "") else ""
    if kind == TRUNK_DOWN:
        return f"Trunk {where} is {signal.fault}"
    if kind == DEVICE_FAULT:
        return f"Agent phone {where} is {signal.fault}: check the phone and its connection"
    if kind == REGISTRATION_FAILED_KIND:
        verb = "rejected" if signal.fault == REGISTRATION_REJECTED else "failed"
        return f"Registration {where} {verb}{said}"
    if kind == DROP_CLUSTER_KIND:  # the watch says how many in what window: 3 drops in 10 minutes
        return f"{signal.detail or 'Dropped calls'} on {where}"
    if kind == POOR_MEDIA_KIND:
        return f"Poor media on {where}{said}"
    if kind == PROBE_FAILED:
        return f"Line probe {where} failed{said}"
    return f"{signal.fault} on {where}{said}"


def next_status(status: str, move: str) -> str:
    """The status after a move; raises IllegalMove when the workflow has no such move."""
    if move not in MOVES.get(status, ()):
        raise IllegalMove(status, move)
    return AFTER_MOVE[move]


def allowed_moves(status: str) -> tuple[str, ...]:
    return MOVES.get(status, ())


def reminder_due(incident: Standing, now: float, period: float) -> bool:
    """Levels I and II owe a sign of life: acknowledged or a progress note within the period."""
    if incident.level not in REMINDED_LEVELS or incident.status not in ACTIVE:
        return False
    acted = [incident.opened_at, incident.acknowledged_at, incident.last_progress_at]
    return now - max(t for t in acted if t is not None) >= period


def should_remind(incident: Standing, now: float, period: float) -> bool:
    """Due, and not reminded within the period: one reminder per period, not per check."""
    reminded = incident.reminded_at
    return reminder_due(incident, now, period) and (reminded is None or now - reminded >= period)


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)
