"""What the agent types into a field, checked against the field's spec.

Kept apart from the engine because the loader asks the same questions of a call-script
file (is a date bound a date?) and the view shows each field's problem as it is typed.
The date comes in as `today`; nothing here reads a clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from app.console.call_scripts.model import FieldSpec, FieldType

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PHONE = re.compile(r"\+?[0-9 ()\-]+")
PHONE_DIGITS = (3, 20)


def validate_field(spec: FieldSpec, value: str | None, today: date) -> str | None:
    """What is wrong with a value, in words for the agent; None when it is fine."""
    if value is None or not value.strip():
        return f"{spec.label} is required." if spec.required else None
    return _VALIDATORS[spec.type](spec, value.strip(), today)


def _text(spec: FieldSpec, value: str, today: date) -> str | None:
    if spec.min_length is not None and len(value) < spec.min_length:
        return f"{spec.label} needs at least {spec.min_length} characters."
    if spec.max_length is not None and len(value) > spec.max_length:
        return f"{spec.label} is at most {spec.max_length} characters."
    if spec.pattern is not None and re.fullmatch(spec.pattern, value) is None:
        if spec.pattern_hint:
            return f"{spec.label} must be {spec.pattern_hint}."
        return f"{spec.label} is not in the expected format."
    return None


def _phone(spec: FieldSpec, value: str, today: date) -> str | None:
    digits = sum(c.isdigit() for c in value)
    low, high = PHONE_DIGITS
    if PHONE.fullmatch(value) is None or not low <= digits <= high:
        return (
            f"{spec.label} must be a phone number: {low} to {high} digits, "
            "optionally starting with +."
        )
    return None


def _choice(spec: FieldSpec, value: str, today: date) -> str | None:
    if spec.option_label(value) is None:
        labels = ", ".join(o.label for o in spec.options)
        return f"{spec.label} must be one of: {labels}."
    return None


def _yes_no(spec: FieldSpec, value: str, today: date) -> str | None:
    if value not in ("yes", "no"):
        return f"{spec.label} must be yes or no."
    return None


def _date(spec: FieldSpec, value: str, today: date) -> str | None:
    day = parse_date(value)
    if day is None:
        return f"{spec.label} must be a date written YYYY-MM-DD."
    earliest = _bound(spec.not_before, today)
    if earliest is not None and day < earliest:
        return f"{spec.label} cannot be before {_bound_words(spec.not_before, earliest)}."
    latest = _bound(spec.not_after, today)
    if latest is not None and day > latest:
        return f"{spec.label} cannot be after {_bound_words(spec.not_after, latest)}."
    return None


_VALIDATORS: dict[FieldType, Callable[[FieldSpec, str, date], str | None]] = {
    FieldType.TEXT: _text,
    FieldType.PHONE: _phone,
    FieldType.CHOICE: _choice,
    FieldType.YES_NO: _yes_no,
    FieldType.DATE: _date,
}


def parse_date(value: str) -> date | None:
    """An ISO YYYY-MM-DD date, or None (fromisoformat alone also takes week dates)."""
    if ISO_DATE.fullmatch(value) is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _bound(bound: str | None, today: date) -> date | None:
    if bound is None:
        return None
    return today if bound == "today" else parse_date(bound)


def _bound_words(bound: str | None, day: date) -> str:
    return f"today ({day.isoformat()})" if bound == "today" else day.isoformat()
