"""Adherence checks from plain call data: each rule passing, failing, and not judged."""

from __future__ import annotations

from typing import Any

import pytest

from app.review.adherence import AdherenceRules, adherence, clock, duration

ANSWERED = 1000.0
RULES = AdherenceRules(greeting_seconds=15, max_hold_seconds=120)
REQUIRED = {
    "collect": ("customer_name", "contact", "problem"),
    "confirm": ("satisfied",),
    "complaint": ("content",),
}
ALL_FIELDS = {
    "customer_name": "张三",
    "contact": "+8613800138000",
    "problem": "no internet",
    "satisfied": "yes",
}


def call(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "answered_at": ANSWERED,
        "hold_seconds": 30.0,
        "talk_seconds": 200.0,
    }
    values.update(overrides)
    return values


def walked(*steps: tuple[str, float, float | None], **fields: str) -> dict[str, Any]:
    """A session that visited the steps (id, entered after answer, left after answer)."""
    return {
        "steps": [
            {
                "step": step,
                "entered_at": ANSWERED + entered,
                "left_at": None if left is None else ANSWERED + left,
            }
            for step, entered, left in steps
        ],
        "fields": fields or dict(ALL_FIELDS),
    }


THE_WHOLE_PROCEDURE = (
    ("greet", 0, 6),
    ("collect", 6, 60),
    ("answer", 60, 150),
    ("confirm", 150, 170),
    ("close", 170, 185),
)


def checks_of(
    the_call: dict[str, Any],
    sessions: list[dict[str, Any]],
    rules: AdherenceRules = RULES,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    result = adherence(the_call, sessions, REQUIRED, rules, **options)
    return {check["rule"]: check for check in result["checks"]}


def test_a_call_that_follows_the_procedure_passes_every_rule() -> None:
    result = adherence(call(), [walked(*THE_WHOLE_PROCEDURE)], REQUIRED, RULES)
    assert [c["rule"] for c in result["checks"]] == [
        "greeting_within",
        "required_fields",
        "confirm_done",
        "close_done",
        "hold_time",
        "talk_time",
    ]
    assert [c["passed"] for c in result["checks"]] == [True] * 5 + [None]
    assert (result["passed"], result["failed"]) == (5, 0)
    assert all(c["label"] and c["detail"] for c in result["checks"])


def test_a_greeting_finished_within_the_limit_passes_and_says_when() -> None:
    check = checks_of(call(), [walked(*THE_WHOLE_PROCEDURE)])["greeting_within"]
    assert check["passed"] is True
    assert check["detail"] == "greeting done 6 s after answer (limit 15 s)"


def test_a_greeting_finished_after_the_limit_fails() -> None:
    steps = (("greet", 0, 23), *THE_WHOLE_PROCEDURE[1:])
    check = checks_of(call(), [walked(*steps)])["greeting_within"]
    assert check["passed"] is False
    assert "23 s after answer (limit 15 s)" in check["detail"]


def test_the_greeting_limit_is_a_rule() -> None:
    strict = AdherenceRules(greeting_seconds=5, max_hold_seconds=120)
    assert checks_of(call(), [walked(*THE_WHOLE_PROCEDURE)], strict)["greeting_within"][
        "passed"
    ] is False


def test_a_greeting_never_completed_or_never_shown_fails() -> None:
    stuck = checks_of(call(), [walked(("greet", 0, None))])["greeting_within"]
    assert stuck["passed"] is False
    assert "never completed" in stuck["detail"]
    skipped = checks_of(call(), [walked(*THE_WHOLE_PROCEDURE[1:])])["greeting_within"]
    assert skipped["passed"] is False
    assert "never shown" in skipped["detail"]


def test_a_required_field_left_empty_on_a_visited_step_fails_and_is_named() -> None:
    fields = {**ALL_FIELDS, "contact": "  "}
    check = checks_of(call(), [walked(*THE_WHOLE_PROCEDURE, **fields)])["required_fields"]
    assert check["passed"] is False
    assert check["detail"] == "missing: contact (collect)"


def test_required_fields_of_steps_not_visited_are_not_asked_for() -> None:
    check = checks_of(call(), [walked(*THE_WHOLE_PROCEDURE)])["required_fields"]
    assert check["passed"] is True  # the complaint step was never visited: no content needed
    assert "all 4 required fields" in check["detail"]
    branched = (*THE_WHOLE_PROCEDURE[:3], ("complaint", 100, 120), *THE_WHOLE_PROCEDURE[3:])
    check = checks_of(call(), [walked(*branched)])["required_fields"]
    assert check["passed"] is False
    assert check["detail"] == "missing: content (complaint)"


def test_a_call_whose_steps_ask_for_nothing_passes_required_fields() -> None:
    check = checks_of(call(), [walked(("greet", 0, 5), ("close", 5, 9))])["required_fields"]
    assert check["passed"] is True


def test_fields_collected_by_either_agent_of_a_transferred_call_count() -> None:
    first = walked(("greet", 0, 5), ("collect", 5, 40), customer_name="张三")
    second = walked(
        ("greet", 0, 5), ("collect", 40, 60), ("confirm", 60, 70), ("close", 70, 80),
        contact="+8613800138000", problem="bill", satisfied="yes",
    )
    checks = checks_of(call(), [first, second])
    assert checks["required_fields"]["passed"] is True
    assert checks["confirm_done"]["passed"] is True


def test_confirmation_passes_when_the_agent_moved_on_from_it() -> None:
    check = checks_of(call(), [walked(*THE_WHOLE_PROCEDURE)])["confirm_done"]
    assert check["passed"] is True
    assert check["detail"] == "confirmed 2:50 into the call"


def test_a_call_that_ended_on_the_confirmation_step_was_not_confirmed() -> None:
    check = checks_of(call(), [walked(*THE_WHOLE_PROCEDURE[:3], ("confirm", 150, 170))])
    assert check["confirm_done"]["passed"] is False
    assert "ended there" in check["confirm_done"]["detail"]


def test_a_call_that_never_reached_confirmation_or_close_fails_both() -> None:
    checks = checks_of(call(), [walked(*THE_WHOLE_PROCEDURE[:3])])
    assert checks["confirm_done"]["passed"] is False
    assert "never reached" in checks["confirm_done"]["detail"]
    assert checks["close_done"]["passed"] is False
    assert "never reached" in checks["close_done"]["detail"]


def test_the_close_passes_once_the_closing_step_is_reached() -> None:
    check = checks_of(call(), [walked(*THE_WHOLE_PROCEDURE)])["close_done"]
    assert check["passed"] is True
    assert check["detail"] == "closing reached 2:50 into the call"


def test_step_kinds_from_the_call_script_name_the_greeting_confirmation_and_close() -> None:
    steps = (("hello", 0, 4), ("details", 4, 30), ("happy", 30, 40), ("bye", 40, 45))
    kinds = {"hello": "greet", "details": "collect", "happy": "confirm", "bye": "close"}
    checks = checks_of(call(), [walked(*steps)], step_kinds=kinds)
    assert [checks[r]["passed"] for r in ("greeting_within", "confirm_done", "close_done")] == [
        True,
        True,
        True,
    ]
    without = checks_of(call(), [walked(*steps)])
    assert without["greeting_within"]["passed"] is False


def test_hold_time_within_the_limit_passes_and_above_it_fails() -> None:
    sessions = [walked(*THE_WHOLE_PROCEDURE)]
    within = checks_of(call(hold_seconds=120.0), sessions)["hold_time"]
    assert within["passed"] is True
    assert within["detail"] == "on hold 2 min in all (limit 2 min)"
    above = checks_of(call(hold_seconds=185.0), sessions)["hold_time"]
    assert above["passed"] is False
    assert above["detail"] == "on hold 3 min 5 s in all (limit 2 min)"


def test_talk_time_is_reported_not_judged() -> None:
    check = checks_of(call(talk_seconds=200.0), [walked(*THE_WHOLE_PROCEDURE)])["talk_time"]
    assert check["passed"] is None
    assert check["detail"] == "talked 3 min 20 s"
    live = checks_of(call(talk_seconds=None), [walked(*THE_WHOLE_PROCEDURE)])["talk_time"]
    assert live["passed"] is None
    assert "still going on" in live["detail"]


def test_an_answered_call_with_no_session_is_judged_on_the_record_alone() -> None:
    result = adherence(call(hold_seconds=500.0), [], REQUIRED, RULES)
    checks = {c["rule"]: c for c in result["checks"]}
    for rule in ("greeting_within", "required_fields", "confirm_done", "close_done"):
        assert checks[rule]["passed"] is None
        assert "no call-script session" in checks[rule]["detail"]
    assert checks["hold_time"]["passed"] is False
    assert (result["passed"], result["failed"]) == (0, 1)


def test_a_call_never_answered_is_not_judged_at_all() -> None:
    result = adherence(call(answered_at=None, talk_seconds=None), [], REQUIRED, RULES)
    assert [c["passed"] for c in result["checks"]] == [None] * 6
    assert all(c["detail"] == "the call was not answered" for c in result["checks"])
    assert (result["passed"], result["failed"]) == (0, 0)


@pytest.mark.parametrize(
    "session",
    [
        {},
        {"steps": "greet", "fields": "x"},
        {"steps": [None, {"step": 3}, {"step": "greet", "entered_at": "soon"}], "fields": None},
        {"steps": [{"step": "greet", "entered_at": True, "left_at": 1.0}]},
    ],
)
def test_a_malformed_stored_session_counts_as_steps_not_taken_never_an_error(
    session: dict[str, Any],
) -> None:
    checks = checks_of(call(), [session])
    assert checks["greeting_within"]["passed"] is False
    assert checks["close_done"]["passed"] is False


def test_durations_and_moments_read_as_a_person_says_them() -> None:
    assert [duration(s) for s in (0, 44.6, 60, 61, 3600)] == [
        "0 s",
        "45 s",
        "1 min",
        "1 min 1 s",
        "60 min",
    ]
    assert [clock(s) for s in (0, 5, 65, 725)] == ["0:00", "0:05", "1:05", "12:05"]
