"""What the link's queue carries to its reader, in the order the PBX sent it: events, the
live channels re-read after every login, and notice that the link was lost."""

from __future__ import annotations

from dataclasses import dataclass

from telephony.ami.wire import AmiMessage


@dataclass(frozen=True, slots=True)
class LinkEvent:
    headers: AmiMessage
    at: float  # Asterisk's Timestamp header when sent, else arrival (epoch seconds)
    received: float = 0.0  # arrival, by the link's clock: where the screen-pop latency starts


@dataclass(frozen=True, slots=True)
class LiveChannels:
    """The PBX's live channels (CoreShowChannel events), taken after every (re)connect."""

    channels: tuple[AmiMessage, ...]
    at: float


@dataclass(frozen=True, slots=True)
class LinkLost:
    at: float
    reason: str


LinkItem = LinkEvent | LiveChannels | LinkLost
