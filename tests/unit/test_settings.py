"""Operators write the callback and incident rules as short strings in the environment: a
mistake must be refused at start with a message that names it, not found at the first drop."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_the_shipped_rules_read_as_the_procedure_says() -> None:
    settings = Settings()
    assert settings.callback_schedule == (0.0, 120.0, 600.0)
    assert 34 in settings.callback_retry_cause_set
    assert 21 not in settings.callback_retry_cause_set  # the customer rejected the call
    assert settings.incident_level_rules["trunk_down"] == "I"
    assert settings.incident_level_rules["device_fault"] == "IV"


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("callback_schedule_seconds", "0,600,120", "ascending"),
        ("callback_schedule_seconds", "now,2", "comma-separated list"),
        ("callback_retry_causes", "34,200", "1 to 127"),
        ("incident_levels", "trunk_down=V", "one of I, II, III, IV"),
        ("incident_levels", "trunk_dwn=I", "not an incident kind"),
        ("incident_levels", "trunk_down", "kind=LEVEL"),
    ],
)
def test_a_mistyped_rule_is_refused_with_what_is_wrong(
    name: str, value: str, complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings(**{name: value})


@pytest.mark.parametrize("pattern", [".*", "[0-9,]+", r"\S+", "[^;]+"])
def test_a_diallable_number_pattern_that_lets_a_caller_in_is_refused(pattern: str) -> None:
    with pytest.raises(ValidationError, match="lets through"):
        Settings(callback_diallable_number=pattern)


def test_a_stricter_diallable_number_pattern_is_taken() -> None:
    assert Settings(callback_diallable_number=r"\+86[0-9]{11}").callback_diallable_number
