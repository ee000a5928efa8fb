"""What people see of a call: its direction and customer while it lasts (LiveCall), the
record it leaves (CallRecord) and how each leg ended (LegEnd). Read-only over a Call."""

from __future__ import annotations

from typing import Literal

from telephony.calls.headers import number
from telephony.calls.model import (
    Call,
    CallRecord,
    Channel,
    Direction,
    LegEnd,
    LiveCall,
    Verdict,
)


def live_view(call: Call) -> LiveCall:
    """A call in progress as people see it."""
    return LiveCall(
        call_id=call.call_id,
        direction=direction(call),
        customer=customer(call),
        queue=call.queue,
        started_at=call.started_at,
        answered_at=call.answered_at,
        agents=tuple(call.agents),
        ringing=ringing(call),
        parties=tuple(dict.fromkeys([*call.rung, *call.agents])),
        on_hold=any(leg.on_hold for leg in call.channels.values()),
        transfers=call.transfers,
        recording=call.recording,
        dialled=dialled(call),
        trunk=trunk(call),
        tags=tuple(call.tags.items()),
        events_missed=call.events_missed,
    )


def build_record(call: Call, verdict: Verdict) -> CallRecord:
    started = call.started_at
    if started is None:
        created = [c.created_at for c in call.channels.values() if c.created_at is not None]
        started = min(created, default=None)
    ended, answered_at = call.ended_at, call.answered_at
    timed = call.times_known and started is not None and ended is not None
    ring = talk = hold = None
    if timed and started is not None and ended is not None:
        ring = _seconds(
            answered_at if call.answered and answered_at is not None else ended, started
        )
        talk = _seconds(ended, answered_at) if call.answered and answered_at is not None else None
        hold = round(sum(c.hold_seconds for c in call.channels.values()), 3)
    return CallRecord(
        call_id=call.call_id,
        direction=direction(call),
        customer=customer(call),
        agent=call.agents[0] if call.agents else None,
        agents=tuple(call.agents),
        queue=call.queue,
        started_at=started,
        answered_at=answered_at,
        ended_at=ended,
        ring_seconds=ring,
        talk_seconds=talk,
        hold_seconds=hold,
        hangup_cause=verdict.hangup_cause,
        ended_by=verdict.ended_by,
        outcome=verdict.outcome,
        drop_reason=verdict.drop_reason,
        transfers=call.transfers,
        recording=call.recording,
    )


def leg_end(call: Call, channel: Channel, verdict: Verdict) -> LegEnd:
    role: Literal["customer", "agent"] = (
        "customer" if channel.uniqueid == call.customer_leg else "agent"
    )
    reference = call.reference_leg()
    decisive_id = verdict.ending_leg or (reference.uniqueid if reference else None)
    return LegEnd(
        channel.endpoint,
        role,
        channel.hangup_cause,
        channel.driver_hangup,
        channel.uniqueid == decisive_id,
    )


def ringing(call: Call) -> tuple[str, ...]:
    """Agent endpoints being rung now: legs the PBX placed that have not answered or ended."""
    placed = (
        leg
        for leg in call.channels.values()
        if leg.uniqueid != call.customer_leg and (leg.dialled_by is not None or leg.originated)
    )
    return tuple(
        dict.fromkeys(
            leg.endpoint for leg in placed if not (leg.connected or leg.hung_up or leg.was_up)
        )
    )


def direction(call: Call) -> Direction:
    customer_leg = call.channels.get(call.customer_leg or "")
    if customer_leg is None:
        return Direction.INTERNAL
    started_it = customer_leg.uniqueid == call.origin or (
        call.origin is None and not customer_leg.dialled_by
    )
    return Direction.INBOUND if started_it else Direction.OUTBOUND


def customer(call: Call) -> str | None:
    """The customer's number: who called in, or whom the call dialled out to."""
    customer_leg = call.channels.get(call.customer_leg or "")
    if customer_leg is None:
        return None
    if direction(call) is Direction.INBOUND:
        return customer_leg.caller_num
    return dialled_number(customer_leg.dial_string)


def dialled_number(dial_string: str | None) -> str | None:
    """The user part of a DialString, whom it dials: after any ``/``, before any ``@``
    (``PJSIP/15551230108@carrier`` -> ``15551230108``)."""
    return number((dial_string or "").rpartition("/")[2].partition("@")[0])


def dialled(call: Call) -> str | None:
    customer_leg = call.channels.get(call.customer_leg or "")
    if customer_leg is None or direction(call) is not Direction.INBOUND:
        return None
    return customer_leg.exten


def trunk(call: Call) -> str | None:
    customer_leg = call.channels.get(call.customer_leg or "")
    return customer_leg.endpoint if customer_leg is not None and customer_leg.on_trunk else None


def _seconds(end: float, start: float | None) -> float | None:
    return None if start is None else round(end - start, 3)
