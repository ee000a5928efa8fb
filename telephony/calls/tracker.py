"""The call tracker: AMI events in, call updates out. Pure and synchronous; time comes in.

The model, for the next reader:

- Asterisk reports channels, one per leg, keyed by Uniqueid. Each carries a Linkedid: the
  Uniqueid of the channel that started the call. Channels sharing a Linkedid are one call.
- A call's customer leg is its first channel on a trunk endpoint (TrunkPlan); all the other
  legs are agent legs. With no trunk patterns the leg that started the call is the customer's,
  unless an AMI Originate placed it (its DialBegin has no caller): then the first leg it dials
  is the customer's.
- Bridges let channels talk. A call is answered the first moment its customer leg and an agent
  leg are in one bridge; a queue or an IVR answering the customer's channel is not an answer.
- Transfers keep one call. A blind transfer redirects the customer's channel to a new Dial
  under the same Linkedid. An attended transfer joins the consultation call (its own Linkedid)
  to the customer's call; Asterisk may also move a channel to an older Linkedid once it is
  bridged, and then the channel takes its whole call along.
- A call ends when its last channel hangs up: it is classified (outcome.py) and leaves memory.

Handlers are a table keyed by the event name: an event nobody needs costs one dict miss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from telephony.calls.model import (
    AmiHeaders,
    Call,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallRecord,
    CallRinging,
    CallTransferred,
    CallUnheld,
    CallUpdate,
    Channel,
    Direction,
    HangupRequest,
    LegEnd,
    LiveCall,
    Verdict,
)
from telephony.calls.outcome import classify
from telephony.calls.trunks import TrunkPlan, endpoint_of

UP = "6"  # ChannelState of an answered channel
DRIVER_SOFT_HANGUP = "1"  # AST_SOFTHANGUP_DEV: the channel driver gave up (no RTP, for one)
_UNKNOWN_NUMBERS = {"", "<unknown>"}
TAG_PREFIX = "CALLASSIST_"  # channel variables callassist sets on the calls it places

Handler = Callable[[AmiHeaders, float | None], None]


class CallTracker:
    def __init__(self, trunks: TrunkPlan | None = None) -> None:
        self.trunks = trunks or TrunkPlan()
        self.anomalies = 0  # events that could not be made sense of; counted, never raised
        self._calls: dict[str, Call] = {}
        self._alias: dict[str, str] = {}  # Linkedid of a merged call -> surviving call_id
        self._owner: dict[str, str] = {}  # channel Uniqueid -> call_id
        # bridge -> Uniqueids in it now, in the order they entered (a dict as an ordered set)
        self._bridges: dict[str, dict[str, None]] = {}
        self._seq = 0
        self._out: list[CallUpdate] = []
        self._handlers: dict[str, Handler] = {
            "Newchannel": self._on_newchannel,
            "Newstate": self._on_newstate,
            "DialBegin": self._on_dial_begin,
            "DialEnd": self._on_dial_end,
            "BridgeEnter": self._on_bridge_enter,
            "BridgeLeave": self._on_bridge_leave,
            "BridgeDestroy": self._on_bridge_destroy,
            "Hold": self._on_hold,
            "Unhold": self._on_unhold,
            "HangupRequest": self._on_hangup_request,
            "SoftHangupRequest": self._on_soft_hangup_request,
            "Hangup": self._on_hangup,
            "VarSet": self._on_var_set,
            "QueueCallerJoin": self._on_queue_caller_join,
            "BlindTransfer": self._on_blind_transfer,
            "AttendedTransfer": self._on_attended_transfer,
        }

    @property
    def live_calls(self) -> list[Call]:
        return list(self._calls.values())

    def handles(self, event_name: str) -> bool:
        return event_name in self._handlers

    def snapshot(self, call_id: str) -> LiveCall | None:
        """A call in progress as people see it; None once it has ended."""
        call = self._calls.get(self._alias.get(call_id, call_id))
        if call is None:
            return None
        return LiveCall(
            call_id=call.call_id,
            direction=_direction(call),
            customer=_customer(call),
            queue=call.queue,
            started_at=call.started_at,
            answered_at=call.answered_at,
            agents=tuple(call.agents),
            ringing=_ringing(call),
            parties=tuple(dict.fromkeys([*call.rung, *call.agents])),
            on_hold=any(leg.on_hold for leg in call.channels.values()),
            transfers=call.transfers,
            recording=call.recording,
            dialled=_dialled(call),
            trunk=_trunk(call),
            tags=tuple(call.tags.items()),
        )

    def feed(self, event: AmiHeaders, at: float | None) -> list[CallUpdate]:
        """Take one AMI event (its headers and its time); return what it changed."""
        handler = self._handlers.get(event.get("Event", ""))
        if handler is None:
            return []
        self._seq += 1
        self._out = []
        try:
            handler(event, at)
        except (KeyError, ValueError):  # a header the PBX should have sent was not usable
            self.anomalies += 1
        return self._out

    def reconcile(self, live: Iterable[AmiHeaders], at: float | None) -> list[CallUpdate]:
        """Align the picture with the PBX's list of live channels (CoreShowChannel events).

        Called after every (re)connect: calls whose channels all vanished during the gap end
        now with ended_by "unknown" and ended_in_gap set; calls that began during the gap are
        picked up, answered if their customer already talks to an agent.
        """
        self._out = []
        current = {e["Uniqueid"]: e for e in live if e.get("Uniqueid") and e.get("Channel")}
        for call in list(self._calls.values()):
            self._close_vanished(call, current, at)
        for uniqueid, entry in current.items():
            if uniqueid not in self._owner:
                self._adopt(entry, at)
        for uniqueid, entry in current.items():
            bridge = entry.get("BridgeId")
            channel, owner = self._lookup(uniqueid)
            if channel is not None and owner is not None:
                if entry.get("ChannelState") == UP:
                    channel.was_up = True
                if bridge and channel.bridge != bridge:
                    self._enter_bridge(owner, channel, bridge, at)
        return self._out

    # -- channels and calls -------------------------------------------------------------

    def _lookup(self, uniqueid: str | None) -> tuple[Channel | None, Call | None]:
        call_id = self._owner.get(uniqueid or "")
        call = self._calls.get(call_id) if call_id else None
        if call is None or uniqueid is None:
            return None, None
        return call.channels.get(uniqueid), call

    def _channel_of(self, event: AmiHeaders, at: float | None) -> tuple[Channel, Call] | None:
        """The event's channel and call; follows a Linkedid that Asterisk changed."""
        channel, call = self._lookup(event.get("Uniqueid"))
        if channel is None or call is None:
            return None
        linkedid = event.get("Linkedid")
        if linkedid and self._alias.get(linkedid, linkedid) != call.call_id:
            call = self._join(self._alias.get(linkedid, linkedid), call, at)
        return channel, call

    def _call_for(self, linkedid: str) -> Call:
        call_id = self._alias.get(linkedid, linkedid)
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = Call(call_id)
        return call

    def _add_channel(
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
        self._owner[uniqueid] = call.call_id
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

    def _adopt(self, entry: AmiHeaders, at: float | None) -> None:
        """A channel that began while we were not listening, from its CoreShowChannel."""
        linkedid = entry.get("Linkedid") or entry["Uniqueid"]
        call = self._call_for(linkedid)
        started = at - _duration(entry.get("Duration")) if at is not None else None
        channel = self._add_channel(call, entry, "", started)
        if channel is not None:
            channel.caller_num = _number(entry.get("CallerIDNum"))

    def _join(self, survivor_id: str, other: Call, at: float | None) -> Call:
        """Make two calls one; the one holding a customer leg keeps its identity."""
        survivor = self._calls.get(survivor_id)
        if survivor is None:
            self._alias[survivor_id] = other.call_id
            other.aliases.append(survivor_id)
            return other
        if survivor.customer_leg is None and other.customer_leg is not None:
            survivor, other = other, survivor
        for uniqueid, channel in other.channels.items():
            survivor.channels[uniqueid] = channel
            self._owner[uniqueid] = survivor.call_id
            channel.connected = False  # it talked to the other call's leg, not our customer
        survivor.transfers += other.transfers
        survivor.queue = survivor.queue or other.queue
        survivor.recording = survivor.recording or other.recording
        survivor.times_known = survivor.times_known and other.times_known
        survivor.ended_at = _later(survivor.ended_at, other.ended_at)
        for alias in [*other.aliases, other.call_id]:
            self._alias[alias] = survivor.call_id
            survivor.aliases.append(alias)
        del self._calls[other.call_id]
        customer = survivor.reference_leg()
        if customer is not None and customer.bridge is not None:
            for uniqueid in self._bridges.get(customer.bridge, {}):
                if uniqueid in other.channels and uniqueid not in survivor.customer_peers:
                    survivor.customer_peers.append(uniqueid)
            self._connect(survivor, customer.bridge, at)
        return survivor

    # -- handlers -------------------------------------------------------------------------

    def _on_newchannel(self, event: AmiHeaders, at: float | None) -> None:
        if event.get("Uniqueid", "") in self._owner:
            return
        if not (event.get("Linkedid") and event.get("Uniqueid") and event.get("Channel")):
            self.anomalies += 1
            return
        call = self._call_for(event["Linkedid"])
        channel = self._add_channel(call, event, "", at)
        if channel is not None:
            channel.caller_num = _number(event.get("CallerIDNum"))
            channel.exten = event.get("Exten") or None

    def _on_newstate(self, event: AmiHeaders, at: float | None) -> None:
        found = self._channel_of(event, at)
        if found is not None and event.get("ChannelState") == UP:
            found[0].was_up = True

    def _on_dial_begin(self, event: AmiHeaders, at: float | None) -> None:
        dest, call = self._lookup(event.get("DestUniqueid"))
        if dest is None or call is None:
            linkedid = event.get("DestLinkedid") or event.get("Linkedid")
            if not (linkedid and event.get("DestUniqueid") and event.get("DestChannel")):
                self.anomalies += 1
                return
            call = self._call_for(linkedid)
            dest = self._add_channel(call, event, "Dest", at)
            if dest is None:
                return
        dest.dial_string = event.get("DialString")
        dest.dialled_by = event.get("Uniqueid")
        dest.originated = dest.dialled_by is None  # an AMI Originate: no caller channel
        if self.trunks.inferred:
            _infer_customer(call, dest)
        if dest.uniqueid != call.customer_leg:
            if dest.endpoint not in call.rung:
                call.rung.append(dest.endpoint)
            self._out.append(
                CallRinging(call.call_id, at, dest.endpoint, dest.name, _customer(call), call.queue)
            )

    def _on_dial_end(self, event: AmiHeaders, at: float | None) -> None:
        _, call = self._lookup(event.get("DestUniqueid"))
        if call is None:
            _, call = self._lookup(event.get("Uniqueid"))
        if call is not None:
            call.last_dial_status = event.get("DialStatus")

    def _on_bridge_enter(self, event: AmiHeaders, at: float | None) -> None:
        found = self._channel_of(event, at)
        bridge = event.get("BridgeUniqueid")
        if found is None or not bridge:
            return
        channel, call = found
        if event.get("ChannelState") == UP:
            channel.was_up = True
        self._enter_bridge(call, channel, bridge, at)

    def _enter_bridge(self, call: Call, channel: Channel, bridge: str, at: float | None) -> None:
        self._leave_bridge(channel)
        members = self._bridges.setdefault(bridge, {})
        members[channel.uniqueid] = None
        channel.bridge = channel.last_bridge = bridge
        customer = call.reference_leg()
        if channel is customer:
            call.customer_peers = [
                u for u in members if u != channel.uniqueid and u in call.channels
            ]
        elif (
            customer is not None
            and customer.bridge == bridge
            and channel.uniqueid not in call.customer_peers
        ):
            call.customer_peers.append(channel.uniqueid)
        if at is None:
            call.times_known = False
        self._connect(call, bridge, at)

    def _leave_bridge(self, channel: Channel) -> None:
        if channel.bridge is not None:
            members = self._bridges.get(channel.bridge)
            if members is not None:
                members.pop(channel.uniqueid, None)
            channel.bridge = None

    def _connect(self, call: Call, bridge: str, at: float | None) -> None:
        """Report every agent leg that now talks with the customer for the first time."""
        customer = call.reference_leg()
        if customer is None or customer.bridge != bridge:
            return
        for uniqueid in call.customer_peers:
            leg = call.channels.get(uniqueid)
            if leg is None or leg is customer or leg.connected or leg.bridge != bridge:
                continue
            leg.connected = True
            first = not call.answered
            if first:
                call.answered, call.answered_at = True, at
            if leg.endpoint not in call.agents:
                call.agents.append(leg.endpoint)
            self._out.append(
                CallAnswered(call.call_id, at, leg.endpoint, _customer(call), call.queue, first)
            )

    def _on_bridge_leave(self, event: AmiHeaders, at: float | None) -> None:
        found = self._channel_of(event, at)
        if found is not None:
            self._leave_bridge(found[0])

    def _on_bridge_destroy(self, event: AmiHeaders, at: float | None) -> None:
        self._bridges.pop(event.get("BridgeUniqueid", ""), None)

    def _on_hold(self, event: AmiHeaders, at: float | None) -> None:
        found = self._channel_of(event, at)
        if found is None or found[0].on_hold:
            return
        channel, call = found
        channel.on_hold, channel.hold_since = True, at
        self._out.append(CallHeld(call.call_id, at, channel.endpoint))

    def _on_unhold(self, event: AmiHeaders, at: float | None) -> None:
        found = self._channel_of(event, at)
        if found is None or not found[0].on_hold:
            return  # an Unhold with no Hold before it (Asterisk sends one before a transfer)
        channel, call = found
        _release_hold(call, channel, at)
        self._out.append(CallUnheld(call.call_id, at, channel.endpoint))

    def _on_hangup_request(self, event: AmiHeaders, at: float | None) -> None:
        found = self._channel_of(event, at)
        if found is not None and found[0].request is None:
            found[0].request = HangupRequest(False, self._seq, at)

    def _on_soft_hangup_request(self, event: AmiHeaders, at: float | None) -> None:
        # Only Cause 1 matters: the other values are Asterisk's internal flags, not Q.850.
        if event.get("Cause") != DRIVER_SOFT_HANGUP:
            return
        found = self._channel_of(event, at)
        if found is not None:
            channel = found[0]
            channel.driver_hangup = True
            if channel.request is None:
                channel.request = HangupRequest(True, self._seq, at)

    def _on_hangup(self, event: AmiHeaders, at: float | None) -> None:
        found = self._channel_of(event, at)
        if found is None:
            return
        channel, call = found
        if channel.hung_up:
            return
        if event.get("ChannelState") == UP:
            channel.was_up = True
        channel.hangup_cause = _int(event.get("Cause"))
        self._hang_up(call, channel, at)
        call.ended_at = at
        if at is None:
            call.times_known = False
        if all(leg.hung_up for leg in call.channels.values()):
            self._end(call, at)

    def _hang_up(self, call: Call, channel: Channel, at: float | None) -> None:
        channel.hung_up, channel.hung_up_at = True, at
        if channel.on_hold:
            _release_hold(call, channel, at)
        self._leave_bridge(channel)

    def _on_var_set(self, event: AmiHeaders, at: float | None) -> None:
        variable = event.get("Variable", "")
        if variable == "MIXMONITOR_FILENAME":
            _, call = self._lookup(event.get("Uniqueid"))
            if call is not None and call.recording is None:
                call.recording = event.get("Value") or None
        elif variable.startswith(TAG_PREFIX):
            _, call = self._lookup(event.get("Uniqueid"))
            if call is not None:
                call.tags[variable] = event.get("Value", "")

    def _on_queue_caller_join(self, event: AmiHeaders, at: float | None) -> None:
        found = self._channel_of(event, at)
        if found is not None and found[1].queue is None:
            found[1].queue = event.get("Queue") or None

    def _on_blind_transfer(self, event: AmiHeaders, at: float | None) -> None:
        if event.get("Result") != "Success":
            return
        call = self._transferred_call(event)
        if call is not None:
            call.transfers += 1
            target = event.get("Extension") or None
            self._out.append(CallTransferred(call.call_id, at, "blind", target))

    def _on_attended_transfer(self, event: AmiHeaders, at: float | None) -> None:
        if event.get("Result") != "Success":
            return
        call = self._transferred_call(event)
        if call is None:
            return
        for role in ("OrigTransferer", "SecondTransferer", "TransferTarget"):
            linkedid = event.get(f"{role}Linkedid", "")
            other = self._calls.get(self._alias.get(linkedid, linkedid))
            if other is not None and other is not call:
                call = self._join(call.call_id, other, at)
        call.transfers += 1
        target_channel = event.get("TransferTargetChannel") or event.get("SecondTransfererChannel")
        target = endpoint_of(target_channel) if target_channel else None
        self._out.append(CallTransferred(call.call_id, at, "attended", target))

    def _transferred_call(self, event: AmiHeaders) -> Call | None:
        for header in ("TransfereeLinkedid", "OrigTransfererLinkedid", "TransfererLinkedid"):
            linkedid = event.get(header)
            if linkedid:
                call = self._calls.get(self._alias.get(linkedid, linkedid))
                if call is not None:
                    return call
        self.anomalies += 1
        return None

    # -- the end of a call ------------------------------------------------------------------

    def _close_vanished(self, call: Call, live: dict[str, AmiHeaders], at: float | None) -> None:
        vanished = False
        for channel in call.channels.values():
            if not channel.hung_up and channel.uniqueid not in live:
                channel.lost = vanished = True
                self._hang_up(call, channel, at)
        if all(leg.hung_up for leg in call.channels.values()):
            if vanished:
                call.ended_in_gap = True
                call.ended_at = at
            self._end(call, at)

    def _end(self, call: Call, at: float | None) -> None:
        verdict = classify(call)
        record = build_record(call, verdict)
        del self._calls[call.call_id]
        for uniqueid, channel in call.channels.items():
            self._owner.pop(uniqueid, None)
            if channel.last_bridge is not None and not self._bridges.get(channel.last_bridge, 1):
                del self._bridges[channel.last_bridge]
        for alias in call.aliases:
            self._alias.pop(alias, None)
        legs = tuple(_leg_end(call, channel, verdict) for channel in call.channels.values())
        ended = CallEnded(
            call.call_id, at, record, legs, call.ended_in_gap, tuple(call.tags.items())
        )
        self._out.append(ended)


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
        direction=_direction(call),
        customer=_customer(call),
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


def _ringing(call: Call) -> tuple[str, ...]:
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


def _infer_customer(call: Call, dest: Channel) -> None:
    """Without trunk patterns: a leg an Originate placed first is an agent's, and the
    customer's leg is the first one it dials."""
    if dest.originated and call.customer_leg == dest.uniqueid:
        call.customer_leg = None
        return
    origin = call.channels.get(call.origin or "")
    if (
        origin is not None
        and origin.originated
        and dest.dialled_by == origin.uniqueid
        and call.customer_leg is None
    ):
        call.customer_leg = dest.uniqueid


def _direction(call: Call) -> Direction:
    customer = call.channels.get(call.customer_leg or "")
    if customer is None:
        return Direction.INTERNAL
    started_it = customer.uniqueid == call.origin or (
        call.origin is None and not customer.dialled_by
    )
    return Direction.INBOUND if started_it else Direction.OUTBOUND


def _customer(call: Call) -> str | None:
    customer = call.channels.get(call.customer_leg or "")
    if customer is None:
        return None
    if _direction(call) is Direction.INBOUND:
        return customer.caller_num
    return _number((customer.dial_string or "").rpartition("/")[2])


def _dialled(call: Call) -> str | None:
    customer = call.channels.get(call.customer_leg or "")
    if customer is None or _direction(call) is not Direction.INBOUND:
        return None
    return customer.exten


def _trunk(call: Call) -> str | None:
    customer = call.channels.get(call.customer_leg or "")
    return customer.endpoint if customer is not None and customer.on_trunk else None


def _leg_end(call: Call, channel: Channel, verdict: Verdict) -> LegEnd:
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


def _release_hold(call: Call, channel: Channel, at: float | None) -> None:
    if channel.hold_since is not None and at is not None:
        channel.hold_seconds += max(0.0, at - channel.hold_since)
    else:
        call.times_known = False
    channel.on_hold, channel.hold_since = False, None


def _number(value: str | None) -> str | None:
    return None if value is None or value in _UNKNOWN_NUMBERS else value


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _seconds(end: float, start: float | None) -> float | None:
    return None if start is None else round(end - start, 3)


def _later(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return max(a, b)


def _duration(text: str | None) -> float:
    """CoreShowChannel's ``Duration: HH:MM:SS`` in seconds; 0 when unreadable."""
    try:
        hours, minutes, seconds = (int(part) for part in (text or "").split(":"))
    except ValueError:
        return 0.0
    return float(hours * 3600 + minutes * 60 + seconds)
