"""The Q.850 cause table: fault set, texts, classes."""

from __future__ import annotations

import re

import pytest

from telephony.calls.causes import CAUSES, FAULT_CAUSES, CauseClass, describe, is_fault
from tests.conftest import CAPTURE_FILES

_CAUSE_AND_TEXT = re.compile(rb"\r\nCause: (\d+)\r\nCause-txt: ([^\r]*)\r\n")

# The causes Asterisk itself defines (include/asterisk/causes.h, AST_CAUSE_*): any of them can
# reach us in a Hangup, so each needs a text a person can read.
ASTERISK_CAUSES = [
    0, 1, 2, 3, 5, 6, 7, 8, 14, 16, 17, 18, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30, 31, 34,
    38, 41, 42, 43, 44, 50, 52, 54, 57, 58, 65, 66, 69, 81, 88, 95, 96, 97, 98, 99, 100, 101,
    102, 103, 111, 127,
]  # fmt: skip

# Q.850 section 2.2.5: the cause value's class is its three high bits.
Q850_CLASS_BY_HIGH_BITS = {
    0b000: CauseClass.NORMAL,
    0b001: CauseClass.NORMAL,
    0b010: CauseClass.RESOURCE_UNAVAILABLE,
    0b011: CauseClass.SERVICE_UNAVAILABLE,
    0b100: CauseClass.SERVICE_NOT_IMPLEMENTED,
    0b101: CauseClass.INVALID_MESSAGE,
    0b110: CauseClass.PROTOCOL_ERROR,
    0b111: CauseClass.INTERWORKING,
}


def test_the_fault_causes_are_exactly_the_network_and_line_failures() -> None:
    assert frozenset({27, 34, 38, 41, 42, 44, 47, 102, 111}) == FAULT_CAUSES


def test_is_fault_is_true_exactly_for_the_fault_causes() -> None:
    assert [code for code in range(0, 256) if is_fault(code)] == [
        27,
        34,
        38,
        41,
        42,
        44,
        47,
        102,
        111,
    ]


def test_no_cause_and_unknown_numbers_are_not_faults() -> None:
    assert is_fault(None) is False
    assert is_fault(999) is False
    assert is_fault(-1) is False


@pytest.mark.parametrize("code", sorted(set(ASTERISK_CAUSES) | FAULT_CAUSES))
def test_every_cause_asterisk_can_send_has_a_text(code: int) -> None:
    assert code in CAUSES
    assert CAUSES[code].code == code
    assert CAUSES[code].text.strip()


@pytest.mark.parametrize("code", sorted(CAUSES))
def test_every_cause_has_the_q850_class_of_its_range(code: int) -> None:
    assert CAUSES[code].cls is Q850_CLASS_BY_HIGH_BITS[code >> 4]


def test_the_texts_are_the_ones_asterisk_writes_in_the_captures() -> None:
    # Hangup events carry "Cause: N" then "Cause-txt: <Asterisk's text>"
    seen: dict[int, str] = {}
    for path in CAPTURE_FILES:
        for code, text in _CAUSE_AND_TEXT.findall(path.read_bytes()):
            seen[int(code)] = text.decode()
    assert len(seen) >= 5
    assert {code: CAUSES[code].text for code in seen} == seen


def test_describe_gives_the_code_and_its_text() -> None:
    assert describe(38) == "38 Network out of order"
    assert describe(16) == "16 Normal Clearing"


def test_describe_says_when_there_is_no_cause_or_the_code_is_not_q850() -> None:
    assert describe(None) == "no cause reported"
    assert describe(999) == "999 (not a Q.850 cause)"
