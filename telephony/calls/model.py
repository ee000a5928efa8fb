"""What the tracker knows about calls, and the updates it reports.

A channel is one Asterisk channel (its Uniqueid); a call is every channel sharing a Linkedid,
as the customer lives it. Updates are past tense: they say what happened, never what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Literal

AmiHeaders = Mapping[str, str]


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Outcome(StrEnum):
    COMPLETED = "completed"  # answered, ended by a person
    ABANDONED = "abandoned"  # the customer gave up before an agent answered
    MISSED = "missed"  # the centre never answered
    DROPPED = "dropped"  # cut by the network, the media path or the PBX
    FAILED = "failed"  # could not be set up at all


class EndedBy(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class HangupRequest:
    """The first request to end a channel: the far end (BYE, CANCEL, decline) or the driver."""

    by_driver: bool
    seq: int  # position in the event stream, to order requests when times tie or are unknown
    at: float | None


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    endpoint: str
    on_trunk: bool
    created_at: float | None = None
    caller_num: str | None = None
    exten: str | None = None  # where the channel entered the dialplan: an inbound leg's DID
    originated: bool = False  # placed by an AMI Originate (its DialBegin had no caller)
    dialled_by: str | None = None  # Uniqueid of the channel whose Dial created this one
    dial_string: str | None = None
    was_up: bool = False
    bridge: str | None = None
    last_bridge: str | None = None
    connected: bool = False  # has been in one bridge with the customer
    request: HangupRequest | None = None
    # A SoftHangupRequest with Cause 1, which is the driver giving up only if the leg then
    # hangs up with cause 44 (Asterisk also sends it to a leg an attended transfer replaces).
    driver_request: HangupRequest | None = None
    driver_hangup: bool = False  # the channel driver gave up on it (no RTP): Cause 1, then 44
    queue_gave_up: bool = False  # its queue gave up on it (QUEUESTATUS TIMEOUT and the like)
    hangup_cause: int | None = None
    hung_up: bool = False
    hung_up_at: float | None = None
    lost: bool = False  # vanished while the AMI link was down; no Hangup was seen
    hold_since: float | None = None
    on_hold: bool = False
    hold_seconds: float = 0.0


@dataclass(slots=True)
class Call:
    call_id: str
    channels: dict[str, Channel] = field(default_factory=dict)
    origin: str | None = None  # Uniqueid of the channel that started the call
    customer_leg: str | None = None
    started_at: float | None = None
    answered: bool = False
    answered_at: float | None = None
    ended_at: float | None = None
    agents: list[str] = field(default_factory=list)
    rung: list[str] = field(default_factory=list)  # agent endpoints the call rang at, in order
    queue: str | None = None
    transfers: int = 0
    recording: str | None = None
    last_dial_status: str | None = None
    customer_peers: list[str] = field(default_factory=list)  # legs bridged with the customer
    # in its current (or last) bridge, in the order they joined it
    aliases: list[str] = field(default_factory=list)  # merged calls' Linkedids
    # calls of their own until they merged into this one (an attended transfer's
    # consultation): they end with it
    merged: list[str] = field(default_factory=list)
    # CALLASSIST_* channel variables set on any of its legs: what links a callback to the
    # call it answers for.
    tags: dict[str, str] = field(default_factory=dict)
    times_known: bool = True  # every event of the call came with a time
    ended_in_gap: bool = False  # ended while the AMI link was down
    # Began or went on while nobody listened (a restart, an outage) and was taken up again
    # from the PBX's channel list: some of its events were never seen.
    events_missed: bool = False

    def reference_leg(self) -> Channel | None:
        """The customer's leg; for an internal call, the leg that started it."""
        uniqueid = self.customer_leg or self.origin or next(iter(self.channels), None)
        return self.channels.get(uniqueid) if uniqueid else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """How and why a call ended, from its events alone."""

    outcome: Outcome
    ended_by: EndedBy
    hangup_cause: int | None
    drop_reason: str | None
    ending_leg: str | None  # Uniqueid of the leg that ended it; None when the PBX did


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A finished call, with exactly the fields of the replay contract (DESIGN.md)."""

    call_id: str
    direction: Direction
    customer: str | None
    agent: str | None
    agents: tuple[str, ...]
    queue: str | None
    started_at: float | None
    answered_at: float | None
    ended_at: float | None
    ring_seconds: float | None
    talk_seconds: float | None
    hold_seconds: float | None
    hangup_cause: int | None
    ended_by: EndedBy
    outcome: Outcome
    drop_reason: str | None
    transfers: int
    recording: str | None

    def contract(self) -> dict[str, object]:
        """The record as the JSON object ``callassist replay --json`` prints."""
        fields = asdict(self)
        fields["agents"] = list(self.agents)
        fields["direction"] = str(self.direction)
        fields["ended_by"] = str(self.ended_by)
        fields["outcome"] = str(self.outcome)
        return fields


@dataclass(frozen=True, slots=True)
class KnownCall:
    """What was known of a call in progress before a restart (the stored record), to be
    merged with what the PBX lists when the call is taken up again: facts seen before are
    kept, never replaced by the PBX's coarser picture or by nothing."""

    call_id: str
    started_at: float | None
    answered_at: float | None
    agents: tuple[str, ...]  # connected with the customer, in order
    rung: tuple[str, ...]  # every agent endpoint it rang at
    queue: str | None
    transfers: int
    recording: str | None
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call in progress as people see it: who is calling, who it rings at, who talks."""

    call_id: str
    direction: Direction
    customer: str | None
    queue: str | None
    started_at: float | None
    answered_at: float | None
    agents: tuple[str, ...]  # connected with the customer, in order
    ringing: tuple[str, ...]  # agent endpoints ringing now
    parties: tuple[str, ...]  # every agent endpoint it rang at or reached: who may see it
    on_hold: bool
    transfers: int
    recording: str | None
    dialled: str | None = None  # the number an inbound customer dialled, to pick a call script
    trunk: str | None = None  # the customer leg's endpoint when it is a trunk
    tags: tuple[tuple[str, str], ...] = ()  # the call's CALLASSIST_* channel variables
    events_missed: bool = False  # taken up again after a restart or an outage


@dataclass(frozen=True, slots=True)
class LegEnd:
    """How one leg of a finished call ended: what the line watch needs to spot faults."""

    endpoint: str
    role: Literal["customer", "agent"]
    hangup_cause: int | None
    driver_hangup: bool  # the driver gave up on it (no media): SoftHangupRequest 1, Hangup 44
    decisive: bool  # its cause is the call's hangup_cause


@dataclass(frozen=True, slots=True)
class CallRinging:
    call_id: str
    at: float | None
    agent: str
    channel: str
    customer: str | None
    queue: str | None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    call_id: str
    at: float | None
    agent: str
    customer: str | None
    queue: str | None
    first: bool  # False when a further agent joins, after a transfer for one


@dataclass(frozen=True, slots=True)
class CallHeld:
    call_id: str
    at: float | None
    endpoint: str


@dataclass(frozen=True, slots=True)
class CallUnheld:
    call_id: str
    at: float | None
    endpoint: str


@dataclass(frozen=True, slots=True)
class CallTransferred:
    call_id: str
    at: float | None
    kind: Literal["blind", "attended"]
    target: str | None


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    at: float | None
    record: CallRecord
    legs: tuple[LegEnd, ...]
    ended_in_gap: bool
    tags: tuple[tuple[str, str], ...] = ()  # the call's CALLASSIST_* channel variables
    # Calls that were calls of their own until they merged into this one (an attended
    # transfer's consultation call): whoever was told of them is told here that they ended.
    merged: tuple[str, ...] = ()
    events_missed: bool = False  # taken up again after a restart or an outage (Call)

    @property
    def trunk(self) -> str | None:
        """The customer leg's endpoint: where a drop rate is counted."""
        return next((leg.endpoint for leg in self.legs if leg.role == "customer"), None)


CallUpdate = CallRinging | CallAnswered | CallHeld | CallUnheld | CallTransferred | CallEnded
