"""Recorded calls turned into templates that can be played again and again, side by side.

A capture is one real call (or line event) from the lab: customer ``+15551230100`` "Jane
Customer" on trunk ``PJSIP/2001``, agents ``PJSIP/1001`` "Agent One" and ``PJSIP/1002``
"Agent Two". Played twice as recorded, two copies would share Uniqueids, channel names and
bridge ids, and a tracker would merge them into one call. ``CallTemplate.stamp`` gives each
play fresh identities and the chosen customer and agents, and leaves everything else as
Asterisk sent it, so the copies stay what the tracker was proven on.

Substitution works on whole tokens, never on substrings: a token is a recorded identity
(Uniqueid, channel name, uuid, agent endpoint, bare extension, agent name, customer number or
name) standing on its own, i.e. not preceded by a letter, digit or ``.`` and not followed by a
letter, digit or ``.digit``. All tokens are replaced in one pass of one regex (longest first),
so ``1001`` inside the Uniqueid ``1795479001.5`` or the SSRC ``0xca110010`` is never touched, a
value already substituted is never substituted again (agents can swap places), and the trunk
endpoint ``PJSIP/2001`` is a token that maps to itself, which shields its ``2001`` where
``2001`` is also the number a callback dials.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from telephony.calls.trunks import endpoint_of
from telephony.capture import CapturedMessage
from telephony.simulator.messages import Field

# The lab the captures were recorded in (shared/ami/README.md, "Lab topology").
LAB_TRUNK = "PJSIP/2001"
LAB_AGENTS: Mapping[str, str] = {"PJSIP/1001": "Agent One", "PJSIP/1002": "Agent Two"}
UNKNOWN = "<unknown>"  # what Asterisk shows for an absent caller ID

Party = tuple[str, str]  # (number, name)

_UNIQUEID = re.compile(r"\d+\.\d+")
# A channel name: TECH/resource-xxxxxxxx, standing on its own (not the tail of a file path).
_CHANNEL = re.compile(r"(?<![\w/])[A-Z][A-Za-z0-9]*/[^\s,/;@]+-[0-9a-f]{8}(?![0-9A-Za-z])")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BEFORE = r"(?<![0-9A-Za-z.])"
_AFTER = r"(?![0-9A-Za-z])(?!\.[0-9])"
_ID_KEYS = ("uniqueid", "linkedid")  # header names ending so carry a Uniqueid
# What the recorder's own login leaves at the head of every capture.
_PREAMBLE = frozenset({"FullyBooted", "SuccessfulAuth"})


@dataclass(frozen=True, slots=True)
class TemplateEvent:
    offset: float  # seconds after the call's first event
    fields: tuple[Field, ...]

    @property
    def name(self) -> str:
        return self.get("Event")

    def get(self, key: str, default: str = "") -> str:
        for name, value in self.fields:
            if name == key:
                return value
        return default


@dataclass(frozen=True, slots=True)
class PlayedEvent:
    """One event of a stamped call: when to send it and what."""

    offset: float
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class StampedCall:
    """One play of a template: fresh identities, the chosen people, its own clock.

    ``epoch`` is when the call starts on the PBX's clock (wall-clock seconds); an event
    happens at ``epoch`` + its offset (``time_of``), the recorded gap after the first, at
    whatever speed the call is played: that is the ``Timestamp`` Asterisk would give it.
    """

    scenario: str
    call_id: str | None  # the Linkedid a tracker reports; None for a line event
    customer: Party | None
    agents: dict[str, str]  # recorded agent endpoint -> the one chosen for this play
    events: list[PlayedEvent]
    epoch: float

    @property
    def duration(self) -> float:
        return self.events[-1].offset if self.events else 0.0

    def time_of(self, event: PlayedEvent) -> float:
        """When ``event`` happens on the call's own clock (its ``Timestamp``)."""
        return self.epoch + event.offset


class IdMint:
    """Fresh Uniqueid sequence numbers and channel-name suffixes.

    Asterisk numbers both with process-wide counters; the simulator does the same (the
    counters are class attributes), so two Traffic objects on one server, or a Traffic and
    an Originate answer, never hand out the same Uniqueid or channel name.
    """

    _sequence = itertools.count(1)
    _channel_index = itertools.count(1)

    def uniqueid(self, seconds: int) -> str:
        """``seconds.sequence``, the shape of Asterisk's ``%ld.%d`` Uniqueid."""
        return f"{seconds}.{next(self._sequence)}"

    def channel_suffix(self) -> str:
        """The ``%08x`` counter chan_pjsip appends to an endpoint to name a channel."""
        return f"{next(self._channel_index) & 0xFFFFFFFF:08x}"

    def bridge_id(self) -> str:
        """Bridges are named by a random uuid, as Asterisk names them."""
        return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class CallTemplate:
    """A recorded call with the identities ``stamp`` replaces, found once, at load time."""

    scenario: str
    source: str  # the capture's file stem
    events: tuple[TemplateEvent, ...]
    call_id: str | None  # recorded Linkedid; None when the capture holds no call
    customer: Party | None  # recorded number and name
    agents: tuple[str, ...]  # recorded agent endpoints, in order of first appearance
    uniqueids: tuple[str, ...]
    channels: tuple[str, ...]
    uuids: tuple[str, ...]
    _tokens: re.Pattern[str] = field(repr=False, compare=False)

    @property
    def duration(self) -> float:
        return self.events[-1].offset if self.events else 0.0

    def stamp(
        self,
        *,
        customer: Party,
        agents: Sequence[str],
        mint: IdMint,
        epoch: float,
        overrides: Mapping[str, str] | None = None,
    ) -> StampedCall:
        """A fresh copy of the call for ``customer`` and ``agents`` (one per recorded agent).

        ``epoch`` (wall-clock seconds) is when the copy starts: its Uniqueids carry it the way
        Asterisk's carry the channel's creation time, and its events happen at ``epoch`` plus
        their recorded offsets (``StampedCall.time_of``). ``overrides`` pins recorded tokens to
        given values (an Originate's ChannelId for the channel it creates).
        """
        if len(agents) != len(self.agents):
            raise ValueError(
                f"{self.scenario} needs {len(self.agents)} agent(s), got {list(agents)}"
            )
        if len(set(agents)) != len(agents):
            raise ValueError(f"{self.scenario}: agents must be distinct, got {list(agents)}")
        agent_map = dict(zip(self.agents, agents, strict=True))
        table = self._replacements(customer, agent_map, mint, int(epoch))
        table.update(overrides or {})
        pattern = self._tokens

        def substitute(value: str) -> str:
            return pattern.sub(lambda found: table[found.group(0)], value)

        events = [
            PlayedEvent(event.offset, {key: substitute(value) for key, value in event.fields})
            for event in self.events
        ]
        call_id = table[self.call_id] if self.call_id else None
        chosen_customer = customer if self.customer else None
        return StampedCall(self.scenario, call_id, chosen_customer, agent_map, events, epoch)

    def _replacements(
        self, customer: Party, agent_map: Mapping[str, str], mint: IdMint, epoch: int
    ) -> dict[str, str]:
        table: dict[str, str] = {LAB_TRUNK: LAB_TRUNK}
        first = _seconds(self.uniqueids[0]) if self.uniqueids else 0
        for recorded in self.uniqueids:
            table[recorded] = mint.uniqueid(epoch + _seconds(recorded) - first)
        for recorded, chosen in agent_map.items():
            table[recorded] = chosen
            table[_resource(recorded)] = _resource(chosen)
            table[LAB_AGENTS[recorded]] = agent_name(chosen)
        for name in self.channels:
            endpoint = endpoint_of(name)
            table[name] = f"{agent_map.get(endpoint, endpoint)}-{mint.channel_suffix()}"
        for recorded in self.uuids:
            table[recorded] = mint.bridge_id()
        if self.customer is not None:
            for recorded, chosen in zip(self.customer, customer, strict=True):
                if _is_identity(recorded):
                    table[recorded] = chosen
        return table


def agent_name(endpoint: str) -> str:
    """The display name an agent's phone carries (MemberName, CallerIDName): the lab's own for
    its two agents (the demo's users are them), else made from the extension."""
    return LAB_AGENTS.get(endpoint, f"Agent {_resource(endpoint)}")


def check_endpoint(endpoint: str) -> None:
    """Agents are dialled as ``TECH/resource`` (``PJSIP/1001``) and must not be the trunk."""
    tech, slash, resource = endpoint.partition("/")
    if not (tech and slash and resource) or any(c in resource for c in ",/@ "):
        raise ValueError(f"an agent endpoint looks like PJSIP/1001, not {endpoint!r}")
    if endpoint == LAB_TRUNK:
        raise ValueError(f"{LAB_TRUNK} is the trunk, not an agent")


# -- building templates from captures -------------------------------------------------------


def call_traffic(recorded: Iterable[CapturedMessage]) -> list[CapturedMessage]:
    """The PBX's own events: no Responses (they answered the recorder's actions) and not the
    FullyBooted/SuccessfulAuth of the recorder's login. A phone's SuccessfulAuth (REGISTER
    with digest) is the PBX's doing and stays."""
    events = [message for message in recorded if "Event" in message.headers]
    start = 0
    while start < len(events) and _is_recorder_login(events[start].headers):
        start += 1
    return events[start:]


def one_call(events: Sequence[CapturedMessage], linkedid: str) -> list[CapturedMessage]:
    """Only the events of one call from a capture of many (the burst): those naming one of its
    channels. Events about no channel (a trunk's device state) belong to no single call."""
    members = {
        m.headers["Uniqueid"]
        for m in events
        if m.headers.get("Linkedid") == linkedid and "Uniqueid" in m.headers
    }
    return [m for m in events if members & set(_uniqueid_values(m.headers))]


def first_call_id(events: Sequence[CapturedMessage]) -> str | None:
    for message in events:
        if message.headers.get("Event") == "Newchannel" and message.headers.get("Linkedid"):
            return message.headers["Linkedid"]
    return None


def build_template(
    scenario: str,
    source: str,
    events: Sequence[CapturedMessage],
    *,
    customer: Party | None = None,
) -> CallTemplate:
    """Find the identities in a call's events. ``customer`` overrides the recorded caller
    (for a call the PBX placed, whose number is in a DialString, not a Newchannel)."""
    if not events:
        raise ValueError(f"{scenario}: the capture {source} holds no events")
    if any(message.at is None for message in events):
        raise ValueError(f"{scenario}: the capture {source} has no times (.times.tsv)")
    start = events[0].at or 0.0
    template_events = tuple(
        TemplateEvent(round((m.at or 0.0) - start, 6), tuple(m.headers.items())) for m in events
    )
    return _with_tokens(
        CallTemplate(
            scenario=scenario,
            source=source,
            events=template_events,
            call_id=first_call_id(events),
            customer=customer or _recorded_customer(events),
            agents=(),
            uniqueids=(),
            channels=(),
            uuids=(),
            _tokens=re.compile("(?!)"),
        )
    )


def without_agent_legs(template: CallTemplate, scenario: str) -> CallTemplate:
    """The call as it goes when no agent is free: every agent leg and every event about an
    agent removed, the customer's connected line left as it was before any agent was dialled.

    Derived, not recorded: it is what Asterisk sends for a queue caller when every member is
    in use (ringinuse=no rings nobody: no AgentCalled, no Dial), used so that traffic never
    puts an agent on two calls at once. Of the per-attempt Cdrs one is kept, with no
    destination channel.
    """
    agent_legs = {
        event.get("Uniqueid")
        for event in template.events
        if event.name == "Newchannel" and endpoint_of(event.get("Channel")) in LAB_AGENTS
    }
    customer_line = _customer_connected_line(template)
    kept: list[TemplateEvent] = []
    cdr_kept = False
    for event in template.events:
        if _about_agents(event, agent_legs) or event.name == "NewConnectedLine":
            continue
        fields = dict(event.fields)
        if event.name == "Cdr" and endpoint_of(fields.get("DestinationChannel", "")) in LAB_AGENTS:
            if cdr_kept:
                continue
            cdr_kept = True
            fields["DestinationChannel"] = ""
        if "ConnectedLineNum" in fields and fields.get("Uniqueid") not in agent_legs:
            fields.update(customer_line)
        kept.append(replace(event, fields=tuple(fields.items())))
    return _with_tokens(replace(template, scenario=scenario, events=tuple(kept)))


def _with_tokens(template: CallTemplate) -> CallTemplate:
    """Collect the identities a template's events carry and compile the regex that finds them."""
    uniqueids: dict[str, None] = {}
    channels: dict[str, None] = {}
    uuids: dict[str, None] = {}
    for event in template.events:
        for key, value in event.fields:
            if key.lower().endswith(_ID_KEYS) and _UNIQUEID.fullmatch(value):
                uniqueids.setdefault(value)
            for found in _CHANNEL.findall(value):
                channels.setdefault(found)
            for found in _UUID.findall(value):
                uuids.setdefault(found)
    agents = _agents_in(template.events)
    tokens = {LAB_TRUNK, *uniqueids, *channels, *uuids}
    for agent in agents:
        tokens |= {agent, _resource(agent), LAB_AGENTS[agent]}
    if template.customer is not None:
        tokens |= {token for token in template.customer if _is_identity(token)}
    alternatives = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    return replace(
        template,
        agents=agents,
        uniqueids=tuple(uniqueids),
        channels=tuple(channels),
        uuids=tuple(uuids),
        _tokens=re.compile(f"{_BEFORE}(?:{alternatives}){_AFTER}"),
    )


def _agents_in(events: Iterable[TemplateEvent]) -> tuple[str, ...]:
    """The lab agents a call involves, in the order they first appear in it."""
    finder = re.compile(
        _BEFORE + "(?:" + "|".join(re.escape(_resource(a)) for a in LAB_AGENTS) + ")" + _AFTER
    )
    seen: dict[str, None] = {}
    for event in events:
        for _, value in event.fields:
            for found in finder.findall(value):
                seen.setdefault(f"PJSIP/{found}")
            for agent, name in LAB_AGENTS.items():
                if value == name:
                    seen.setdefault(agent)
    return tuple(seen)


def _recorded_customer(events: Sequence[CapturedMessage]) -> Party | None:
    for message in events:
        headers = message.headers
        if headers.get("Event") == "Newchannel" and endpoint_of(headers["Channel"]) == LAB_TRUNK:
            return headers.get("CallerIDNum", UNKNOWN), headers.get("CallerIDName", UNKNOWN)
    return None


def _customer_connected_line(template: CallTemplate) -> dict[str, str]:
    for event in template.events:
        if event.name == "Newchannel" and endpoint_of(event.get("Channel")) == LAB_TRUNK:
            return {
                "ConnectedLineNum": event.get("ConnectedLineNum", UNKNOWN),
                "ConnectedLineName": event.get("ConnectedLineName", UNKNOWN),
            }
    return {}


def _about_agents(event: TemplateEvent, agent_legs: set[str]) -> bool:
    if event.get("Uniqueid") in agent_legs or event.get("DestUniqueid") in agent_legs:
        return True
    return any(event.get(key) in LAB_AGENTS for key in ("Device", "Interface"))


def _is_recorder_login(headers: Mapping[str, str]) -> bool:
    name = headers.get("Event", "")
    return name == "FullyBooted" or (name in _PREAMBLE and headers.get("Service") == "AMI")


def _uniqueid_values(headers: Mapping[str, str]) -> list[str]:
    return [value for key, value in headers.items() if key.lower().endswith(_ID_KEYS)]


def _is_identity(token: str) -> bool:
    return bool(token) and token != UNKNOWN


def _resource(endpoint: str) -> str:
    return endpoint.partition("/")[2]


def _seconds(uniqueid: str) -> int:
    return int(uniqueid.partition(".")[0])
