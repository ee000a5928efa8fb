"""Q.850 hangup causes: what each code means and whether it is a fault of the line.

Sources: ITU-T Recommendation Q.850 (05/1998), Table 1 "Cause value" and its class ranges;
Asterisk's wording of the texts (main/causes.c, ``ast_cause2str``), which is what operators
see in Asterisk's own logs. Cause 0 is Asterisk's AST_CAUSE_NOTDEFINED: a caller that hangs up
while still in an application, or an agent leg the queue stops ringing. The set of fault
causes is the one the recorded captures were worked out with (shared/ami/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CauseClass(StrEnum):
    """Q.850's classes, by code range."""

    NORMAL = "normal event"
    RESOURCE_UNAVAILABLE = "resource unavailable"
    SERVICE_UNAVAILABLE = "service or option not available"
    SERVICE_NOT_IMPLEMENTED = "service or option not implemented"
    INVALID_MESSAGE = "invalid message"
    PROTOCOL_ERROR = "protocol error"
    INTERWORKING = "interworking"


class CauseSource(StrEnum):
    """Whose doing a cause usually is; a hint for people, never used to classify a call."""

    PERSON = "person"  # a person hung up, was busy, did not answer or declined
    NETWORK = "network"  # the line, the far network or the media path failed
    NUMBER = "number"  # the number dialled is wrong or unreachable as dialled
    PBX = "pbx"  # Asterisk itself, or unknown


@dataclass(frozen=True, slots=True)
class Cause:
    code: int
    text: str
    cls: CauseClass
    source: CauseSource


FAULT_CAUSES = frozenset({27, 34, 38, 41, 42, 44, 47, 102, 111})

_P, _N, _U, _X = CauseSource.PERSON, CauseSource.NETWORK, CauseSource.NUMBER, CauseSource.PBX
_TEXTS: dict[int, tuple[str, CauseSource]] = {
    0: ("Unknown", _X),
    1: ("Unallocated (unassigned) number", _U),
    2: ("No route to specified transmit network", _U),
    3: ("No route to destination", _U),
    5: ("Misdialled trunk prefix", _U),
    6: ("Channel unacceptable", _N),
    7: ("Call awarded and being delivered in an established channel", _X),
    8: ("Pre-emption", _N),
    14: ("Number ported but not found", _U),
    16: ("Normal Clearing", _P),
    17: ("User busy", _P),
    18: ("No user responding", _P),
    19: ("User alerting, no answer", _P),
    20: ("Subscriber absent", _P),
    21: ("Call Rejected", _P),
    22: ("Number changed", _U),
    23: ("Redirected to new destination", _U),
    26: ("Answered elsewhere", _P),
    27: ("Destination out of order", _N),
    28: ("Invalid number format", _U),
    29: ("Facility rejected", _N),
    30: ("Response to STATus ENQuiry", _X),
    31: ("Normal, unspecified", _P),
    34: ("Circuit/channel congestion", _N),
    38: ("Network out of order", _N),
    41: ("Temporary failure", _N),
    42: ("Switching equipment congestion", _N),
    43: ("Access information discarded", _N),
    44: ("Requested channel not available", _N),
    47: ("Resource unavailable, unspecified", _N),
    49: ("Quality of service not available", _N),
    50: ("Requested facility not subscribed", _N),
    52: ("Outgoing call barred", _U),
    54: ("Incoming call barred", _U),
    57: ("Bearer capability not authorized", _N),
    58: ("Bearer capability not available", _N),
    63: ("Service or option not available", _N),
    65: ("Bearer capability not implemented", _N),
    66: ("Channel not implemented", _N),
    69: ("Facility not implemented", _N),
    79: ("Service or option not implemented", _N),
    81: ("Invalid call reference value", _X),
    82: ("Identified channel does not exist", _X),
    83: ("A suspended call exists, but this call identity does not", _X),
    84: ("Call identity in use", _X),
    85: ("No call suspended", _X),
    86: ("Call having the requested call identity has been cleared", _X),
    87: ("User not member of CUG", _U),
    88: ("Incompatible destination", _U),
    90: ("Non-existent CUG", _U),
    91: ("Invalid transit network selection", _U),
    95: ("Invalid message unspecified", _X),
    96: ("Mandatory information element is missing", _X),
    97: ("Message type nonexist.", _X),
    98: ("Wrong message", _X),
    99: ("Info. element nonexist or not implemented", _X),
    100: ("Invalid information element contents", _X),
    101: ("Message not compatible with call state", _X),
    102: ("Recover on timer expiry", _N),
    103: ("Mandatory IE length error", _X),
    110: ("Message with unrecognized parameter, discarded", _X),
    111: ("Protocol error, unspecified", _N),
    127: ("Interworking, unspecified", _X),
}


def _class_of(code: int) -> CauseClass:
    ranges = (
        (31, CauseClass.NORMAL),
        (47, CauseClass.RESOURCE_UNAVAILABLE),
        (63, CauseClass.SERVICE_UNAVAILABLE),
        (79, CauseClass.SERVICE_NOT_IMPLEMENTED),
        (95, CauseClass.INVALID_MESSAGE),
        (111, CauseClass.PROTOCOL_ERROR),
    )
    for upper, cls in ranges:
        if code <= upper:
            return cls
    return CauseClass.INTERWORKING


CAUSES: dict[int, Cause] = {
    code: Cause(code, text, _class_of(code), source) for code, (text, source) in _TEXTS.items()
}


def describe(code: int | None) -> str:
    """A cause as a person reads it: ``38 Network out of order``."""
    if code is None:
        return "no cause reported"
    cause = CAUSES.get(code)
    return f"{code} {cause.text}" if cause else f"{code} (not a Q.850 cause)"


def is_fault(code: int | None) -> bool:
    """True for the causes that mean the line or the network failed, not a person."""
    return code in FAULT_CAUSES
