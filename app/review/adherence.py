"""Did the agent follow the procedure on a call? Adherence checks computed from the record.

Pure: the call detail (plain data, as app/records/query.get_call builds it), its call-script
sessions and the rules go in; the checks come out. No clock, no I/O, so a reviewer's view of
a call is the same whenever it is computed.

Each check passes (True), fails (False) or cannot be judged (None: the call was never
answered, or no call-script session was recorded, or, for talk time, there is no rule).
The sessions' step histories say which step was visited when; a call script's step kinds say
which step is the greeting, the confirmation, the close. Without kinds, a step id stands for
its kind (the shipped call scripts name them so: greet, confirm, close). Values that are not
what they should be count as missing, never as an exception: a stored session is old data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GREET, CONFIRM, CLOSE = "greet", "confirm", "close"

LABELS = {
    "greeting_within": "Greeting right after answer",
    "required_fields": "Required details collected",
    "confirm_done": "Satisfaction confirmed",
    "close_done": "Call closed properly",
    "hold_time": "Hold time within the limit",
    "talk_time": "Talk time",
}
# Judged from the call-script sessions; the other rules from the call record alone.
STEP_RULES = ("greeting_within", "required_fields", "confirm_done", "close_done")
NOT_ANSWERED = "the call was not answered"
NO_SESSION = "no call-script session was recorded for this call"


@dataclass(frozen=True, slots=True)
class AdherenceRules:
    """The thresholds, from the settings (CALLASSIST_ADHERENCE_*)."""

    greeting_seconds: float = 15.0
    max_hold_seconds: float = 120.0


@dataclass(frozen=True, slots=True)
class _Visit:
    step: str
    entered_at: float
    left_at: float | None
    moved_on: bool  # another step followed in the same session: not left by a hangup


def adherence(
    call: Mapping[str, Any],
    sessions: Sequence[Mapping[str, Any]],
    required_fields: Mapping[str, Sequence[str]],
    rules: AdherenceRules,
    *,
    step_kinds: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The adherence checks of one call: {"checks": [...], "passed": n, "failed": n}.

    ``required_fields`` maps a step id to the names of its required fields;
    ``step_kinds`` maps a step id to its kind (greet, confirm, close, ...).
    """
    answered_at = _number(call.get("answered_at"))
    visits = list(_visits(sessions))
    kinds = step_kinds or {}

    def kind_of(visit: _Visit) -> str:
        return kinds.get(visit.step, visit.step)

    step_checks: list[tuple[str, bool | None, str]]
    if answered_at is None:
        step_checks = [(rule, None, NOT_ANSWERED) for rule in STEP_RULES]
    elif not sessions:
        step_checks = [(rule, None, NO_SESSION) for rule in STEP_RULES]
    else:
        step_checks = [
            _greeting([v for v in visits if kind_of(v) == GREET], answered_at, rules),
            _required(visits, sessions, required_fields),
            _confirm([v for v in visits if kind_of(v) == CONFIRM], answered_at),
            _close([v for v in visits if kind_of(v) == CLOSE], answered_at),
        ]
    checks = [
        *step_checks,
        _hold(call, answered_at, rules),
        _talk(call, answered_at),
    ]
    return {
        "checks": [
            {"rule": rule, "label": LABELS[rule], "passed": passed, "detail": detail}
            for rule, passed, detail in checks
        ],
        "passed": sum(1 for _, passed, _ in checks if passed is True),
        "failed": sum(1 for _, passed, _ in checks if passed is False),
    }


def _greeting(
    greetings: list[_Visit], answered_at: float, rules: AdherenceRules
) -> tuple[str, bool | None, str]:
    rule = "greeting_within"
    if not greetings:
        return rule, False, "the greeting step was never shown"
    first = min(greetings, key=lambda v: v.entered_at)
    if first.left_at is None:
        return rule, False, "the greeting step was never completed"
    after = first.left_at - answered_at
    limit = f"(limit {duration(rules.greeting_seconds)})"
    passed = after <= rules.greeting_seconds
    return rule, passed, f"greeting done {duration(after)} after answer {limit}"


def _required(
    visits: list[_Visit],
    sessions: Sequence[Mapping[str, Any]],
    required_fields: Mapping[str, Sequence[str]],
) -> tuple[str, bool | None, str]:
    rule = "required_fields"
    collected = _collected(sessions)
    wanted: dict[str, str] = {}  # field name -> the step that asks for it, in visit order
    for visit in visits:
        for name in required_fields.get(visit.step, ()):
            wanted.setdefault(name, visit.step)
    if not wanted:
        return rule, True, "no step visited asks for a required field"
    missing = [f"{name} ({step})" for name, step in wanted.items() if name not in collected]
    if missing:
        return rule, False, "missing: " + ", ".join(missing)
    return rule, True, f"all {len(wanted)} required fields of the steps visited were collected"


def _confirm(confirms: list[_Visit], answered_at: float) -> tuple[str, bool | None, str]:
    rule = "confirm_done"
    done = [v for v in confirms if v.moved_on and v.left_at is not None]
    if done:
        at = min(v.left_at for v in done if v.left_at is not None)
        return rule, True, f"confirmed {clock(at - answered_at)} into the call"
    if confirms:
        return rule, False, "the confirmation step was shown but the call ended there"
    return rule, False, "the confirmation step was never reached"


def _close(closes: list[_Visit], answered_at: float) -> tuple[str, bool | None, str]:
    rule = "close_done"
    if not closes:
        return rule, False, "the closing step was never reached"
    at = min(v.entered_at for v in closes)
    return rule, True, f"closing reached {clock(at - answered_at)} into the call"


def _hold(
    call: Mapping[str, Any], answered_at: float | None, rules: AdherenceRules
) -> tuple[str, bool | None, str]:
    rule = "hold_time"
    if answered_at is None:
        return rule, None, NOT_ANSWERED
    held = _number(call.get("hold_seconds")) or 0.0
    limit = f"(limit {duration(rules.max_hold_seconds)})"
    return rule, held <= rules.max_hold_seconds, f"on hold {duration(held)} in all {limit}"


def _talk(call: Mapping[str, Any], answered_at: float | None) -> tuple[str, bool | None, str]:
    rule = "talk_time"
    talked = _number(call.get("talk_seconds"))
    if answered_at is None:
        return rule, None, NOT_ANSWERED
    if talked is None:
        return rule, None, "the call is still going on"
    return rule, None, f"talked {duration(talked)}"


def _visits(sessions: Sequence[Mapping[str, Any]]) -> Iterator[_Visit]:
    """Every well-formed step visit of every session; a handed-over session repeats its
    predecessor's visits, which no check minds (they ask whether a visit exists)."""
    for session in sessions:
        steps = session.get("steps")
        if not isinstance(steps, Sequence) or isinstance(steps, str):
            continue
        entries = [s for s in steps if isinstance(s, Mapping)]
        for index, entry in enumerate(entries):
            step, entered = entry.get("step"), _number(entry.get("entered_at"))
            if not isinstance(step, str) or entered is None:
                continue
            moved_on = index + 1 < len(entries)
            yield _Visit(step, entered, _number(entry.get("left_at")), moved_on)


def _collected(sessions: Sequence[Mapping[str, Any]]) -> set[str]:
    """Field names with a value in any session (a blank value is not collected)."""
    names: set[str] = set()
    for session in sessions:
        values = session.get("fields")
        if isinstance(values, Mapping):
            names |= {str(k) for k, v in values.items() if v is not None and str(v).strip()}
    return names


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def duration(seconds: float) -> str:
    """45 s, 3 min 20 s: how a reviewer reads a length of time."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def clock(seconds: float) -> str:
    """0:45, 12:03: a moment in the call, as the recording player shows it."""
    minutes, rest = divmod(max(0, round(seconds)), 60)
    return f"{minutes}:{rest:02d}"
