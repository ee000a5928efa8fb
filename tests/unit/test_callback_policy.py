"""The callback rules on their own: who is owed a callback, who is rung, when to try again."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.callbacks import rules as policy
from app.callbacks.rules import CallbackRules, candidate, choose_agent, next_step, queue_wait
from telephony.calls.model import CallEnded
from telephony.calls.trunks import TrunkPlan
from telephony.capture import read_capture
from telephony.switchboard import Switchboard
from tests.conftest import CAPTURES

RULES = CallbackRules(schedule=(0.0, 120.0, 600.0), short_abandon_seconds=5.0)


def ended_of(capture: str) -> CallEnded:
    """The one call a recorded capture holds, as the pipeline hands it to the desk."""
    board = Switchboard(TrunkPlan.parse("PJSIP/2001"))
    ended = [
        signal
        for message in read_capture(CAPTURES / f"{capture}.ami")
        for signal in board.feed(message.headers, message.at)
        if isinstance(signal, CallEnded)
    ]
    assert len(ended) == 1, f"{capture} holds {len(ended)} calls"
    return ended[0]


def test_a_dropped_call_with_an_agent_is_dialled_at_once_through_that_agent() -> None:
    ended = ended_of("dropped_mid_call_cause")
    found = candidate(ended, RULES, at=0.0)
    assert found is not None
    assert (found.reason, found.auto, found.agent) == ("dropped", True, "PJSIP/1001")
    assert found.customer == "+15551230100"
    assert found.hangup_cause == 38


def test_missed_and_long_abandoned_calls_wait_for_a_person() -> None:
    missed = candidate(ended_of("direct_agent_busy"), RULES, at=0.0)
    assert missed is not None
    assert (missed.reason, missed.auto) == ("missed", False)
    abandoned = candidate(ended_of("abandoned_in_queue"), RULES, at=0.0)
    assert abandoned is not None
    assert (abandoned.reason, abandoned.auto, abandoned.queue) == ("abandoned", False, "support")


def test_a_customer_who_gave_up_within_the_short_abandon_time_is_not_owed_one() -> None:
    ended = ended_of("abandoned_in_queue")
    waited = ended.record.ring_seconds or 0.0
    assert candidate(ended, CallbackRules(short_abandon_seconds=waited + 1), at=0.0) is None
    assert candidate(ended, CallbackRules(short_abandon_seconds=waited - 1), at=0.0) is not None


def test_completed_calls_and_callbacks_themselves_are_not_owed_one() -> None:
    assert candidate(ended_of("normal_inbound_caller_hangup"), RULES, at=0.0) is None
    callback = ended_of("originate_callback")
    assert candidate(callback, RULES, at=0.0) is None  # outbound


@pytest.mark.parametrize(
    ("answered", "cause", "result"),
    [
        (True, 16, policy.REACHED),
        (False, 17, policy.BUSY),
        (False, 19, policy.NO_ANSWER),
        (False, 21, policy.REJECTED),
        (False, 34, policy.FAILED),
    ],
)
def test_an_attempt_result_comes_from_how_the_callback_call_ended(
    answered: bool, cause: int, result: str
) -> None:
    assert policy.result_of_call(answered, cause) == result


def test_retries_follow_the_schedule_after_network_faults_and_stop_after_a_rejection() -> None:
    step = next_step(
        RULES, result=policy.FAILED, attempts=1, hangup_cause=34, call_ended_at=100.0, now=101.0
    )
    assert (step.status, step.at) == ("pending", 220.0)
    step = next_step(
        RULES, result=policy.FAILED, attempts=2, hangup_cause=38, call_ended_at=100.0, now=300.0
    )
    assert (step.status, step.at) == ("pending", 700.0)
    last = next_step(
        RULES, result=policy.FAILED, attempts=3, hangup_cause=34, call_ended_at=100.0, now=800.0
    )
    assert last.status == "not_reached"
    rejected = next_step(
        RULES, result=policy.REJECTED, attempts=1, hangup_cause=21, call_ended_at=100.0, now=101.0
    )
    assert rejected.status == "not_reached"
    unlisted = next_step(
        RULES, result=policy.FAILED, attempts=1, hangup_cause=1, call_ended_at=100.0, now=101.0
    )
    assert unlisted.status == "not_reached"  # unallocated number: trying again cannot help


def test_an_agent_who_does_not_pick_up_costs_the_customer_nothing() -> None:
    step = next_step(
        RULES,
        result=policy.AGENT_NO_ANSWER,
        attempts=1,
        hangup_cause=None,
        call_ended_at=100.0,
        now=130.0,
        agent="PJSIP/1001",
    )
    assert (step.status, step.at, step.exclude_agent) == ("pending", 130.0, "PJSIP/1001")


def test_an_attempt_whose_end_nobody_saw_is_never_dialled_again_by_itself() -> None:
    for now in (103.0, 190.0, 5000.0):  # lost quickly or not: it may have reached them
        step = next_step(
            RULES, result=policy.UNKNOWN, attempts=1, hangup_cause=None, call_ended_at=100, now=now
        )
        assert (step.status, step.at, step.why) == ("queued", None, policy.ASK_A_PERSON)


def test_a_dropped_call_whose_end_lost_its_agent_is_still_called_back_at_once() -> None:
    found = policy.Candidate("c1", "+1555", "dropped", False, None, None, 44, 10.0)
    kept = policy.stays_automatic(found, "PJSIP/1001")
    assert (kept.auto, kept.agent) == (True, "PJSIP/1001")
    assert policy.stays_automatic(found, None) == found
    missed = policy.Candidate("c2", "+1555", "missed", False, None, None, 19, 10.0)
    assert policy.stays_automatic(missed, "PJSIP/1001") == missed  # a person's queue


def test_the_agent_who_had_the_customer_is_rung_first_when_free() -> None:
    agents = ["PJSIP/1002", "PJSIP/1003"]
    assert choose_agent("PJSIP/1001", agents, busy=[]) == "PJSIP/1001"
    assert choose_agent("PJSIP/1001", agents, busy=["PJSIP/1001"]) == "PJSIP/1002"
    assert choose_agent("PJSIP/1001", agents, busy=["PJSIP/1002"], exclude=["PJSIP/1001"]) == (
        "PJSIP/1003"
    )
    assert choose_agent(None, agents, busy=agents) is None


def test_callbacks_do_not_jump_ahead_of_queueing_customers_unless_allowed() -> None:
    assert queue_wait(RULES, "support", {"support": 2}) == "2 customers waiting in queue support"
    assert queue_wait(RULES, "support", {"sales": 1}) is None
    assert queue_wait(RULES, None, {"sales": 1}) == "1 customer waiting in the queues"
    jumping = CallbackRules(jumps_queue=True)
    assert queue_wait(jumping, "support", {"support": 2}) is None


# -- what may reach an Originate (issue 15) ---------------------------------------------------

HOSTILE = "5551234,CALLASSIST_CALLBACK_FOR=1111.1,__TRUNK=x,DB(owned/by-caller)=1"


def with_caller(ended: CallEnded, number: str) -> CallEnded:
    return replace(ended, record=replace(ended.record, customer=number))


def test_a_dropped_call_from_a_number_that_is_no_phone_number_waits_for_a_person() -> None:
    found = candidate(with_caller(ended_of("dropped_mid_call_cause"), HOSTILE), RULES, at=0.0)
    assert found is not None
    assert (found.reason, found.auto, found.customer) == ("dropped", False, HOSTILE)
    assert found.waiting_for is not None
    assert found.waiting_for.startswith("the caller's number cannot be dialled: '5551234,")
    assert policy.stays_automatic(found, "PJSIP/1001").auto is False


@pytest.mark.parametrize("number", ["+8613800138000", "15551230100", "100"])
def test_phone_numbers_may_be_dialled(number: str) -> None:
    assert policy.undiallable(number, RULES) is None


@pytest.mark.parametrize(
    "number", [HOSTILE, "12", "+", "555 1234", "=HYPERLINK(\"x\")", "5551234\r\n5551234", "٣٣٣٣"]
)
def test_anything_else_is_never_dialled(number: str) -> None:
    assert policy.undiallable(number, RULES) is not None


@pytest.mark.parametrize(
    "channel", ["PJSIP/1001", "SIP/agent-7", "Local/1001@agents", "Local/7@a/n"]
)
def test_agent_phones_that_are_channel_names_may_be_rung(channel: str) -> None:
    assert policy.unringable(channel) is None


@pytest.mark.parametrize(
    "channel", ["PJSIP/1001,x", "Local/1@a,CALLASSIST_X=1", "PJSIP/1001)", "1001", "Local/a b@c"]
)
def test_other_phones_are_never_rung(channel: str) -> None:
    assert policy.unringable(channel) is not None
