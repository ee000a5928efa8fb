"""A recorded call played in steps, so that it stays up while a person (or a test) works.

Traffic plays a call from its first event to its last; an agent console test needs the
phone to ring and stay ringing, the call to stay answered while fields are filled, and to
end when the test says so. ``StagedCall`` plays the same recorded events, re-stamped for
the chosen customer and agent exactly as traffic does, in phases cut at event boundaries
found by name (never by line number):

- ``ring``: from the first event up to the agent's channel going ``Up``: the customer's
  channel, the Dial (DialBegin, or AgentCalled in a queue) and the agent's phone ringing;
- ``answer``: from the agent's ``Newstate Up`` to the ``BridgeEnter`` that puts the
  agent's bridge at two channels: agent and customer talking;
- ``transfer`` (only for a capture with a ``BlindTransfer``): from there to the
  ``BridgeEnter`` that puts the transfer target's bridge at two channels;
- ``hang_up``: the rest, the recorded hang-up and everything after it.

Inside a phase the recorded gaps are kept (scaled by the traffic's ``speed``), counted from
the phase's lead event: its first event, or for ``transfer`` the ``BlindTransfer`` and for
``hang_up`` the first hang-up event. What lies before the lead happened while the call was
held (talk-time RTCP reports, the transferring agent's hold) and goes out at once. Times are
those of now: the server stamps each event as it sends it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.calls.trunks import endpoint_of
from telephony.simulator.templates import (
    CallTemplate,
    IdMint,
    Party,
    PlayedEvent,
    TemplateEvent,
    agent_name,
    check_endpoint,
)

if TYPE_CHECKING:
    from telephony.simulator.roster import AgentRoster
    from telephony.simulator.server import AmiServer

MUSIC_CLASS = "default"
RING = "ring"
ANSWER = "answer"
TRANSFER = "transfer"
HANG_UP = "hang_up"
_HANGUP_EVENTS = frozenset({"HangupRequest", "SoftHangupRequest", "BridgeLeave", "Hangup"})
# Who the transfer goes to is only known when transfer_to() is called; the call is stamped
# at ring() with this stand-in, which no recorded event can contain, and it is replaced in
# what is still to be played. It must not appear before the transfer phase (checked).
_TARGET_RESOURCE = "staged-transfer-target"
_TARGET = f"PJSIP/{_TARGET_RESOURCE}"

_Predicate = Callable[[TemplateEvent], bool]


class StagedCallError(RuntimeError):
    """A phase asked for out of order, or a scenario that cannot be staged."""


class _NotFound(StagedCallError):
    """A boundary a staged call needs is not in the recording."""


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    start: int  # index of the phase's first event
    lead: int  # index of the event its pacing counts from
    end: int  # index after its last event


def plan_phases(template: CallTemplate) -> tuple[Phase, ...]:
    """Cut a recorded call into phases; StagedCallError if its agent never answers."""
    try:
        return _phases(template)
    except _NotFound as missing:
        raise _unstageable(template, str(missing)) from None


def _phases(template: CallTemplate) -> tuple[Phase, ...]:
    events = template.events
    if not template.agents or len(template.agents) > 2:
        raise _unstageable(template, "it needs one agent, or two for a blind transfer")
    agent = template.agents[0]
    up = _agent_up(events, 0, agent)
    if _first(events, 0, up, lambda e: _dials(e, agent)) is None:
        raise _unstageable(template, "the first agent is not dialled before answering")
    talking = _bridged(events, up, agent) + 1
    phases = [Phase(RING, 0, 0, up), Phase(ANSWER, up, up, talking)]
    if len(template.agents) == 2:
        phases.append(_transfer_phase(template, talking))
    rest = phases[-1].end
    lead = _first(events, rest, len(events), lambda e: e.name in _HANGUP_EVENTS)
    phases.append(Phase(HANG_UP, rest, rest if lead is None else lead, len(events)))
    return tuple(phases)


def _transfer_phase(template: CallTemplate, start: int) -> Phase:
    events = template.events
    blind = _first(events, start, len(events), lambda e: e.name == "BlindTransfer")
    if blind is None:
        raise _unstageable(template, "its second agent is not reached by a blind transfer")
    target = template.agents[1]
    up = _agent_up(events, blind, target)
    return Phase(TRANSFER, start, blind, _bridged(events, up, target) + 1)


def _agent_up(events: Sequence[TemplateEvent], start: int, agent: str) -> int:
    found = _first(
        events,
        start,
        len(events),
        lambda e: e.name == "Newstate"
        and e.get("ChannelStateDesc") == "Up"
        and endpoint_of(e.get("Channel")) == agent,
    )
    if found is None:
        raise _NotFound(f"{agent} never answers in it")
    return found


def _bridged(events: Sequence[TemplateEvent], start: int, agent: str) -> int:
    """The BridgeEnter that puts the agent's bridge at two channels (both parties in)."""
    entered = _first(
        events,
        start,
        len(events),
        lambda e: e.name == "BridgeEnter" and endpoint_of(e.get("Channel")) == agent,
    )
    if entered is None:
        raise _NotFound(f"{agent} never enters a bridge in it")
    bridge = events[entered].get("BridgeUniqueid")
    both = _first(
        events,
        start,
        len(events),
        lambda e: e.name == "BridgeEnter"
        and e.get("BridgeUniqueid") == bridge
        and _channels_in(e) >= 2,
    )
    if both is None:
        raise _NotFound(f"nobody joins {agent} in its bridge")
    return both


def _channels_in(event: TemplateEvent) -> int:
    count = event.get("BridgeNumChannels")
    return int(count) if count.isdigit() else 0


def _dials(event: TemplateEvent, agent: str) -> bool:
    if event.name == "DialBegin":
        return endpoint_of(event.get("DestChannel")) == agent
    return event.name == "AgentCalled" and event.get("Interface") == agent


def _first(
    events: Sequence[TemplateEvent], start: int, stop: int, wanted: _Predicate
) -> int | None:
    return next((i for i in range(start, stop) if wanted(events[i])), None)


def _unstageable(template: CallTemplate, why: str) -> StagedCallError:
    return StagedCallError(f"{template.scenario} cannot be staged: {why}")


class StagedCall:
    """One recorded call, played phase by phase on demand (see the module docstring).

    Made by ``Traffic.stage``. The agent is marked busy in the traffic's roster from
    ``ring()`` to the end, so random traffic never rings them meanwhile. A phase cut short
    (its caller cancelled) leaves the call broken: no further phase can be played.
    """

    def __init__(
        self,
        server: AmiServer,
        roster: AgentRoster,
        template: CallTemplate,
        *,
        agent: str,
        customer: Party,
        mint: IdMint,
        speed: float,
    ) -> None:
        check_endpoint(agent)
        self.phases = plan_phases(template)
        self.scenario = template.scenario
        self.agent = agent
        self.customer = customer
        self.call_id: str | None = None  # the Linkedid, once ring() has started the call
        self.state = "staged"  # then ringing, answered, transferred, ended (or broken)
        self._server = server
        self._roster = roster
        self._template = template
        self._mint = mint
        self._speed = speed
        self._events: list[PlayedEvent] = []
        self._agents: list[str] = []  # claimed in the roster now
        self._done = 0  # phases played
        self._playing = False

    @property
    def can_transfer(self) -> bool:
        return any(phase.name == TRANSFER for phase in self.phases)

    @property
    def next_phase(self) -> str | None:
        return self.phases[self._done].name if self._done < len(self.phases) else None

    async def ring(self) -> None:
        """The call arrives and the agent's phone rings."""
        self._check(RING)
        stand_in = [_TARGET] if self.can_transfer else []
        stamped = self._template.stamp(
            customer=self.customer,
            agents=[self.agent, *stand_in],
            mint=self._mint,
            epoch=time.time(),
        )
        self._check_stand_in_unseen(stamped.events)
        self._events = stamped.events
        self.call_id = stamped.call_id
        self._claim([self.agent])
        await self._play(RING, "ringing")

    async def answer(self) -> None:
        """The agent picks up: agent and customer are bridged, talking."""
        self._check(ANSWER)
        await self._play(ANSWER, "answered")

    async def transfer_to(self, other_agent: str) -> None:
        """The agent blind-transfers the customer to ``other_agent``, who answers."""
        if not self.can_transfer:
            raise StagedCallError(f"{self.scenario} holds no blind transfer to stage")
        check_endpoint(other_agent)
        if other_agent == self.agent:
            raise StagedCallError(f"{other_agent} cannot take a transfer from themselves")
        self._check(TRANSFER)
        self._retarget(other_agent)
        self._claim([other_agent])
        await self._play(TRANSFER, "transferred")
        self._release([self.agent])

    async def hold(self) -> None:
        """The talking agent puts the customer on hold, as Asterisk reports it (Hold on the
        agent's channel, as in transfer_and_hold.ami); ``unhold()`` takes them off."""
        await self._emit_hold("Hold", MUSIC_CLASS)

    async def unhold(self) -> None:
        await self._emit_hold("Unhold", None)

    async def _emit_hold(self, event_name: str, music_class: str | None) -> None:
        if self.state not in {"answered", "transferred"} or self._playing:
            raise StagedCallError(f"{event_name.lower()}: the call is {self.state}, not talking")
        channel = self._talking_channel()
        headers = {
            "Event": event_name,
            "Privilege": "call,all",
            "Channel": channel["Channel"],
            "ChannelState": "6",
            "ChannelStateDesc": "Up",
            "Uniqueid": channel["Uniqueid"],
            "Linkedid": channel["Linkedid"],
        }
        if music_class is not None:
            headers["MusicClass"] = music_class
        await self._server.emit(headers)

    def _talking_channel(self) -> dict[str, str]:
        """The channel of the agent now on the call: the latest one that went Up."""
        agent = self._agents[-1] if self._agents else self.agent
        played = self._events[: self.phases[self._done - 1].end]
        for event in reversed(played):
            headers = event.headers
            if (
                headers.get("Event") == "Newstate"
                and headers.get("ChannelState") == "6"
                and headers.get("Channel", "").startswith(f"{agent}-")
            ):
                return headers
        raise StagedCallError(f"no channel of {agent} is up on this call")

    async def hang_up(self) -> None:
        """The recorded hang-up and everything after it; the call ends."""
        self._check(HANG_UP)
        try:
            await self._play(HANG_UP, "ended")
        finally:
            self._release(list(self._agents))

    def _check(self, phase: str) -> None:
        if self._playing:
            raise StagedCallError(f"{phase}() while another phase of the call is playing")
        if self.state == "broken":
            raise StagedCallError(f"{phase}(): the call was cut short in an earlier phase")
        expected = self.next_phase
        if expected != phase:
            after = f"{expected}() comes next" if expected else "the call has ended"
            raise StagedCallError(f"{phase}() cannot come now: the call is {self.state}; {after}")

    async def _play(self, name: str, state: str) -> None:
        phase = self.phases[self._done]
        self._playing = True
        try:
            await self._send(phase)
        except BaseException:
            self.state = "broken"
            self._release(list(self._agents))
            raise
        finally:
            self._playing = False
        self._done += 1
        self.state = state

    async def _send(self, phase: Phase) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        lead_offset = self._events[phase.lead].offset if phase.lead < phase.end else 0.0
        for index in range(phase.start, phase.end):
            event = self._events[index]
            if self._speed and index >= phase.lead:
                delay = began + (event.offset - lead_offset) / self._speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self._server.emit(event.headers)

    def _check_stand_in_unseen(self, events: Sequence[PlayedEvent]) -> None:
        """The transfer target is not known before transfer_to(); it must not show earlier."""
        transfer = next((p for p in self.phases if p.name == TRANSFER), None)
        if transfer is None:
            return
        for event in events[: transfer.start]:
            if any(_TARGET_RESOURCE in value for value in event.headers.values()):
                raise _unstageable(self._template, "the transfer target shows before it")

    def _retarget(self, other_agent: str) -> None:
        """Put the transfer target in place of the stand-in, in what is still to play."""
        start = self.phases[self._done].start
        names = (
            (agent_name(_TARGET), agent_name(other_agent)),
            (_TARGET, other_agent),
            (_TARGET_RESOURCE, other_agent.partition("/")[2]),
        )
        for index in range(start, len(self._events)):
            event = self._events[index]
            headers = {key: _replaced(value, names) for key, value in event.headers.items()}
            self._events[index] = PlayedEvent(event.offset, headers)

    def _claim(self, agents: list[str]) -> None:
        self._roster.claim(agents)
        self._agents.extend(agents)

    def _release(self, agents: list[str]) -> None:
        for agent in agents:
            if agent in self._agents:
                self._agents.remove(agent)
                self._roster.release([agent])


def _replaced(value: str, names: Sequence[tuple[str, str]]) -> str:
    for old, new in names:
        value = value.replace(old, new)
    return value
