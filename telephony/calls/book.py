"""The tracker's memory: the calls in progress, which call owns each channel, who is in each
bridge, and the updates the current event has produced so far.

The event handlers (channels.py, bridges.py, transfers.py, holds.py, labels.py) all work on one
CallBook; what several of them need (finding an event's call, merging two calls, entering a
bridge, ending a call) is written once, here.
"""

from __future__ import annotations

from collections.abc import Callable

from telephony.calls.headers import UP, duration, number
from telephony.calls.model import (
    AmiHeaders,
    Call,
    CallAnswered,
    CallEnded,
    CallUpdate,
    Channel,
    KnownCall,
)
from telephony.calls.outcome import classify
from telephony.calls.trunks import TrunkPlan, endpoint_of
from telephony.calls.views import build_record, customer, leg_end


class CallBook:
    def __init__(self, trunks: TrunkPlan) -> None:
        self.trunks = trunks
        self.anomalies = 0  # events that could not be made sense of; counted, never raised
        self.calls: dict[str, Call] = {}
        self.alias: dict[str, str] = {}  # Linkedid of a merged call -> surviving call_id
        self.owner: dict[str, str] = {}  # channel Uniqueid -> call_id
        # bridge -> Uniqueids in it now, in the order they entered (a dict as an ordered set)
        self.bridges: dict[str, dict[str, None]] = {}
        self.seq = 0  # events handled so far: orders hangup requests when times tie
        # Between a (re)login and the PBX's channel list: events about channels not known
        # yet wait here, to be applied once the list has made them known.
        self.resyncing = False
        self.waiting: list[tuple[AmiHeaders, float | None]] = []
        # Calls in progress when the link was lost: they lived through a gap. A call that
        # began after the login (its Newchannel seen) missed nothing, list or no list.
        self.through_gap: set[str] = set()
        self.out: list[CallUpdate] = []  # what the event being handled changed

    # -- finding calls and channels -------------------------------------------------------

    def call(self, linkedid: str) -> Call | None:
        """The call a Linkedid belongs to now, following merges."""
        return self.calls.get(self.alias.get(linkedid, linkedid))

    def lookup(self, uniqueid: str | None) -> tuple[Channel | None, Call | None]:
        call_id = self.owner.get(uniqueid or "")
        call = self.calls.get(call_id) if call_id else None
        if call is None or uniqueid is None:
            return None, None
        return call.channels.get(uniqueid), call

    def channel_of(self, event: AmiHeaders, at: float | None) -> tuple[Channel, Call] | None:
        """The event's channel and call; follows a Linkedid that Asterisk changed."""
        channel, call = self.lookup(event.get("Uniqueid"))
        if channel is None or call is None:
            return None
        linkedid = event.get("Linkedid")
        if linkedid and self.alias.get(linkedid, linkedid) != call.call_id:
            call = self.join(self.alias.get(linkedid, linkedid), call, at)
        return channel, call

    def call_for(self, linkedid: str) -> Call:
        """The call a Linkedid belongs to, begun if it is new."""
        call_id = self.alias.get(linkedid, linkedid)
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = Call(call_id)
        return call

    # -- channels joining calls -----------------------------------------------------------

    def add_channel(
        self, call: Call, headers: AmiHeaders, prefix: str, at: float | None
    ) -> Channel | None:
        """A channel from an event's own headers (prefix "") or its Dest* headers ("Dest")."""
        uniqueid = headers.get(f"{prefix}Uniqueid")
        name = headers.get(f"{prefix}Channel")
        if not uniqueid or not name:
            self.anomalies += 1
            return None
        endpoint = endpoint_of(name)
        channel = Channel(uniqueid, name, endpoint, self.trunks.is_trunk(endpoint), created_at=at)
        channel.was_up = headers.get(f"{prefix}ChannelState") == UP
        call.channels[uniqueid] = channel
        self.owner[uniqueid] = call.call_id
        if uniqueid == headers.get(f"{prefix}Linkedid"):
            call.origin = uniqueid
            call.started_at = at
        if at is None:
            call.times_known = False
        self._assign_customer(call, channel)
        return channel

    def _assign_customer(self, call: Call, channel: Channel) -> None:
        if call.customer_leg is not None:
            return
        if self.trunks.inferred:
            if channel.uniqueid == call.origin and not channel.originated:
                call.customer_leg = channel.uniqueid
        elif channel.on_trunk:
            call.customer_leg = channel.uniqueid

    def adopt(self, entry: AmiHeaders, at: float | None) -> None:
        """A channel that began while we were not listening, from its CoreShowChannel."""
        linkedid = entry.get("Linkedid") or entry["Uniqueid"]
        call = self.call_for(linkedid)
        call.events_missed = True
        started = at - duration(entry.get("Duration")) if at is not None else None
        channel = self.add_channel(call, entry, "", started)
        if channel is not None:
            channel.caller_num = number(entry.get("CallerIDNum"))
            if entry.get("Application") == "Queue" and call.queue is None:
                # Waiting in a queue now: Queue(name,options,...) names it first.
                call.queue = (entry.get("ApplicationData") or "").split(",")[0] or None

    def restore(self, call: Call, known: KnownCall) -> None:
        """Merge what was stored before a restart into a call taken up from the PBX's list:
        a fact seen then is kept; the list only adds what it shows that we had not seen."""
        if known.started_at is not None:
            call.started_at = known.started_at
        if known.answered_at is not None or known.agents:
            call.answered, call.answered_at = True, known.answered_at
            call.agents = list(dict.fromkeys([*known.agents, *call.agents]))
            for leg in call.channels.values():
                if leg.endpoint in known.agents and leg.uniqueid != call.customer_leg:
                    leg.connected = True  # it talked with the customer before: no new answer
        call.rung = list(dict.fromkeys([*known.rung, *call.rung]))
        call.queue = call.queue or known.queue
        call.transfers = max(call.transfers, known.transfers)
        call.recording = call.recording or known.recording
        call.tags = {**dict(known.tags), **call.tags}

    def join(self, survivor_id: str, other: Call, at: float | None) -> Call:
        """Make two calls one; the one holding a customer leg keeps its identity."""
        survivor = self.calls.get(survivor_id)
        if survivor is None:
            self.alias[survivor_id] = other.call_id
            other.aliases.append(survivor_id)
            return other
        if survivor.customer_leg is None and other.customer_leg is not None:
            survivor, other = other, survivor
        self._absorb(survivor, other)
        customer_leg = survivor.reference_leg()
        if customer_leg is not None and customer_leg.bridge is not None:
            for uniqueid in self.bridges.get(customer_leg.bridge, {}):
                if uniqueid in other.channels and uniqueid not in survivor.customer_peers:
                    survivor.customer_peers.append(uniqueid)
            self.connect(survivor, customer_leg.bridge, at)
        return survivor

    def _absorb(self, survivor: Call, other: Call) -> None:
        """Move every channel and fact of ``other`` into ``survivor``; forget ``other``."""
        for uniqueid, channel in other.channels.items():
            survivor.channels[uniqueid] = channel
            self.owner[uniqueid] = survivor.call_id
            channel.connected = False  # it talked to the other call's leg, not our customer
        survivor.transfers += other.transfers
        survivor.queue = survivor.queue or other.queue
        survivor.recording = survivor.recording or other.recording
        survivor.times_known = survivor.times_known and other.times_known
        survivor.ended_at = _later(survivor.ended_at, other.ended_at)
        for alias in [*other.aliases, other.call_id]:
            self.alias[alias] = survivor.call_id
            survivor.aliases.append(alias)
        survivor.merged += [*other.merged, other.call_id]
        del self.calls[other.call_id]

    # -- bridges ----------------------------------------------------------------------------

    def enter_bridge(self, call: Call, channel: Channel, bridge: str, at: float | None) -> None:
        self.leave_bridge(channel)
        members = self.bridges.setdefault(bridge, {})
        members[channel.uniqueid] = None
        channel.bridge = channel.last_bridge = bridge
        customer_leg = call.reference_leg()
        if channel is customer_leg:
            call.customer_peers = [
                u for u in members if u != channel.uniqueid and u in call.channels
            ]
        elif (
            customer_leg is not None
            and customer_leg.bridge == bridge
            and channel.uniqueid not in call.customer_peers
        ):
            call.customer_peers.append(channel.uniqueid)
        if at is None:
            call.times_known = False
        self.connect(call, bridge, at)

    def leave_bridge(self, channel: Channel) -> None:
        if channel.bridge is not None:
            members = self.bridges.get(channel.bridge)
            if members is not None:
                members.pop(channel.uniqueid, None)
            channel.bridge = None

    def connect(self, call: Call, bridge: str, at: float | None) -> None:
        """Report every agent leg that now talks with the customer for the first time."""
        customer_leg = call.reference_leg()
        if customer_leg is None or customer_leg.bridge != bridge:
            return
        for uniqueid in call.customer_peers:
            leg = call.channels.get(uniqueid)
            if leg is None or leg is customer_leg or leg.connected or leg.bridge != bridge:
                continue
            leg.connected = True
            first = not call.answered
            if first:
                call.answered, call.answered_at = True, at
            if leg.endpoint not in call.agents:
                call.agents.append(leg.endpoint)
            self.out.append(
                CallAnswered(call.call_id, at, leg.endpoint, customer(call), call.queue, first)
            )

    # -- the end of a call ------------------------------------------------------------------

    def hang_up(self, call: Call, channel: Channel, at: float | None) -> None:
        channel.hung_up, channel.hung_up_at = True, at
        if channel.on_hold:
            release_hold(call, channel, at)
        self.leave_bridge(channel)

    def close_vanished(self, call: Call, live: dict[str, AmiHeaders], at: float | None) -> None:
        """End what the PBX no longer lists: those channels hung up while we were away."""
        vanished = False
        for channel in call.channels.values():
            if not channel.hung_up and channel.uniqueid not in live:
                channel.lost = vanished = True
                self.hang_up(call, channel, at)
        if all(leg.hung_up for leg in call.channels.values()):
            if vanished:
                call.ended_in_gap = True
                call.ended_at = at
            self.end(call, at)

    def end(self, call: Call, at: float | None) -> None:
        """Classify the call, report it ended (and the calls merged into it), forget it."""
        verdict = classify(call)
        record = build_record(call, verdict)
        del self.calls[call.call_id]
        for uniqueid, channel in call.channels.items():
            self.owner.pop(uniqueid, None)
            if channel.last_bridge is not None and not self.bridges.get(channel.last_bridge, 1):
                del self.bridges[channel.last_bridge]
        for alias in call.aliases:
            self.alias.pop(alias, None)
        legs = tuple(leg_end(call, channel, verdict) for channel in call.channels.values())
        ended = CallEnded(
            call.call_id,
            at,
            record,
            legs,
            call.ended_in_gap,
            tuple(call.tags.items()),
            tuple(call.merged),
            call.events_missed,
        )
        self.out.append(ended)


Handler = Callable[[CallBook, AmiHeaders, float | None], None]


def release_hold(call: Call, channel: Channel, at: float | None) -> None:
    """Take a leg off hold and add the time it spent there."""
    if channel.hold_since is not None and at is not None:
        channel.hold_seconds += max(0.0, at - channel.hold_since)
    else:
        call.times_known = False
    channel.on_hold, channel.hold_since = False, None


def _later(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return max(a, b)
