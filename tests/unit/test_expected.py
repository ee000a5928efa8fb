"""The comparison with NAME.expected.jsonl follows the README's rules, so a replay test can
only pass when the replay really agrees with the expectation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.expected import compare_to_expected, load_expected

CALL_A: dict[str, Any] = {
    "call_id": "1795478681.0",
    "direction": "inbound",
    "customer": "+15551230100",
    "agent": "PJSIP/1001",
    "agents": ["PJSIP/1001"],
    "queue": None,
    "ring_seconds": 2.01,
    "talk_seconds": 10.01,
    "hold_seconds": 0.0,
    "hangup_cause": 16,
    "ended_by": "customer",
    "outcome": "completed",
    "transfers": 0,
}
CALL_B: dict[str, Any] = {
    **CALL_A,
    "call_id": "1795478712.2",
    "agent": None,
    "agents": [],
    "talk_seconds": None,
    "outcome": "abandoned",
}
FAULT = {"fault": "unreachable", "location": "PJSIP/2001"}


@pytest.fixture
def expected(tmp_path: Path) -> Path:
    path = tmp_path / "capture.expected.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in [CALL_A, CALL_B, FAULT]))
    return path


def test_load_expected_splits_calls_from_faults(expected: Path) -> None:
    calls, faults = load_expected(expected)
    assert [c["call_id"] for c in calls] == [CALL_A["call_id"], CALL_B["call_id"]]
    assert faults == [FAULT]


def test_an_identical_replay_matches(expected: Path) -> None:
    assert compare_to_expected([CALL_A, CALL_B], [FAULT], expected) == []


def test_fields_that_are_not_compared_may_differ(expected: Path) -> None:
    got = {**CALL_A, "agents": ["PJSIP/1002"], "recording": "x.wav", "started_at": 9.0}
    assert compare_to_expected([got, CALL_B], [FAULT], expected) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("outcome", "dropped"),
        ("ended_by", "agent"),
        ("agent", "PJSIP/1002"),
        ("customer", "+15550000000"),
        ("queue", "support"),
        ("hangup_cause", 17),
        ("transfers", 1),
        ("direction", "outbound"),
        ("ring_seconds", 2.52),
        ("talk_seconds", None),
        ("hold_seconds", None),
    ],
)
def test_each_compared_field_is_checked(expected: Path, field: str, value: object) -> None:
    problems = compare_to_expected([{**CALL_A, field: value}, CALL_B], [FAULT], expected)
    assert len(problems) == 1
    assert field in problems[0]
    assert CALL_A["call_id"] in problems[0]


def test_durations_within_half_a_second_match(expected: Path) -> None:
    got = {**CALL_A, "ring_seconds": 2.5, "talk_seconds": 9.52, "hold_seconds": 0.49}
    assert compare_to_expected([got, CALL_B], [FAULT], expected) == []


def test_a_duration_must_be_none_exactly_when_expected_none(expected: Path) -> None:
    got = {**CALL_B, "talk_seconds": 0.0}
    assert len(compare_to_expected([CALL_A, got], [FAULT], expected)) == 1


def test_calls_must_come_in_the_expected_order(expected: Path) -> None:
    assert compare_to_expected([CALL_B, CALL_A], [FAULT], expected) != []


def test_missing_and_extra_calls_are_reported(expected: Path) -> None:
    extra = {**CALL_A, "call_id": "1795479999.9"}
    problems = compare_to_expected([CALL_A, extra], [FAULT], expected)
    assert any(CALL_B["call_id"] in p for p in problems)
    assert any("1795479999.9" in p for p in problems)


def test_faults_match_on_kind_and_location_in_any_order_and_extras_are_allowed(
    expected: Path,
) -> None:
    extra = {"fault": "recovered", "location": "PJSIP/2001", "at": 55.2, "detail": None}
    got = [extra, {**FAULT, "at": 17.2, "detail": None}]
    assert compare_to_expected([CALL_A, CALL_B], got, expected) == []


def test_a_missing_fault_is_reported(expected: Path) -> None:
    wrong_place = {"fault": "unreachable", "location": "PJSIP/1002"}
    problems = compare_to_expected([CALL_A, CALL_B], [wrong_place], expected)
    assert len(problems) == 1
    assert "unreachable" in problems[0]
