"""What Asterisk sends when it carries out an Originate: the recorded callback, re-stamped.

The lab's Originate (``originate_callback``: Channel PJSIP/1001, Exten 2001, CallerID
"Callback 2001" <2001>, Variable CALLBACK_REASON=missed-call, ActionID callback-0001) rang
agent 1001, then dialled the customer. Here the same events answer any Originate: the agent
leg becomes the action's ``Channel`` endpoint with the action's ``ChannelId`` as Uniqueid
and Linkedid (a client finds its callback by it), the dialled customer is ``Exten``, the
OriginateResponse echoes the ``ActionID``, and the action's variables replace the recorded
one as ``VarSet`` events on the new channel, where Asterisk emits them.

``OriginateOutcome`` says how one Originate goes when it should not simply be answered: the
agent lets the phone ring out, or the customer's line fails with a given cause (see
``telephony.simulator.failures`` for what Asterisk 22 sends then).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from telephony.simulator.failures import (
    DEFAULT_RING_SECONDS,
    agent_not_answering,
    check_customer_cause,
    customer_leg_failing,
)
from telephony.simulator.messages import header
from telephony.simulator.templates import (
    CallTemplate,
    IdMint,
    PlayedEvent,
    StampedCall,
    check_endpoint,
)

# The Variable the lab's Originate carried: its VarSet marks where an action's variables go.
RECORDED_VARIABLES = frozenset({"CALLBACK_REASON"})
_CALLER_ID = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<number>[^>]*)>\s*$')


@dataclass(frozen=True, slots=True)
class OriginateOutcome:
    """How the PBX carries out one Originate.

    ``agent_answers`` False: the agent's phone rings for the action's Timeout and nobody
    picks up (OriginateResponse Failure, Reason 3; no customer leg). ``customer_cause`` N:
    the agent answers, the customer's line fails with Q.850 cause N (17 busy, 19 no answer,
    21 rejected, 34/38/41/42/44 network). Neither: the recorded answered callback.
    """

    agent_answers: bool = True
    customer_cause: int | None = None

    def __post_init__(self) -> None:
        if self.customer_cause is not None:
            check_customer_cause(self.customer_cause)


ANSWERED = OriginateOutcome()


def originated_call(
    template: CallTemplate,
    action: Mapping[str, str],
    mint: IdMint,
    epoch: float,
    outcome: OriginateOutcome = ANSWERED,
) -> StampedCall:
    """The events of the call ``action`` (an Originate's headers) places, going as
    ``outcome`` says.

    Raises ValueError when the action names no ``TECH/resource`` channel or no Exten: the
    simulator only plays calls that go to an agent's phone and then to a customer.
    """
    agent = header(action, "Channel")
    exten = header(action, "Exten")
    check_endpoint(agent)
    if not exten:
        raise ValueError("an Originate the simulator can play dials an Exten")
    if template.call_id is None:
        raise ValueError(f"{template.scenario} holds no call")
    channel_id = header(action, "ChannelId")
    overrides = {template.call_id: channel_id} if channel_id else {}
    call = template.stamp(
        customer=(exten, caller_name(header(action, "CallerID"), exten)),
        agents=[agent],
        mint=mint,
        epoch=epoch,
        overrides=overrides,
    )
    uniqueid = call.call_id or ""
    events = call.events
    if not outcome.agent_answers:
        events = agent_not_answering(
            events,
            agent=uniqueid,
            requested=agent,
            channel_id=channel_id or "<null>",  # what fast_originate says without one
            ring_seconds=ring_seconds(action),
        )
    elif outcome.customer_cause is not None:
        events = customer_leg_failing(events, agent=uniqueid, cause=outcome.customer_cause)
    events = _with_action_id(events, header(action, "ActionID"))
    events = _with_variables(events, uniqueid, variables(action))
    return StampedCall(call.scenario, call.call_id, call.customer, call.agents, events, call.epoch)


def ring_seconds(action: Mapping[str, str]) -> float:
    """How long the agent's phone rings before the Originate gives up: ``Timeout`` in ms,
    30 s when absent or unreadable (Asterisk's default)."""
    try:
        milliseconds = int(header(action, "Timeout"))
    except ValueError:
        return DEFAULT_RING_SECONDS
    return milliseconds / 1000 if milliseconds > 0 else DEFAULT_RING_SECONDS


def caller_name(caller_id: str, exten: str) -> str:
    """The name part of ``"Name" <number>``; without one, what the lab's callback showed."""
    found = _CALLER_ID.match(caller_id)
    if found and found.group("name").strip():
        return found.group("name").strip()
    return f"Callback {exten}"


def variables(action: Mapping[str, str]) -> list[tuple[str, str]]:
    """``Variable:`` headers as (name, value): repeated headers arrive joined by newlines, and
    Asterisk also splits each one on commas."""
    pairs: list[tuple[str, str]] = []
    for line in header(action, "Variable").split("\n"):
        for item in line.split(","):
            name, equals, value = item.strip().partition("=")
            if name and equals:
                pairs.append((name, value))
    return pairs


def _with_action_id(events: list[PlayedEvent], action_id: str) -> list[PlayedEvent]:
    """OriginateResponse carries the action's ActionID, and none when the action had none."""
    return [
        PlayedEvent(event.offset, _action_id_set(event.headers, action_id))
        if event.headers.get("Event") == "OriginateResponse"
        else event
        for event in events
    ]


def _action_id_set(headers: dict[str, str], action_id: str) -> dict[str, str]:
    """Where Asterisk puts it: right after Event and Privilege."""
    rest = {k: v for k, v in headers.items() if k not in ("Event", "Privilege", "ActionID")}
    head: dict[str, str] = {k: headers[k] for k in ("Event", "Privilege") if k in headers}
    return {**head, **({"ActionID": action_id} if action_id else {}), **rest}


def _with_variables(
    events: list[PlayedEvent], uniqueid: str, pairs: list[tuple[str, str]]
) -> list[PlayedEvent]:
    """The recorded originate variable's VarSet becomes one VarSet per action variable."""
    out: list[PlayedEvent] = []
    placed = False
    for event in events:
        headers = event.headers
        recorded = (
            headers.get("Event") == "VarSet"
            and headers.get("Uniqueid") == uniqueid
            and headers.get("Variable") in RECORDED_VARIABLES
        )
        if not recorded:
            out.append(event)
            continue
        if not placed:
            out += [
                PlayedEvent(event.offset, {**headers, "Variable": name, "Value": value})
                for name, value in pairs
            ]
            placed = True
    return out
