"""The call tracker: channels -> calls, on hand-built event sequences modelled on the captures."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.calls.model import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallRinging,
    CallTransferred,
    CallUnheld,
    EndedBy,
    KnownCall,
    Outcome,
)
from telephony.calls.tracker import CallTracker
from telephony.calls.trunks import TrunkPlan
from telephony.lines.watch import LineWatch
from telephony.switchboard import Switchboard
from tests.unit.fake_asterisk import (
    AGENT_ONE,
    AGENT_TWO,
    CUSTOMER_NUMBER,
    TRUNK,
    FakeAsterisk,
    Leg,
    answered_call,
    attended_transfer,
    connect,
    hang_up_both,
    ring_agent,
)


def customer_hangs_up(pbx: FakeAsterisk, customer: Leg, agent: Leg, bridge: str) -> None:
    pbx.hangup_request(customer, "16")
    hang_up_both(pbx, customer, agent, bridge=bridge)


# -- queues -----------------------------------------------------------------------------------


def test_queue_ringing_two_agents_at_once_is_one_call_with_the_agent_who_answered() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    pbx.answer(customer)  # Queue() answers the channel first
    pbx.queue_join(customer)
    one = ring_agent(pbx, customer, AGENT_ONE)
    two = ring_agent(pbx, customer, AGENT_TWO)
    pbx.wait(3)
    pbx.answer(two)
    pbx.dial_end(customer, two, "ANSWER")
    pbx.dial_end(customer, one, "CANCEL")
    pbx.hangup(one, "26")  # answered elsewhere
    bridge = pbx.bridge(two, customer)
    pbx.wait(10)
    customer_hangs_up(pbx, customer, two, bridge)

    ringing = [u for u in pbx.updates if isinstance(u, CallRinging)]
    assert [r.agent for r in ringing] == [AGENT_ONE, AGENT_TWO]
    assert {r.call_id for r in ringing} == {customer.linkedid}
    assert [(a.agent, a.first) for a in pbx.answered()] == [(AGENT_TWO, True)]
    record = pbx.record()
    assert record.call_id == customer.linkedid
    assert record.agent == AGENT_TWO
    assert record.agents == (AGENT_TWO,)
    assert record.queue == "support"
    assert record.ring_seconds == pytest.approx(3.0, abs=0.01)
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.CUSTOMER)


def test_an_agent_leg_hanging_up_while_others_live_does_not_end_the_call() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    one = ring_agent(pbx, customer, AGENT_ONE)
    pbx.wait(8)
    pbx.dial_end(customer, one, "NOANSWER")
    pbx.hangup(one, "0")

    assert pbx.ended() == []
    assert len(pbx.tracker.live_calls) == 1


def test_ringing_then_answered_updates_carry_the_customer_and_the_agent() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    agent = ring_agent(pbx, customer)
    ringing = [u for u in pbx.updates if isinstance(u, CallRinging)]
    assert [(r.call_id, r.agent, r.customer) for r in ringing] == [
        (customer.linkedid, AGENT_ONE, CUSTOMER_NUMBER)
    ]
    connect(pbx, customer, agent)
    answered = pbx.answered()
    assert [(a.call_id, a.agent, a.customer, a.first) for a in answered] == [
        (customer.linkedid, AGENT_ONE, CUSTOMER_NUMBER, True)
    ]


def test_a_queue_answering_the_customer_channel_is_not_an_answer() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    pbx.answer(customer)
    pbx.queue_join(customer)
    pbx.wait(5)
    assert pbx.answered() == []
    assert not pbx.tracker.live_calls[0].answered


# -- hold -------------------------------------------------------------------------------------


def test_each_hold_is_paired_with_the_next_unhold_on_the_same_channel() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx, talk=4)
    pbx.hold(agent)
    pbx.wait(6)
    pbx.unhold(agent)
    pbx.wait(2)
    pbx.hold(agent)
    pbx.wait(3)
    pbx.unhold(agent)
    pbx.wait(5)
    customer_hangs_up(pbx, customer, agent, bridge)

    assert pbx.record().hold_seconds == pytest.approx(9.0, abs=0.01)
    kinds = [type(u) for u in pbx.updates if isinstance(u, CallHeld | CallUnheld)]
    assert kinds == [CallHeld, CallUnheld, CallHeld, CallUnheld]


def test_a_hold_never_released_ends_at_that_channels_hangup() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx, talk=4)
    pbx.hold(agent)
    pbx.wait(4)
    pbx.hangup_request(customer, "16")
    pbx.leave(customer)
    pbx.hangup(customer, "16")  # the customer gives up while on hold
    pbx.wait(1)
    pbx.leave(agent)
    pbx.destroy(bridge)
    pbx.hangup(agent, "16")  # the held channel ends one second later

    assert pbx.record().hold_seconds == pytest.approx(5.0, abs=0.01)


def test_an_unhold_without_a_hold_is_ignored() -> None:
    # Asterisk sends an Unhold before a blind transfer even when nothing was held.
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx, talk=4)
    pbx.unhold(agent)
    pbx.wait(3)
    pbx.unhold(agent)
    customer_hangs_up(pbx, customer, agent, bridge)

    assert pbx.record().hold_seconds == 0.0
    assert not [u for u in pbx.updates if isinstance(u, CallUnheld)]


def test_an_unhold_on_another_channel_does_not_release_a_hold() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx, talk=4)
    pbx.hold(agent)
    pbx.wait(2)
    pbx.unhold(customer)
    pbx.wait(3)
    pbx.unhold(agent)
    customer_hangs_up(pbx, customer, agent, bridge)

    assert pbx.record().hold_seconds == pytest.approx(5.0, abs=0.01)


# -- transfers --------------------------------------------------------------------------------


def blind_transfer_to_agent_two(pbx: FakeAsterisk) -> tuple[Leg, Leg, str]:
    """As in transfer_and_hold: 1001 answers, blind-transfers to 1002, who answers."""
    customer, first, bridge = answered_call(pbx, talk=4)
    pbx.unhold(first)
    pbx.blind_transfer(first, customer, "1002")
    pbx.leave(first)
    pbx.leave(customer)
    pbx.destroy(bridge)
    pbx.hangup(first, "16")
    second = pbx.dial(customer, AGENT_TWO)
    second_bridge = connect(pbx, customer, second)
    pbx.wait(9)
    return customer, second, second_bridge


def test_blind_transfer_keeps_one_call_and_counts_one_transfer() -> None:
    pbx = FakeAsterisk()
    customer, second, bridge = blind_transfer_to_agent_two(pbx)
    customer_hangs_up(pbx, customer, second, bridge)

    record = pbx.record()
    assert record.call_id == customer.linkedid
    assert record.transfers == 1
    assert record.agent == AGENT_ONE
    assert record.agents == (AGENT_ONE, AGENT_TWO)
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.CUSTOMER)
    transferred = [u for u in pbx.updates if isinstance(u, CallTransferred)]
    assert [(t.call_id, t.kind, t.target) for t in transferred] == [
        (customer.linkedid, "blind", "1002")
    ]
    assert [(a.agent, a.first) for a in pbx.answered()] == [(AGENT_ONE, True), (AGENT_TWO, False)]


def test_a_blind_transfer_that_did_not_succeed_is_not_counted() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.blind_transfer(agent, customer, "1002", result="Fail")
    customer_hangs_up(pbx, customer, agent, bridge)

    assert pbx.record().transfers == 0


@pytest.mark.parametrize("surviving", ["customer's", "consultation"])
def test_attended_transfer_merges_the_consultation_call_into_the_customers_call(
    surviving: str,
) -> None:
    pbx = FakeAsterisk()
    customer, target, bridge = attended_transfer(pbx, surviving=surviving)

    assert [c.call_id for c in pbx.tracker.live_calls] == [customer.linkedid]
    assert pbx.ended() == []  # the consultation call did not end on its own
    customer_hangs_up(pbx, customer, target, bridge)

    (ended,) = pbx.ended()
    assert ended.merged == (target.linkedid,)  # the consultation call ends with it
    assert pbx.tracker.live_calls == []
    record = pbx.record()
    assert record.call_id == customer.linkedid
    assert record.transfers == 1
    assert record.customer == CUSTOMER_NUMBER
    assert record.agent == AGENT_ONE
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.CUSTOMER)
    transferred = [u for u in pbx.updates if isinstance(u, CallTransferred)]
    assert [(t.call_id, t.kind) for t in transferred] == [(customer.linkedid, "attended")]


@pytest.mark.parametrize("surviving", ["customer's", "consultation"])
def test_attended_transfer_target_counts_as_an_agent_of_the_customers_call(
    surviving: str,
) -> None:
    # README: "agents" is every agent bridged with the customer, in order; the transfer target
    # talks to the customer after the transfer, so the agent's console must get the pop.
    pbx = FakeAsterisk()
    customer, target, bridge = attended_transfer(pbx, surviving=surviving)
    customer_hangs_up(pbx, customer, target, bridge)

    record = pbx.record()
    assert record.agents == (AGENT_ONE, AGENT_TWO)
    answered_for_customer = [
        (a.agent, a.first) for a in pbx.answered() if a.call_id == customer.linkedid
    ]
    assert answered_for_customer == [(AGENT_ONE, True), (AGENT_TWO, False)]


@pytest.mark.parametrize("replaced", ["consultation", "customer's"])
@pytest.mark.parametrize("surviving", ["customer's", "consultation"])
def test_the_leg_an_attended_transfer_replaces_is_no_media_timeout_and_no_drop(
    surviving: str, replaced: str
) -> None:
    # Asterisk sends it SoftHangupRequest Cause 1, then it hangs up with 16: the driver did
    # not give up on it. Agent Two's BYE ends the call later.
    pbx = FakeAsterisk()
    customer, target, bridge = attended_transfer(pbx, surviving=surviving, replaced=replaced)
    pbx.hangup_request(target, "16")
    hang_up_both(pbx, target, customer, bridge=bridge)

    ended = pbx.ended()
    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.COMPLETED,
        EndedBy.AGENT,
        16,
    )
    assert record.drop_reason is None
    assert LineWatch().call_ended(ended[0]) == []


def test_a_channel_whose_linkedid_changes_takes_its_call_along() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx, talk=3)
    # Agent Two's phone starts its own call (its own Linkedid) ...
    helper = pbx.leg(AGENT_TWO, state="4")
    pbx.newchannel(helper)
    pbx.answer(helper)
    assert len(pbx.tracker.live_calls) == 2
    # ... and Asterisk later moves that channel to the customer's Linkedid as it joins.
    own_call, helper.linkedid = helper.linkedid, customer.linkedid
    pbx.enter(bridge, helper)

    assert [c.call_id for c in pbx.tracker.live_calls] == [customer.linkedid]
    pbx.wait(4)
    pbx.hangup_request(customer, "16")
    pbx.leave(customer)
    pbx.hangup(customer, "16")
    pbx.leave(helper)
    pbx.hangup(helper, "16")
    assert pbx.ended() == []  # Agent One's leg is still up
    pbx.leave(agent)
    pbx.destroy(bridge)
    pbx.hangup(agent, "16")

    record = pbx.record()
    assert record.call_id == customer.linkedid
    assert record.agents == (AGENT_ONE, AGENT_TWO)
    assert pbx.ended()[0].merged == (own_call,)
    assert pbx.tracker.live_calls == []


# -- whom the PBX dialled ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dial_string", "number"),
    [
        ("PJSIP/15551230108@carrier", "15551230108"),
        ("15551230108@carrier", "15551230108"),  # as Dial(PJSIP/${NUMBER}@carrier) reports it
        ("2001/+15559870001", "+15559870001"),
        ("2001", "2001"),
        ("<unknown>", None),
    ],
)
def test_a_customer_the_pbx_dialled_is_the_dial_strings_user_part_live_and_on_record(
    dial_string: str, number: str | None
) -> None:
    pbx = FakeAsterisk()
    agent = pbx.originate(AGENT_ONE)
    pbx.answer(agent)
    pbx.dial_end(None, agent, "ANSWER")
    customer = pbx.dial(agent, TRUNK, dial_string=dial_string)
    bridge = connect(pbx, agent, customer)

    live = pbx.tracker.snapshot(agent.linkedid)
    assert live is not None
    assert live.customer == number  # a callback's call is found under its customer's number
    pbx.hangup_request(customer, "16")
    hang_up_both(pbx, customer, agent, bridge=bridge)
    assert pbx.record().customer == number


# -- memory -----------------------------------------------------------------------------------


def one_of_each(pbx: FakeAsterisk, kind: int) -> None:
    """Plays one complete call of a kind picked by `kind`; every leg ends."""
    if kind == 0:
        customer, agent, bridge = answered_call(pbx, talk=1)
        pbx.hold(agent)
        customer_hangs_up(pbx, customer, agent, bridge)
    elif kind == 1:
        customer = pbx.incoming()
        agent = ring_agent(pbx, customer)
        pbx.hangup_request(customer, "127")
        pbx.dial_end(customer, agent, "CANCEL")
        pbx.hangup(agent, "127")
        pbx.hangup(customer, "127")
    elif kind == 2:
        customer, second, bridge = blind_transfer_to_agent_two(pbx)
        customer_hangs_up(pbx, customer, second, bridge)
    elif kind == 3:
        customer, target, bridge = attended_transfer(pbx, surviving="customer's")
        customer_hangs_up(pbx, customer, target, bridge)
    else:
        customer = pbx.incoming()
        pbx.answer(customer)
        pbx.queue_join(customer)
        one = ring_agent(pbx, customer, AGENT_ONE)
        two = ring_agent(pbx, customer, AGENT_TWO)
        pbx.answer(one)
        pbx.dial_end(customer, one, "ANSWER")
        pbx.dial_end(customer, two, "CANCEL")
        pbx.hangup(two, "26")
        bridge = pbx.bridge(one, customer)
        pbx.soft_hangup_request(customer, "1")
        hang_up_both(pbx, customer, one, first_cause="44", bridge=bridge)


@pytest.mark.parametrize("destroy_bridges", [True, False])
def test_memory_stays_bounded_after_many_calls_end(destroy_bridges: bool) -> None:
    pbx = FakeAsterisk(send_bridge_destroy=destroy_bridges)
    calls = 250
    for n in range(calls):
        one_of_each(pbx, n % 5)
        pbx.wait(1)

    assert len(pbx.ended()) == calls
    assert pbx.tracker.live_calls == []
    tracker = pbx.tracker
    book = tracker._book
    assert (len(book.owner), len(book.alias), len(book.bridges)) == (0, 0, 0)
    assert tracker.anomalies == 0


# -- reconcile after a reconnect --------------------------------------------------------------


def core_show_channel(leg: Leg, *, bridge: str = "", duration: str = "00:00:12") -> dict[str, str]:
    """One CoreShowChannel entry of the CoreShowChannels response (Asterisk 22)."""
    return {
        "Event": "CoreShowChannel",
        "ActionID": "resync-1",
        **leg.snapshot(),
        "Application": "Dial" if leg.context == "from-trunk" else "AppDial",
        "ApplicationData": "",
        "Duration": duration,
        "BridgeId": bridge,
    }


def test_reconcile_ends_calls_whose_channels_vanished_with_ended_by_unknown() -> None:
    pbx = FakeAsterisk()
    customer, _, _ = answered_call(pbx)
    pbx.wait(30)  # the AMI link was down; both hung up meanwhile

    updates = pbx.tracker.reconcile([], pbx.now)

    ended = [u for u in updates if isinstance(u, CallEnded)]
    assert len(ended) == 1
    assert ended[0].ended_in_gap is True
    assert ended[0].record.call_id == customer.linkedid
    assert ended[0].record.ended_by is EndedBy.UNKNOWN
    assert ended[0].record.ended_at == pbx.now
    assert pbx.tracker.live_calls == []
    assert len(pbx.tracker._book.owner) == 0


def test_reconcile_keeps_calls_whose_channels_are_all_still_live() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    live = [core_show_channel(customer, bridge=bridge), core_show_channel(agent, bridge=bridge)]

    assert pbx.tracker.reconcile(live, pbx.now) == []
    assert len(pbx.tracker.live_calls) == 1
    customer_hangs_up(pbx, customer, agent, bridge)
    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.CUSTOMER)


def test_reconcile_keeps_a_call_when_only_one_of_its_legs_vanished() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    pbx.answer(customer)
    pbx.queue_join(customer)
    ringing = ring_agent(pbx, customer)
    pbx.wait(20)

    updates = pbx.tracker.reconcile([core_show_channel(customer)], pbx.now)

    assert not [u for u in updates if isinstance(u, CallEnded)]
    assert len(pbx.tracker.live_calls) == 1
    del ringing
    pbx.hangup_request(customer, "16")
    pbx.hangup(customer, "0")
    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.ABANDONED, EndedBy.CUSTOMER)


def test_reconcile_adopts_a_bridged_customer_and_agent_as_an_answered_call() -> None:
    # The link came up while a call was in progress: only CoreShowChannels knows about it.
    pbx = FakeAsterisk()
    unseen = FakeAsterisk()  # builds legs the tracker under test never heard of
    customer = unseen.leg(TRUNK, caller_num=CUSTOMER_NUMBER, state="6")
    agent = unseen.leg(AGENT_ONE, linkedid=customer.linkedid, state="6")
    bridge = "7e43fede-b3d3-40ca-839f-300c124fa069"

    updates = pbx.tracker.reconcile(
        [core_show_channel(customer, bridge=bridge), core_show_channel(agent, bridge=bridge)],
        pbx.now,
    )

    answered = [u for u in updates if isinstance(u, CallAnswered)]
    assert [(a.call_id, a.agent, a.customer) for a in answered] == [
        (customer.linkedid, AGENT_ONE, CUSTOMER_NUMBER)
    ]
    assert len(pbx.tracker.live_calls) == 1
    pbx.wait(5)
    customer.bridge = agent.bridge = bridge
    customer_hangs_up(pbx, customer, agent, bridge)
    record = pbx.record()
    assert record.call_id == customer.linkedid
    assert record.customer == CUSTOMER_NUMBER
    assert record.agent == AGENT_ONE
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.CUSTOMER)


def test_reconcile_adopts_a_ringing_call_as_unanswered() -> None:
    pbx = FakeAsterisk()
    unseen = FakeAsterisk()
    customer = unseen.leg(TRUNK, caller_num=CUSTOMER_NUMBER, state="4")

    updates = pbx.tracker.reconcile([core_show_channel(customer)], pbx.now)

    assert not [u for u in updates if isinstance(u, CallAnswered)]
    pbx.hangup_request(customer, "127")
    pbx.hangup(customer, "127")
    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.ABANDONED, EndedBy.CUSTOMER)


# -- taken up again after a restart ------------------------------------------------------------


def known_before_restart(customer: Leg, started_at: float, answered_at: float) -> KnownCall:
    """What the service had stored of an answered call when it was killed."""
    return KnownCall(
        call_id=customer.linkedid,
        started_at=started_at,
        answered_at=answered_at,
        agents=(AGENT_ONE,),
        rung=(AGENT_ONE,),
        queue="support",
        transfers=0,
        recording=None,
    )


def test_a_call_taken_up_after_a_restart_keeps_its_stored_answer_on_its_own_clock() -> None:
    # Stored before the kill on the PBX's clock (Timestamp headers); our clock is 13 days off.
    pbx = FakeAsterisk()
    unseen = FakeAsterisk()
    customer = unseen.leg(TRUNK, caller_num=CUSTOMER_NUMBER, state="6")
    agent = unseen.leg(AGENT_ONE, linkedid=customer.linkedid, state="6")
    bridge = "7e43fede-b3d3-40ca-839f-300c124fa069"
    known = {customer.linkedid: known_before_restart(customer, pbx.now - 40, pbx.now - 30)}
    listed = [
        core_show_channel(customer, bridge=bridge, duration="00:00:40"),
        core_show_channel(agent, bridge=bridge, duration="00:00:30"),
    ]

    updates = pbx.tracker.reconcile(listed, pbx.now + 1_169_858, known)

    assert updates == [], "the agent answered before the restart: no second answer"
    live = pbx.tracker.snapshot(customer.linkedid)
    assert live is not None and live.events_missed
    assert (live.agents, live.answered_at, live.queue) == ((AGENT_ONE,), pbx.now - 30, "support")
    pbx.wait(5)
    customer.bridge = agent.bridge = bridge
    customer_hangs_up(pbx, customer, agent, bridge)
    (ended,) = pbx.ended()
    record = ended.record
    assert (record.outcome, record.ended_by, record.agent) == (
        Outcome.COMPLETED,
        EndedBy.CUSTOMER,
        AGENT_ONE,
    )
    assert record.ring_seconds == pytest.approx(10.0)
    assert record.talk_seconds == pytest.approx(35.0)
    assert ended.events_missed is True


def test_a_hang_up_heard_while_the_channel_list_is_read_is_not_lost() -> None:
    # The customer hangs up between the login and the list: the HangupRequest names a
    # channel the tracker does not know yet; the list then still shows it, the Hangup follows.
    pbx = FakeAsterisk()
    unseen = FakeAsterisk()
    customer = unseen.leg(TRUNK, caller_num=CUSTOMER_NUMBER, state="6")
    pbx.tracker.expect_resync()
    pbx.hangup_request(customer, "16")

    pbx.tracker.reconcile([core_show_channel(customer)], pbx.now)
    pbx.hangup(customer, "16")

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.ABANDONED, EndedBy.CUSTOMER)


def test_a_call_taken_up_while_it_waits_in_a_queue_knows_the_queue() -> None:
    pbx = FakeAsterisk()
    customer = FakeAsterisk().leg(TRUNK, caller_num=CUSTOMER_NUMBER, state="6")
    waiting = {**core_show_channel(customer), "Application": "Queue"}
    waiting["ApplicationData"] = "support,,,,300"

    pbx.tracker.reconcile([waiting], pbx.now)

    live = pbx.tracker.snapshot(customer.linkedid)
    assert live is not None and live.queue == "support"


def test_calls_that_lived_through_a_gap_say_events_may_be_missing() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    live = [core_show_channel(customer, bridge=bridge), core_show_channel(agent, bridge=bridge)]
    pbx.tracker.reconcile(live, pbx.now)  # a periodic relisting, the link never went down
    calm = pbx.tracker.snapshot(customer.linkedid)
    assert calm is not None and not calm.events_missed

    pbx.tracker.expect_resync()  # the link went down and logged in again
    pbx.tracker.reconcile(live, pbx.now)

    after = pbx.tracker.snapshot(customer.linkedid)
    assert after is not None and after.events_missed


# -- bad input never raises -------------------------------------------------------------------

HEADER_NAMES = [
    "Event",
    "Channel",
    "ChannelState",
    "Uniqueid",
    "Linkedid",
    "CallerIDNum",
    "DestChannel",
    "DestUniqueid",
    "DestLinkedid",
    "DestChannelState",
    "DialString",
    "DialStatus",
    "BridgeUniqueid",
    "BridgeId",
    "Cause",
    "Queue",
    "Variable",
    "Value",
    "Result",
    "TransfereeLinkedid",
    "OrigTransfererLinkedid",
    "SecondTransfererLinkedid",
    "TransferTargetLinkedid",
    "TransferTargetChannel",
    "Extension",
    "Duration",
    "Peer",
    "PeerStatus",
    "ContactStatus",
    "EndpointName",
    "AOR",
    "Status",
    "Domain",
]
EVENT_NAMES = [
    "Newchannel",
    "Newstate",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "BridgeDestroy",
    "Hold",
    "Unhold",
    "HangupRequest",
    "SoftHangupRequest",
    "Hangup",
    "VarSet",
    "QueueCallerJoin",
    "BlindTransfer",
    "AttendedTransfer",
    "ContactStatus",
    "PeerStatus",
    "Registry",
    "CoreShowChannel",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "1795478681.0",
            "1795478681.1",
            "1795478681.2",
            "PJSIP/2001-00000000",
            "PJSIP/1001-00000001",
            "PJSIP/1002-00000002",
            "PJSIP/2001",
            "Local/1001@agents-00000003;1",
            "b1",
            "b2",
            "6",
            "4",
            "1",
            "16",
            "44",
            "Success",
            "BUSY",
            "ANSWER",
            "MIXMONITOR_FILENAME",
            "Unreachable",
            "Reachable",
            "Removed",
            "Rejected",
            "00:00:12",
            "",
            "<unknown>",
        ]
    ),
    st.text(max_size=12),
)
EVENTS = st.builds(
    lambda name, headers: {**headers, "Event": name},
    st.sampled_from(EVENT_NAMES),
    st.dictionaries(st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=8)), VALUES),
)
TIMES = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(st.tuples(EVENTS, TIMES), max_size=40),
    live=st.lists(EVENTS, max_size=5),
    trunks=st.sampled_from(["PJSIP/2001", ""]),
)
def test_random_header_dicts_never_raise(
    events: list[tuple[dict[str, str], float | None]], live: list[dict[str, str]], trunks: str
) -> None:
    board = Switchboard(TrunkPlan.parse(trunks))
    for event, at in events:
        board.feed(event, at)
    board.reconcile(live, None)
    board.reconcile([], 0.0)
    assert board.tracker.live_calls == []


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_an_event_with_nothing_but_its_name_never_raises(name: str) -> None:
    pbx = FakeAsterisk()
    answered_call(pbx)
    tracker: CallTracker = pbx.tracker
    tracker.feed({"Event": name}, pbx.now)
    tracker.feed({"Event": name, "Uniqueid": "", "Linkedid": ""}, None)
    assert len(tracker.live_calls) == 1


@pytest.mark.parametrize(
    "event",
    [
        {"Event": "Newchannel", "Uniqueid": "1795478681.0", "Linkedid": "1795478681.0"},
        {"Event": "DialBegin", "DestUniqueid": "1795478681.1", "DestLinkedid": "1795478681.0"},
    ],
    ids=["Newchannel without Channel", "DialBegin without DestChannel"],
)
def test_an_event_missing_its_channel_name_is_an_anomaly_and_leaves_no_call_behind(
    event: dict[str, str],
) -> None:
    # A call with no channel can never end by a Hangup: it would stay in memory until the
    # next reconcile, which would then report a finished call that never existed.
    tracker = CallTracker(TrunkPlan.parse(TRUNK))
    assert tracker.feed(event, 1.0) == []
    assert tracker.anomalies == 1
    assert tracker.live_calls == []
    assert tracker.reconcile([], 2.0) == []


def test_a_call_that_began_after_the_login_missed_nothing_though_the_list_came_later() -> None:
    pbx = FakeAsterisk()
    pbx.tracker.expect_resync()  # logged in; the channel list is on its way
    customer, agent, bridge = answered_call(pbx)
    live = [core_show_channel(customer, bridge=bridge), core_show_channel(agent, bridge=bridge)]

    pbx.tracker.reconcile(live, pbx.now)

    seen = pbx.tracker.snapshot(customer.linkedid)
    assert seen is not None and not seen.events_missed
