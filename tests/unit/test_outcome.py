"""Outcome, ended_by and hangup_cause: one test per rule of shared/ami/README.md.

Each test plays a hand-built event sequence (modelled on the captures' headers and event
order) through the tracker and reads the finished call's record.
"""

from __future__ import annotations

import pytest

from telephony.calls.model import Call, Direction, EndedBy, Outcome
from telephony.calls.outcome import classify
from tests.unit.fake_asterisk import (
    AGENT_ONE,
    AGENT_TWO,
    CUSTOMER_NUMBER,
    TRUNK,
    FakeAsterisk,
    Leg,
    answered_call,
    connect,
    hang_up_both,
    ring_agent,
)

# -- answered calls: completed, by whoever asked first ---------------------------------------


def test_customer_hangup_after_answer_is_completed_by_customer() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx, ring=2.0, talk=10.0)
    pbx.hangup_request(customer, "16")
    hang_up_both(pbx, customer, agent, bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.COMPLETED,
        EndedBy.CUSTOMER,
        16,
    )
    assert record.agent == AGENT_ONE
    assert record.customer == CUSTOMER_NUMBER
    assert record.direction is Direction.INBOUND
    assert record.ring_seconds == pytest.approx(2.0, abs=0.01)
    assert record.talk_seconds == pytest.approx(10.0, abs=0.01)
    assert record.drop_reason is None


def test_agent_hangup_after_answer_is_completed_by_agent() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.hangup_request(agent, "16")
    hang_up_both(pbx, agent, customer, bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.COMPLETED,
        EndedBy.AGENT,
        16,
    )


def test_customer_request_wins_even_when_the_agent_asked_first() -> None:
    # "the ending leg is the customer leg if it has a request", whatever the order
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.hangup_request(agent, "16")
    pbx.hangup_request(customer, "16")
    hang_up_both(pbx, agent, customer, bridge=bridge)

    assert pbx.record().ended_by is EndedBy.CUSTOMER


def test_answered_call_the_pbx_ends_without_any_request_is_completed_by_system() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.soft_hangup_request(customer, "16")  # the dialplan ended, e.g. a time limit
    hang_up_both(pbx, customer, agent, first_cause="16", second_cause="0", bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.SYSTEM)
    assert record.hangup_cause == 16  # with no ending leg: the customer leg's cause


def test_an_agent_who_left_before_the_customers_last_bridge_does_not_end_the_call() -> None:
    # Agent One transfers the customer to Agent Two, then her phone sends BYE; later the PBX
    # ends the call on its own. Only agents in the customer's last bridge can be the ender.
    pbx = FakeAsterisk()
    customer, first, bridge = answered_call(pbx)
    pbx.blind_transfer(first, customer, "1002")
    pbx.leave(first)
    pbx.leave(customer)
    pbx.destroy(bridge)
    pbx.hangup_request(first, "16")
    pbx.hangup(first, "16")
    second = pbx.dial(customer, AGENT_TWO)
    second_bridge = connect(pbx, customer, second)
    pbx.wait(5)
    pbx.soft_hangup_request(customer, "16")
    hang_up_both(pbx, customer, second, bridge=second_bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.SYSTEM)


# -- never answered: abandoned or missed -----------------------------------------------------


def test_customer_hangup_while_ringing_is_abandoned() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    agent = ring_agent(pbx, customer)
    pbx.wait(6)
    pbx.hangup_request(customer, "127")  # CANCEL
    pbx.dial_end(customer, agent, "CANCEL")
    pbx.soft_hangup_request(agent, "16")
    pbx.hangup(agent, "127")
    pbx.hangup(customer, "127")

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.ABANDONED,
        EndedBy.CUSTOMER,
        127,
    )
    assert record.agent is None
    assert record.ring_seconds == pytest.approx(6.0, abs=0.01)
    assert record.talk_seconds is None


def test_customer_hangup_while_waiting_in_the_queue_is_abandoned() -> None:
    # The queue answered the customer's channel (it is Up): that is not an answer by an agent.
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    pbx.answer(customer)
    pbx.queue_join(customer)
    agent = ring_agent(pbx, customer)
    pbx.wait(14)
    pbx.hangup_request(customer, "16")
    pbx.dial_end(customer, agent, "CANCEL")
    pbx.hangup(agent, "0")
    pbx.hangup(customer, "0")

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.ABANDONED,
        EndedBy.CUSTOMER,
        0,
    )
    assert record.queue == "support"


def test_agent_phone_declining_is_missed_by_agent() -> None:
    # As in direct_agent_busy: 486 from the phone, DialEnd BUSY, both legs cause 17.
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    agent = ring_agent(pbx, customer)
    pbx.wait(1.5)
    pbx.hangup_request(agent, "17")
    pbx.dial_end(customer, agent, "BUSY")
    pbx.soft_hangup_request(customer, "16")
    pbx.hangup(agent, "17")
    pbx.hangup(customer, "17")

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.MISSED,
        EndedBy.AGENT,
        17,
    )


def test_nobody_answering_before_the_dial_timeout_is_missed_by_system() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    agent = ring_agent(pbx, customer)
    pbx.wait(30)
    pbx.dial_end(customer, agent, "NOANSWER")
    pbx.hangup(agent, "0")
    pbx.soft_hangup_request(customer, "16")
    pbx.hangup(customer, "19")

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.MISSED,
        EndedBy.SYSTEM,
        19,
    )


@pytest.mark.parametrize(
    ("statuses", "ended_by"),
    [
        (["BUSY", "NOANSWER"], EndedBy.SYSTEM),
        (["NOANSWER", "BUSY"], EndedBy.AGENT),
    ],
)
def test_only_the_last_dial_end_decides_who_missed_the_call(
    statuses: list[str], ended_by: EndedBy
) -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    pbx.answer(customer)
    pbx.queue_join(customer)
    for endpoint, status in zip((AGENT_ONE, AGENT_TWO), statuses, strict=True):
        agent = ring_agent(pbx, customer, endpoint)
        pbx.wait(4)
        if status == "BUSY":
            pbx.hangup_request(agent, "17")
        pbx.dial_end(customer, agent, status)
        pbx.hangup(agent, "17" if status == "BUSY" else "0")
    pbx.soft_hangup_request(customer, "16")  # the queue timed out
    pbx.hangup(customer, "16")

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.MISSED, ended_by)


def queue_times_out(pbx: FakeAsterisk) -> Leg:
    """A customer waits in the queue while Agent One rings unanswered; then Queue() gives up
    (its timeout) and sets QUEUESTATUS on the customer's channel."""
    customer = pbx.incoming()
    pbx.answer(customer)
    pbx.queue_join(customer)
    agent = ring_agent(pbx, customer)
    pbx.wait(8)
    pbx.dial_end(customer, agent, "NOANSWER")
    pbx.hangup(agent, "0")
    pbx.var_set(customer, "QUEUESTATUS", "TIMEOUT")
    return customer


def test_a_queue_that_gives_up_makes_the_call_missed_whoever_hangs_up_afterwards() -> None:
    # Asterisk also sends a QueueCallerAbandon at a queue timeout: not an abandon.
    pbx = FakeAsterisk()
    customer = queue_times_out(pbx)
    pbx.wait(3)  # e.g. a goodbye message, during which the customer hangs up
    pbx.hangup_request(customer, "16")
    pbx.hangup(customer, "0")

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.MISSED, EndedBy.SYSTEM)


def test_a_queue_status_set_after_the_customer_asked_to_leave_changes_nothing() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    pbx.answer(customer)
    pbx.queue_join(customer)
    pbx.wait(5)
    pbx.hangup_request(customer, "16")
    pbx.var_set(customer, "QUEUESTATUS", "TIMEOUT")
    pbx.hangup(customer, "0")

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.ABANDONED, EndedBy.CUSTOMER)


@pytest.mark.parametrize(("cause", "status"), [("17", "BUSY"), ("21", "CHANUNAVAIL")])
def test_an_outbound_call_the_customer_did_not_take_is_missed_by_the_customer(
    cause: str, status: str
) -> None:
    # As lab2_d3's first callback attempt: the agent answers, the customer's line is busy
    # (486: HangupRequest 17) or declines (603: cause 21).
    pbx = FakeAsterisk()
    agent = pbx.originate(AGENT_ONE)
    pbx.wait(2)
    pbx.answer(agent)
    pbx.dial_end(None, agent, "ANSWER")
    customer = pbx.dial(agent, TRUNK, dial_string="PJSIP/15551230108@carrier")
    pbx.hangup_request(customer, cause)
    pbx.dial_end(agent, customer, status)
    pbx.hangup(customer, cause)
    pbx.soft_hangup_request(agent, "16")
    pbx.hangup(agent, cause)

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.MISSED,
        EndedBy.CUSTOMER,
        int(cause),
    )
    assert record.direction is Direction.OUTBOUND
    assert record.customer == "15551230108"
    assert record.agent is None


# -- the line or the PBX cut it: dropped or failed -------------------------------------------


def test_driver_hangup_of_the_customer_leg_drops_the_answered_call() -> None:
    # As in dropped_mid_call_network: no RTP, SoftHangupRequest Cause 1, then Hangup 44.
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx, talk=17)
    pbx.soft_hangup_request(customer, "1")
    pbx.leave(customer)
    pbx.soft_hangup_request(customer, "16")
    hang_up_both(pbx, customer, agent, first_cause="44", second_cause="16", bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.DROPPED,
        EndedBy.SYSTEM,
        44,
    )
    assert record.drop_reason is not None
    assert TRUNK in record.drop_reason


def test_driver_hangup_of_the_agent_leg_drops_the_answered_call() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.soft_hangup_request(agent, "1")
    hang_up_both(pbx, agent, customer, first_cause="44", second_cause="16", bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.DROPPED,
        EndedBy.SYSTEM,
        44,  # the ending leg's cause, not the customer's 16
    )


def test_driver_hangup_before_anyone_answered_fails_the_call() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    agent = ring_agent(pbx, customer)
    pbx.wait(3)
    pbx.soft_hangup_request(customer, "1")
    pbx.dial_end(customer, agent, "CANCEL")
    pbx.hangup(agent, "0")
    pbx.hangup(customer, "44")

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.FAILED, EndedBy.SYSTEM)


def test_fault_cause_sent_by_the_agent_phone_drops_the_answered_call() -> None:
    # As in agent_hangup_with_cause: BYE with Reason Q.850 cause 41 from the agent side.
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx, talk=8)
    pbx.hangup_request(agent, "41")
    hang_up_both(pbx, agent, customer, first_cause="41", second_cause="16", bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.DROPPED,
        EndedBy.SYSTEM,
        41,
    )
    assert record.agent == AGENT_ONE


@pytest.mark.parametrize("cause", ["27", "34", "38", "41", "42", "44", "47", "102", "111"])
def test_pbx_ending_an_ivr_answered_call_with_a_fault_cause_drops_it(cause: str) -> None:
    # As in pbx_hangup_cause38: Answer, Playback, Hangup(38); no agent, no request.
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    pbx.answer(customer)
    pbx.wait(5)
    pbx.soft_hangup_request(customer, "16")
    pbx.hangup(customer, cause)

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.DROPPED,
        EndedBy.SYSTEM,
        int(cause),
    )
    assert record.agent is None


@pytest.mark.parametrize("cause", ["16", "0", "31"])
def test_pbx_ending_an_ivr_answered_call_normally_is_not_a_drop(cause: str) -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    pbx.answer(customer)
    pbx.wait(5)
    pbx.soft_hangup_request(customer, "16")
    pbx.hangup(customer, cause)

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.MISSED, EndedBy.SYSTEM)


def test_fault_cause_on_a_customer_leg_that_was_never_up_fails_the_call() -> None:
    pbx = FakeAsterisk()
    customer = pbx.incoming()
    agent = ring_agent(pbx, customer)
    pbx.wait(1)
    pbx.dial_end(customer, agent, "CONGESTION")
    pbx.hangup(agent, "34")
    pbx.hangup(customer, "34")

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.FAILED,
        EndedBy.SYSTEM,
        34,
    )


def test_outbound_call_the_carrier_rejects_with_congestion_fails() -> None:
    # A callback: Originate rings the agent, who answers; Dial to the trunk gets 503/cause 34.
    pbx = FakeAsterisk()
    agent = pbx.originate(AGENT_ONE)
    pbx.wait(2)
    pbx.answer(agent)
    pbx.dial_end(None, agent, "ANSWER")
    customer = pbx.dial(agent, TRUNK, dial_string="2001/+15559870001")
    pbx.wait(1)
    pbx.hangup_request(customer, "34")
    pbx.dial_end(agent, customer, "CONGESTION")
    pbx.hangup(customer, "34")
    pbx.soft_hangup_request(agent, "16")
    pbx.hangup(agent, "16")

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.FAILED,
        EndedBy.SYSTEM,
        34,
    )
    assert record.direction is Direction.OUTBOUND
    assert record.customer == "+15559870001"


def test_cancel_cause_127_is_not_a_fault() -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.hangup_request(customer, "127")
    hang_up_both(pbx, customer, agent, first_cause="127", second_cause="127", bridge=bridge)

    assert pbx.record().outcome is Outcome.COMPLETED


# -- SoftHangupRequest: only Cause 1 is the driver ------------------------------------------


@pytest.mark.parametrize("cause", ["16", "32", "8", "0", "", "x"])
def test_soft_hangup_request_with_a_cause_other_than_1_is_ignored(cause: str) -> None:
    # The agent's BYE ends the call; the PBX then soft-hangs-up the customer with a flag.
    # If that flag counted as a request, the customer (or the driver) would be the ender.
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.hangup_request(agent, "16")
    pbx.soft_hangup_request(customer, cause)
    hang_up_both(pbx, agent, customer, bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.AGENT)


@pytest.mark.parametrize("cause", ["16", "32"])
def test_soft_hangup_request_with_a_flag_cause_alone_is_not_a_driver_drop(cause: str) -> None:
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.soft_hangup_request(customer, cause)
    hang_up_both(pbx, customer, agent, bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by) == (Outcome.COMPLETED, EndedBy.SYSTEM)


def test_a_driver_request_on_a_leg_that_hangs_up_with_16_is_no_request() -> None:
    # Asterisk sends SoftHangupRequest Cause 1 to the leg an attended transfer replaces too;
    # that leg then hangs up with 16. The customer's later BYE ends the call.
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.soft_hangup_request(agent, "1")
    pbx.leave(agent)
    pbx.hangup(agent, "16")
    pbx.wait(5)
    pbx.hangup_request(customer, "16")
    pbx.leave(customer)
    pbx.destroy(bridge)
    pbx.hangup(customer, "16")

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.COMPLETED,
        EndedBy.CUSTOMER,
        16,
    )
    assert record.drop_reason is None
    assert not any(leg.driver_hangup for leg in pbx.ended()[0].legs)


def test_the_driver_giving_up_before_the_legs_own_bye_is_that_legs_request() -> None:
    # Cause 1, a BYE, then Hangup 44: the driver asked first, so the call was dropped.
    pbx = FakeAsterisk()
    customer, agent, bridge = answered_call(pbx)
    pbx.soft_hangup_request(agent, "1")
    pbx.hangup_request(agent, "16")
    hang_up_both(pbx, agent, customer, first_cause="44", second_cause="16", bridge=bridge)

    record = pbx.record()
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        Outcome.DROPPED,
        EndedBy.SYSTEM,
        44,
    )
    assert [leg.endpoint for leg in pbx.ended()[0].legs if leg.driver_hangup] == [AGENT_ONE]


# -- the classifier on its own ---------------------------------------------------------------


def test_a_call_with_no_channels_is_classified_without_raising() -> None:
    verdict = classify(Call("1795478681.0"))
    assert verdict.outcome is Outcome.MISSED
    assert verdict.ended_by is EndedBy.UNKNOWN
    assert verdict.ending_leg is None
