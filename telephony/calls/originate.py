"""The PBX's answer to an Originate, as plain data.

Asterisk reports the end of an async Originate with an OriginateResponse event: Response
Success or Failure, and a Reason (the dial result of the first channel: 4 answered, 3 no
answer, 5 busy, 8 congestion, 1/0 other). The event names the attempt by the ActionID the
Originate was sent with (and its Uniqueid, our ChannelId); it is parsed here once, so the
callback desk never reads AMI headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from telephony.calls.model import AmiHeaders

ANSWERED = 4  # Reason: the first channel (the agent's phone) answered


@dataclass(frozen=True, slots=True)
class OriginateAnswer:
    """An OriginateResponse: which attempt (``action_id``, ``uniqueid``) and how it went."""

    action_id: str
    uniqueid: str
    success: bool
    reason: int | None
    at: float | None

    @property
    def first_leg_answered(self) -> bool:
        return self.success and self.reason == ANSWERED


def originate_answer(event: AmiHeaders, at: float | None) -> OriginateAnswer | None:
    """The answer an OriginateResponse event carries; None for any other event."""
    if event.get("Event") != "OriginateResponse":
        return None
    return OriginateAnswer(
        action_id=event.get("ActionID", ""),
        uniqueid=event.get("Uniqueid", ""),
        success=event.get("Response", "").strip().lower() == "success",
        reason=_reason(event.get("Reason")),
        at=at,
    )


def _reason(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None  # bad input never raises out of the core
