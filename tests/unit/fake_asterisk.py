"""A fake Asterisk 22 that writes AMI events the way the real one did in tests/fixtures/ami.

Each method sends one or a few events, with the headers chan_pjsip sends (channel snapshot:
Channel, ChannelState, CallerIDNum, ..., Uniqueid, Linkedid), to a real CallTracker at the
fake's clock, and keeps every update the tracker returned. The scenario functions at the end
play the common call shapes of the captures (answered, rung, hung up by one side).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.calls.causes import CAUSES
from telephony.calls.model import CallAnswered, CallEnded, CallRecord, CallUpdate
from telephony.calls.tracker import CallTracker
from telephony.calls.trunks import TrunkPlan

CUSTOMER_NUMBER = "+15551230100"
TRUNK = "PJSIP/2001"
AGENT_ONE = "PJSIP/1001"
AGENT_TWO = "PJSIP/1002"
_STATE_DESC = {"0": "Down", "4": "Ring", "5": "Ringing", "6": "Up"}


@dataclass
class Leg:
    """One channel as the fake knows it."""

    name: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str
    context: str
    state: str = "0"
    bridge: str | None = None

    @property
    def endpoint(self) -> str:
        return self.name.rsplit("-", 1)[0]

    def snapshot(self, prefix: str = "") -> dict[str, str]:
        return {
            f"{prefix}Channel": self.name,
            f"{prefix}ChannelState": self.state,
            f"{prefix}ChannelStateDesc": _STATE_DESC.get(self.state, "Unknown"),
            f"{prefix}CallerIDNum": self.caller_num,
            f"{prefix}CallerIDName": self.caller_name,
            f"{prefix}ConnectedLineNum": "<unknown>",
            f"{prefix}ConnectedLineName": "<unknown>",
            f"{prefix}Language": "en",
            f"{prefix}AccountCode": "",
            f"{prefix}Context": self.context,
            f"{prefix}Exten": "s",
            f"{prefix}Priority": "1",
            f"{prefix}Uniqueid": self.uniqueid,
            f"{prefix}Linkedid": self.linkedid,
        }


@dataclass
class FakeAsterisk:
    trunks: str = TRUNK
    now: float = 100.0
    send_bridge_destroy: bool = True  # False: as if every BridgeDestroy were lost
    tracker: CallTracker = field(init=False)
    updates: list[CallUpdate] = field(default_factory=list)
    sent: list[dict[str, str]] = field(default_factory=list)  # every event, in order
    _channels: int = 0
    _bridges: int = 0

    def __post_init__(self) -> None:
        self.tracker = CallTracker(TrunkPlan.parse(self.trunks))

    # -- plumbing -------------------------------------------------------------------------

    def wait(self, seconds: float) -> None:
        self.now += seconds

    def send(self, event: dict[str, str]) -> list[CallUpdate]:
        self.sent.append(event)
        updates = self.tracker.feed(event, self.now)
        self.updates += updates
        return updates

    def _event(self, name: str, leg: Leg, **headers: str) -> list[CallUpdate]:
        return self.send({"Event": name, "Privilege": "call,all", **leg.snapshot(), **headers})

    # -- channels -------------------------------------------------------------------------

    def leg(
        self,
        endpoint: str,
        *,
        linkedid: str | None = None,
        caller_num: str | None = None,
        caller_name: str = "",
        state: str = "0",
    ) -> Leg:
        """A new channel (no event yet); Uniqueids count up as Asterisk's do."""
        number = self._channels
        self._channels += 1
        uniqueid = f"{1795478000 + int(self.now)}.{number}"
        context = "from-trunk" if endpoint.startswith(TRUNK) else "from-agents"
        return Leg(
            name=f"{endpoint}-{number:08x}",
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            caller_num=caller_num if caller_num is not None else endpoint.rpartition("/")[2],
            caller_name=caller_name,
            context=context,
            state=state,
        )

    def newchannel(self, leg: Leg) -> list[CallUpdate]:
        return self._event("Newchannel", leg)

    def incoming(self, number: str = CUSTOMER_NUMBER, endpoint: str = TRUNK) -> Leg:
        """A customer's INVITE arrives on the trunk: the call starts."""
        customer = self.leg(endpoint, caller_num=number, caller_name="Jane Customer", state="4")
        self.newchannel(customer)
        return customer

    def dial(self, caller: Leg | None, endpoint: str, dial_string: str | None = None) -> Leg:
        """Dial() (or an AMI Originate when caller is None) creates and rings a leg."""
        linkedid = caller.linkedid if caller is not None else None
        dest = self.leg(endpoint, linkedid=linkedid)
        self.newchannel(dest)
        headers = caller.snapshot() if caller is not None else {}
        self.send(
            {
                "Event": "DialBegin",
                "Privilege": "call,all",
                **headers,
                **dest.snapshot("Dest"),
                "DialString": dial_string or endpoint.rpartition("/")[2],
            }
        )
        self.set_state(dest, "5")
        return dest

    def originate(self, endpoint: str) -> Leg:
        """An AMI Originate rings an agent first (its DialBegin has no caller channel)."""
        return self.dial(None, endpoint)

    def dial_end(self, caller: Leg | None, dest: Leg, status: str) -> list[CallUpdate]:
        headers = caller.snapshot() if caller is not None else {}
        return self.send(
            {
                "Event": "DialEnd",
                "Privilege": "call,all",
                **headers,
                **dest.snapshot("Dest"),
                "DialStatus": status,
            }
        )

    def set_state(self, leg: Leg, state: str) -> list[CallUpdate]:
        leg.state = state
        return self._event("Newstate", leg)

    def answer(self, leg: Leg) -> list[CallUpdate]:
        return self.set_state(leg, "6")

    # -- bridges --------------------------------------------------------------------------

    def new_bridge(self) -> str:
        self._bridges += 1
        bridge = f"{self._bridges:08x}-c41c-4943-a897-62b5b7578dd6"
        self.send({"Event": "BridgeCreate", "BridgeUniqueid": bridge, "BridgeType": "basic"})
        return bridge

    def enter(self, bridge: str, leg: Leg) -> list[CallUpdate]:
        leg.bridge = bridge
        return self._event("BridgeEnter", leg, BridgeUniqueid=bridge, BridgeType="basic")

    def leave(self, leg: Leg) -> list[CallUpdate]:
        bridge, leg.bridge = leg.bridge, None
        if bridge is None:
            return []
        return self._event("BridgeLeave", leg, BridgeUniqueid=bridge, BridgeType="basic")

    def destroy(self, bridge: str) -> list[CallUpdate]:
        if not self.send_bridge_destroy:
            return []
        return self.send({"Event": "BridgeDestroy", "BridgeUniqueid": bridge})

    def bridge(self, *legs: Leg) -> str:
        bridge = self.new_bridge()
        for leg in legs:
            self.enter(bridge, leg)
        return bridge

    # -- during the call ------------------------------------------------------------------

    def hold(self, leg: Leg) -> list[CallUpdate]:
        return self._event("Hold", leg, MusicClass="default")

    def unhold(self, leg: Leg) -> list[CallUpdate]:
        return self._event("Unhold", leg)

    def queue_join(self, leg: Leg, queue: str = "support") -> list[CallUpdate]:
        return self._event("QueueCallerJoin", leg, Queue=queue, Position="1", Count="1")

    def var_set(self, leg: Leg, variable: str, value: str) -> list[CallUpdate]:
        return self._event("VarSet", leg, Variable=variable, Value=value)

    def blind_transfer(
        self, transferer: Leg, transferee: Leg, extension: str, result: str = "Success"
    ) -> list[CallUpdate]:
        return self.send(
            {
                "Event": "BlindTransfer",
                "Privilege": "call,all",
                "Result": result,
                **transferer.snapshot("Transferer"),
                **transferee.snapshot("Transferee"),
                "BridgeUniqueid": transferer.bridge or "",
                "IsExternal": "Yes",
                "Context": "from-agents",
                "Extension": extension,
            }
        )

    def attended_transfer(
        self,
        orig_transferer: Leg,
        second_transferer: Leg,
        transferee: Leg,
        target: Leg,
        *,
        orig_bridge: str,
        second_bridge: str,
        dest_bridge: str,
        result: str = "Success",
    ) -> list[CallUpdate]:
        """Asterisk 22's AttendedTransfer (docs.asterisk.org, AMI_Events/AttendedTransfer)."""
        return self.send(
            {
                "Event": "AttendedTransfer",
                "Privilege": "call,all",
                "Result": result,
                **orig_transferer.snapshot("OrigTransferer"),
                "OrigBridgeUniqueid": orig_bridge,
                "OrigBridgeType": "basic",
                **second_transferer.snapshot("SecondTransferer"),
                "SecondBridgeUniqueid": second_bridge,
                "SecondBridgeType": "basic",
                "DestType": "Bridge",
                "DestBridgeUniqueid": dest_bridge,
                **transferee.snapshot("Transferee"),
                **target.snapshot("TransferTarget"),
                "IsExternal": "Yes",
            }
        )

    # -- the end --------------------------------------------------------------------------

    def hangup_request(self, leg: Leg, cause: str = "16") -> list[CallUpdate]:
        """The far end sent BYE or CANCEL, or declined."""
        return self._event("HangupRequest", leg, Cause=cause)

    def soft_hangup_request(self, leg: Leg, cause: str) -> list[CallUpdate]:
        return self._event("SoftHangupRequest", leg, Cause=cause)

    def hangup(self, leg: Leg, cause: str = "16") -> list[CallUpdate]:
        self.leave(leg)
        known = CAUSES.get(int(cause)) if cause.isdigit() else None
        text = known.text if known else "Unknown"
        return self._event("Hangup", leg, Cause=cause, **{"Cause-txt": text})

    # -- what the tracker said ------------------------------------------------------------

    def ended(self) -> list[CallEnded]:
        return [u for u in self.updates if isinstance(u, CallEnded)]

    def record(self) -> CallRecord:
        """The one finished call."""
        ended = self.ended()
        assert len(ended) == 1, f"expected exactly one finished call, got {len(ended)}"
        return ended[0].record

    def answered(self) -> list[CallAnswered]:
        return [u for u in self.updates if isinstance(u, CallAnswered)]


# -- scenarios, as in the captures ----------------------------------------------------------


def ring_agent(pbx: FakeAsterisk, customer: Leg, agent: str = AGENT_ONE) -> Leg:
    """Dial(PJSIP/100x) from the customer's channel; the phone rings."""
    return pbx.dial(customer, agent)


def connect(pbx: FakeAsterisk, customer: Leg, agent_leg: Leg, ring: float = 2.0) -> str:
    """The agent answers after `ring` seconds and is bridged with the customer."""
    pbx.wait(ring)
    pbx.answer(agent_leg)
    pbx.dial_end(customer, agent_leg, "ANSWER")
    if customer.state != "6":
        pbx.answer(customer)
    bridge = pbx.new_bridge()
    pbx.enter(bridge, agent_leg)
    pbx.enter(bridge, customer)
    return bridge


def answered_call(
    pbx: FakeAsterisk, *, ring: float = 2.0, talk: float = 10.0
) -> tuple[Leg, Leg, str]:
    """A customer calls 1001 direct, the agent answers and they talk."""
    customer = pbx.incoming()
    agent = ring_agent(pbx, customer)
    bridge = connect(pbx, customer, agent, ring)
    pbx.wait(talk)
    return customer, agent, bridge


def hang_up_both(
    pbx: FakeAsterisk,
    first: Leg,
    second: Leg,
    *,
    first_cause: str = "16",
    second_cause: str = "16",
    bridge: str | None = None,
) -> None:
    """`first` has already been asked to end (or not); the PBX tears both legs down."""
    pbx.leave(first)
    pbx.soft_hangup_request(second, "16")
    pbx.hangup(first, first_cause)
    pbx.leave(second)
    if bridge is not None:
        pbx.destroy(bridge)
    pbx.hangup(second, second_cause)


def attended_transfer(
    pbx: FakeAsterisk, *, surviving: str, replaced: str = "consultation"
) -> tuple[Leg, Leg, str]:
    """Agent One consults Agent Two on a second call (its own Linkedid), then completes the
    transfer; Asterisk merges the two bridges (`surviving` says which one remains) and hangs
    up both of Agent One's channels, the one the transfer replaces (`replaced`) after a
    SoftHangupRequest with Cause 1. Returns the customer, Agent Two's leg and the bridge."""
    customer, first, customer_bridge = answered_call(pbx, talk=4)
    pbx.hold(first)
    consult = pbx.leg(AGENT_ONE, state="4")  # Agent One's phone dials 1002: a new call
    pbx.newchannel(consult)
    pbx.answer(consult)
    target = pbx.dial(consult, AGENT_TWO)
    pbx.wait(2)
    pbx.answer(target)
    pbx.dial_end(consult, target, "ANSWER")
    consult_bridge = pbx.bridge(target, consult)
    pbx.wait(5)
    assert consult.linkedid != customer.linkedid
    assert target.linkedid == consult.linkedid
    assert len(pbx.tracker.live_calls) == 2

    pbx.leave(first)
    pbx.leave(consult)
    if surviving == "customer's":
        pbx.leave(target)
        pbx.enter(customer_bridge, target)
        dest, gone = customer_bridge, consult_bridge
    else:
        pbx.leave(customer)
        pbx.enter(consult_bridge, customer)
        dest, gone = consult_bridge, customer_bridge
    pbx.attended_transfer(
        first,
        consult,
        customer,
        target,
        orig_bridge=customer_bridge,
        second_bridge=consult_bridge,
        dest_bridge=dest,
    )
    pbx.destroy(gone)
    pbx.soft_hangup_request(consult if replaced == "consultation" else first, "1")
    pbx.hangup(first, "16")
    pbx.hangup(consult, "16")
    pbx.wait(10)
    return customer, target, dest
