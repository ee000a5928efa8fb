"""Callback attempts the PBX may be carrying out, and how one is found again by its ChannelId.

An attempt's ChannelId is the Uniqueid of the channel its Originate creates, so after a link
cut or a restart the attempt is looked for by that id, never guessed at: among the calls the
login's channel list names, by its own end (a Hangup, as the call's end), or by asking the
PBX with ``Status`` (``look_for``). The desk (app/callbacks/desk.py) decides what follows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from app.callbacks import rules
from app.callbacks.store import Placed
from telephony.ami import actions
from telephony.ami.actions import ActionHeaders
from telephony.ami.errors import AmiError
from telephony.ami.replies import Reply

log = logging.getLogger("callassist.callbacks")
GONE = "not among the live channels after a link cut or a restart, and no end seen"


@dataclass(slots=True)
class Flight:
    """An attempt the PBX may be carrying out now."""

    callback_id: int
    agent: str
    sent_at: float
    unsure: bool = False  # a link cut or a restart hid it: not yet found again
    agent_answered: bool = False  # the PBX said the agent's phone answered (Reason 4)


class Found(Enum):
    LIVE = "live"  # the channel is there: its events, and its end, will come
    GONE = "gone"  # no such channel: it ended, and nobody saw how
    UNKNOWN = "unknown"  # the PBX did not say (link down, no answer, another error)


class Asks(Protocol):
    async def send(
        self, action: ActionHeaders, *, answer_within: float = 10.0, as_list: bool | None = None
    ) -> Reply: ...


async def look_for(link: Asks, channel_id: str) -> Found:
    """Ask the PBX for the channel with this Uniqueid. Asterisk's Status finds a channel by
    name or else by uniqueid (ast_channel_get_by_name, main/channel.c) and answers "No such
    channel" when there is none; a read-only action of the ``call`` class."""
    try:
        reply = await link.send({"Action": "Status", "Channel": channel_id}, answer_within=10.0)
    except AmiError as error:
        log.warning("callbacks: attempt %s not looked for (%s)", channel_id, error)
        return Found.UNKNOWN
    if reply.success:
        return Found.LIVE
    if "no such channel" in reply.message.lower():
        return Found.GONE
    log.warning("callbacks: Status for attempt %s refused: %s", channel_id, reply.message)
    return Found.UNKNOWN


@dataclass(slots=True)
class PassReads:
    """What one pass of the desk over the due callbacks read of the users: by queue, the
    agents to ring; by a callback's own agent, that phone if it is on the desk's PBX."""

    agents: dict[str | None, list[str]] = field(default_factory=dict)
    phones: dict[str | None, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DialPlan:
    """Where callbacks go on the PBX (settings)."""

    context: str = "callassist-callback"
    caller_id: str = '"Callback" <2000>'
    ring_seconds: float = 30.0


def originate_for(placed: Placed, plan: DialPlan) -> ActionHeaders:
    """The attempt's Originate: our own ChannelId, which is also its ActionID (so its
    OriginateResponse names the attempt), and the channel variables that tie the callback
    call to the callback and to the call it answers for."""
    action = actions.originate(
        channel=placed.agent,
        context=plan.context,
        exten=placed.customer,
        caller_id=plan.caller_id,
        channel_id=placed.channel_id,
        variables={
            rules.CALLBACK_TAG: str(placed.callback_id),
            rules.ATTEMPT_TAG: str(placed.attempt_id),
            rules.CALLBACK_FOR_TAG: placed.call_id or "",
            rules.CUSTOMER_TAG: placed.customer,
        },
        timeout_ms=int(plan.ring_seconds * 1000),
    )
    action["ActionID"] = placed.channel_id
    return action
