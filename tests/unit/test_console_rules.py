"""The console's decisions without a database: who answered, which time, what QA searches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.callbacks.rules import CUSTOMER_TAG
from app.console.call_scripts.catalog import Catalog
from app.console.call_scripts.model import (
    Applied,
    CallScript,
    Disposition,
    SessionState,
    Step,
    StepKind,
)
from app.console.rules import (
    SEARCH_TEXT_MAX,
    ConsoleError,
    action_time,
    call_script_of,
    facts_from_live,
    known_name,
    search_text,
    still_affects,
    worth_storing,
)
from telephony.calls.model import Direction, LiveCall

STATE = SessionState(call_script="support", language="en", step="greet")


def live_call(agents: tuple[str, ...], tags: tuple[tuple[str, str], ...] = ()) -> LiveCall:
    return LiveCall(
        call_id="1700000000.1",
        direction=Direction.INBOUND,
        customer="+4420790000",
        queue="support",
        started_at=10.0,
        answered_at=12.0,
        agents=agents,
        ringing=(),
        parties=("PJSIP/1001", "PJSIP/1002", "PJSIP/1003"),
        on_hold=False,
        transfers=0,
        recording=None,
        dialled="6100",
        tags=tags,
    )


def test_the_first_agent_answered_when_the_call_was_answered() -> None:
    facts = facts_from_live(live_call(("PJSIP/1001",)), "PJSIP/1001", now=50.0)
    assert (facts.answered_at, facts.customer, facts.dialled, facts.live) == (
        12.0,
        "+4420790000",
        "6100",
        True,
    )


def test_an_agent_the_call_was_transferred_to_answered_about_now() -> None:
    facts = facts_from_live(live_call(("PJSIP/1001", "PJSIP/1002")), "PJSIP/1002", now=50.0)
    assert facts.answered_at == 50.0


def test_an_agent_it_only_rang_at_has_not_answered() -> None:
    assert facts_from_live(live_call(("PJSIP/1001",)), "PJSIP/1003", now=50.0).answered_at is None


def test_a_callback_names_the_customer_it_calls_before_they_are_dialled() -> None:
    call = live_call(("PJSIP/1001",), tags=((CUSTOMER_TAG, "+4420791111"),))
    assert facts_from_live(call, "PJSIP/1001", now=50.0).customer == "+4420791111"


@pytest.mark.parametrize(
    ("at", "expected"), [(None, 100.0), (150.0, 100.0), (5.0, 20.0), (60.0, 60.0)]
)
def test_an_action_typed_offline_is_never_in_the_future_or_before_the_session(
    at: float | None, expected: float
) -> None:
    assert action_time(at, earliest=20.0, now=100.0) == expected


def test_a_refused_value_is_still_stored_but_no_other_refused_action() -> None:
    refused = Applied(state=STATE, errors={"contact": "bad"}, error="bad")
    assert worth_storing(refused, "set")
    assert not worth_storing(refused, "next")
    assert worth_storing(Applied(state=STATE), "next")


def test_qa_searches_the_notes_and_fields_lower_cased_and_bounded() -> None:
    state = SessionState("support", "en", "greet", fields={"name": "Ann LEE"}, notes="Router")
    assert search_text(state) == "router\nann lee"
    long = SessionState("support", "en", "greet", notes="x" * (SEARCH_TEXT_MAX + 10))
    assert len(search_text(long)) == SEARCH_TEXT_MAX


def test_the_newest_collected_name_is_the_callers() -> None:
    states: list[dict[str, Any]] = [
        {"fields": {}},
        {"fields": None},
        {"fields": {"customer_name": "Ann"}},
    ]
    assert known_name(states) == "Ann"
    assert known_name([{"fields": {"contact": "+44"}}]) is None


@dataclass(frozen=True)
class Incident:
    recovered_at: float | None
    last_signal_at: float | None


@pytest.mark.parametrize(
    ("recovered_at", "last_signal_at", "affects"),
    [(None, 10.0, True), (20.0, 10.0, False), (20.0, None, False), (20.0, 30.0, True)],
)
def test_an_incident_affects_calls_until_its_signal_clears_for_good(
    recovered_at: float | None, last_signal_at: float | None, affects: bool
) -> None:
    assert still_affects(Incident(recovered_at, last_signal_at)) is affects


def test_a_session_whose_call_script_was_removed_says_so() -> None:
    call_script = CallScript(
        id="support",
        language="en",
        title="Support",
        steps=(Step("greet", StepKind.GREET, "Greeting"),),
        dispositions=(Disposition("resolved", "Resolved"),),
    )
    catalog = Catalog((call_script,))
    assert call_script_of(catalog, "support", "zh-CN") is call_script  # falls back to English
    with pytest.raises(ConsoleError, match="no longer installed"):
        call_script_of(catalog, "sales", "en")
