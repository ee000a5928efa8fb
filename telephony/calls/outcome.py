"""Outcome, ended_by, hangup_cause and drop_reason of a finished call, from its events alone.

Most real disconnects carry cause 16 whoever ended them, so the cause alone cannot tell a
network drop from a customer hanging up. What can: which leg asked to end first (a
HangupRequest from the far end, or the channel driver giving up: a SoftHangupRequest with
Cause 1 on a leg that then hangs up with 44), whether the customer's leg had been answered,
and the call phase. The rules, worked out on real captures, are in shared/ami/README.md; an
internal call's calling leg plays the customer's part. First rule that applies:

1. the ending leg's request came from the driver, or the cause is a fault: dropped (the
   customer leg was Up) or failed, by system;
2. answered: completed, by the side of the ending leg (system when there is none);
3. never answered and the queue gave up on the caller first: missed, by system;
4. the customer's leg ended it: abandoned; an outbound call the customer did not take (busy,
   declined): missed, by customer;
5. otherwise missed: by agent when the last Dial ended BUSY, else by system.
"""

from __future__ import annotations

from telephony.calls.causes import describe, is_fault
from telephony.calls.model import Call, Channel, Direction, EndedBy, Outcome, Verdict
from telephony.calls.views import direction


def classify(call: Call) -> Verdict:
    customer = call.reference_leg()
    if customer is None:
        return Verdict(Outcome.MISSED, EndedBy.UNKNOWN, None, None, None)
    ending = ending_leg(call, customer)
    cause = (ending or customer).hangup_cause
    by_driver = ending is not None and ending.request is not None and ending.request.by_driver
    if by_driver or is_fault(cause):
        outcome = Outcome.DROPPED if customer.was_up else Outcome.FAILED
        ended_by = EndedBy.SYSTEM
    elif call.answered:
        outcome = Outcome.COMPLETED
        ended_by = _side(ending, customer)
    else:
        outcome, ended_by = _unanswered(call, ending, customer)
    reason = _drop_reason(call, ending, customer, cause, by_driver)
    if call.ended_in_gap:
        ended_by = EndedBy.UNKNOWN
    return Verdict(outcome, ended_by, cause, reason, ending.uniqueid if ending else None)


def _unanswered(call: Call, ending: Channel | None, customer: Channel) -> tuple[Outcome, EndedBy]:
    """Rules 3 to 5: a call no agent answered, and no fault ended."""
    if customer.queue_gave_up:
        return Outcome.MISSED, EndedBy.SYSTEM
    if ending is customer:
        if direction(call) is Direction.OUTBOUND:
            return Outcome.MISSED, EndedBy.CUSTOMER  # busy or declined
        return Outcome.ABANDONED, EndedBy.CUSTOMER
    by_agent = call.last_dial_status == "BUSY"
    return Outcome.MISSED, EndedBy.AGENT if by_agent else EndedBy.SYSTEM


def ending_leg(call: Call, customer: Channel) -> Channel | None:
    """The leg whose request ended the call, or None when the PBX ended it on its own."""
    if customer.request is not None:
        return customer
    if not call.answered:
        return None
    peers = [
        call.channels[uniqueid] for uniqueid in call.customer_peers if uniqueid in call.channels
    ]
    requested = [leg for leg in peers if leg.request is not None]
    return min(requested, key=_request_order, default=None)


def _request_order(leg: Channel) -> int:
    return leg.request.seq if leg.request is not None else 0


def _side(ending: Channel | None, customer: Channel) -> EndedBy:
    if ending is None:
        return EndedBy.SYSTEM
    return EndedBy.CUSTOMER if ending is customer else EndedBy.AGENT


def _drop_reason(
    call: Call, ending: Channel | None, customer: Channel, cause: int | None, by_driver: bool
) -> str | None:
    if call.ended_in_gap:
        return "ended while the AMI link was down: how it ended was not seen"
    if by_driver and ending is not None:
        return (
            f"the channel driver hung up {ending.endpoint} (no media: RTP timeout), "
            f"cause {describe(cause)}"
        )
    if not is_fault(cause):
        return None
    if ending is None:
        return f"the PBX ended the call with cause {describe(cause)} on {customer.endpoint}"
    return f"network fault on {ending.endpoint}: cause {describe(cause)}"
