"""The complaint workflow as a table: which moves exist, what a refusal says, due dates."""

from __future__ import annotations

import itertools

import pytest

from app.complaints.rules import (
    STATUSES,
    IllegalTransition,
    allowed_next,
    check_transition,
    due_at,
    is_overdue,
)

LEGAL = {
    ("received", "in_progress"),
    ("in_progress", "resolved"),
    ("resolved", "closed"),
    ("resolved", "in_progress"),
}
DUE_HOURS = {"critical": 4.0, "high": 24.0, "medium": 72.0, "low": 168.0}


@pytest.mark.parametrize(("current", "wanted"), sorted(LEGAL))
def test_the_workflow_steps_are_allowed(current: str, wanted: str) -> None:
    check_transition(current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [pair for pair in itertools.product(STATUSES, STATUSES) if pair not in LEGAL],
)
def test_every_other_move_is_refused_naming_the_allowed_ones(current: str, wanted: str) -> None:
    with pytest.raises(IllegalTransition) as refused:
        check_transition(current, wanted)
    assert refused.value.allowed == allowed_next(current)
    for name in allowed_next(current):
        assert name in str(refused.value)


def test_a_complaint_walks_from_received_to_closed_and_a_resolved_one_reopens() -> None:
    assert allowed_next("received") == ("in_progress",)
    assert allowed_next("in_progress") == ("resolved",)
    assert set(allowed_next("resolved")) == {"closed", "in_progress"}


def test_a_closed_complaint_is_final_and_says_so() -> None:
    assert allowed_next("closed") == ()
    with pytest.raises(IllegalTransition, match="final"):
        check_transition("closed", "in_progress")


def test_a_received_complaint_cannot_skip_to_resolved() -> None:
    with pytest.raises(IllegalTransition, match="cannot move from received to resolved"):
        check_transition("received", "resolved")


@pytest.mark.parametrize(("severity", "hours"), sorted(DUE_HOURS.items()))
def test_the_due_date_follows_the_severity(severity: str, hours: float) -> None:
    assert due_at(severity, 1_000.0, DUE_HOURS) == 1_000.0 + hours * 3600


def test_a_severity_the_settings_do_not_know_gets_the_medium_time() -> None:
    assert due_at("urgent", 0.0, DUE_HOURS) == 72 * 3600


def test_only_an_unresolved_complaint_past_its_due_date_is_overdue() -> None:
    assert is_overdue("received", due=100.0, now=101.0)
    assert is_overdue("in_progress", due=100.0, now=101.0)
    assert not is_overdue("in_progress", due=100.0, now=99.0)
    assert not is_overdue("resolved", due=100.0, now=101.0)
    assert not is_overdue("closed", due=100.0, now=101.0)
    assert not is_overdue("received", due=None, now=101.0)
