"""Compare replayed calls and faults with a capture's ``NAME.expected.jsonl``.

The rules are the ones in shared/ami/README.md ("Output of callassist replay --json"): calls
are matched by call_id and must come in the same order; only the fields below are compared,
durations within half a second; faults are matched on (fault, location), in any order, and
extra faults are allowed while missing ones are not. Everything here takes plain dicts (the
contract JSON), so the service tests can reuse it for database records.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

COMPARED_FIELDS = (
    "outcome",
    "ended_by",
    "agent",
    "customer",
    "queue",
    "hangup_cause",
    "transfers",
    "direction",
)
DURATION_FIELDS = ("ring_seconds", "talk_seconds", "hold_seconds")
DURATION_TOLERANCE = 0.5  # seconds

Record = Mapping[str, Any]


def load_expected(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The expected calls (lines with a call_id) and faults (lines with a fault), in order."""
    calls: list[dict[str, Any]] = []
    faults: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        if "call_id" in item:
            calls.append(item)
        elif "fault" in item:
            faults.append(item)
        else:
            raise ValueError(f"{path}:{number}: neither a call nor a fault: {line}")
    return calls, faults


def compare_to_expected(
    records: Sequence[Record], faults: Sequence[Record], expected_path: Path
) -> list[str]:
    """Every way the calls and faults differ from the expectation, as sentences; [] if none."""
    expected_calls, expected_faults = load_expected(expected_path)
    return compare_calls(records, expected_calls) + compare_faults(faults, expected_faults)


def compare_calls(records: Sequence[Record], expected: Sequence[Record]) -> list[str]:
    problems: list[str] = []
    got_ids = [str(r.get("call_id")) for r in records]
    want_ids = [str(e["call_id"]) for e in expected]
    got_by_id = {str(r.get("call_id")): r for r in records}
    for call_id in want_ids:
        if call_id not in got_by_id:
            problems.append(f"call {call_id}: expected, not replayed")
    for call_id in got_ids:
        if call_id not in want_ids:
            problems.append(f"call {call_id}: replayed, not expected")
    if len(set(got_ids)) != len(got_ids):
        duplicated = sorted(i for i, n in Counter(got_ids).items() if n > 1)
        problems.append(f"calls printed more than once: {duplicated}")
    common_got = [i for i in got_ids if i in want_ids]
    common_want = [i for i in want_ids if i in got_by_id]
    if common_got != common_want:
        problems.append(f"calls in the wrong order: got {common_got}, expected {common_want}")
    for want in expected:
        got = got_by_id.get(str(want["call_id"]))
        if got is not None:
            problems += _compare_call(got, want)
    return problems


def _compare_call(got: Record, want: Record) -> list[str]:
    call_id = want["call_id"]
    problems = [
        f"call {call_id}: {name} is {got.get(name)!r}, expected {want.get(name)!r}"
        for name in COMPARED_FIELDS
        if got.get(name) != want.get(name)
    ]
    for name in DURATION_FIELDS:
        if not durations_match(got.get(name), want.get(name)):
            problems.append(
                f"call {call_id}: {name} is {got.get(name)!r}, expected {want.get(name)!r}"
                f" (within {DURATION_TOLERANCE} s)"
            )
    return problems


def durations_match(got: object, want: object) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if not isinstance(got, int | float) or not isinstance(want, int | float):
        return False
    return abs(float(got) - float(want)) <= DURATION_TOLERANCE


def compare_faults(faults: Sequence[Record], expected: Sequence[Record]) -> list[str]:
    got = Counter((f.get("fault"), f.get("location")) for f in faults)
    want = Counter((f["fault"], f["location"]) for f in expected)
    return [
        f"fault {kind} at {location}: expected {count}, got {got[(kind, location)]}"
        for (kind, location), count in want.items()
        if got[(kind, location)] < count
    ]
