"""The AMI filters the link installs must let through every event the core handles."""

from __future__ import annotations

import re

import pytest

from telephony.ami.actions import WANTED_EVENTS, WANTED_VARIABLES, event_filters
from telephony.ami.wire import EventSieve
from telephony.calls.tracker import CallTracker
from telephony.lines.watch import LineWatch

HANDLED = sorted(set(CallTracker()._handlers) | set(LineWatch()._handlers))


@pytest.mark.parametrize("name", HANDLED)
def test_every_handled_event_passes_the_filter_and_the_sieve(name: str) -> None:
    frame = f"Event: {name}\r\nUniqueid: 1.1".encode()
    if name == "VarSet":  # wanted for one variable only: the recording's file name
        frame += b"\r\nVariable: MIXMONITOR_FILENAME"
    filters = event_filters(WANTED_EVENTS, WANTED_VARIABLES)
    assert any(re.search(expression, frame.decode() + "\r\n") for expression in filters)
    assert EventSieve(WANTED_EVENTS, WANTED_VARIABLES).wants(frame)


@pytest.mark.parametrize(
    ("frame", "wanted"),
    [
        (b"Event: HangupRequest\r\nCause: 16", True),
        (b"Event: Hangup\r\nCause: 16", True),
        (b"Event: HangupHandlerRun\r\nHandler: x", False),
        (b"Event: Newexten\r\nApplication: Dial", False),
        (b"Event: VarSet\r\nVariable: SIPDOMAIN\r\nValue: 127.0.0.1", False),
        (b"Event: VarSet\r\nVariable: MIXMONITOR_FILENAME\r\nValue: /a.wav", True),
        (b"Event: VarSet\r\nVariable: CALLASSIST_ATTEMPT\r\nValue: 7", True),
        (b"Event: RTCPSent\r\nChannel: PJSIP/2001-00000007", True),  # poor media (issue 6)
        (b"Event: RTCPReceived\r\nRTT: 0.0021", True),
        (b"Event: RTCPReceivedExtra\r\nRTT: 1", False),
        (b"Event: CoreShowChannel\r\nActionID: 12\r\nChannel: PJSIP/1-1", True),
        (b"Response: Success\r\nActionID: 12", True),
    ],
)
def test_the_sieve_decodes_only_what_the_product_uses(frame: bytes, wanted: bool) -> None:
    text = frame.decode() + "\r\n"
    assert EventSieve(WANTED_EVENTS, WANTED_VARIABLES).wants(frame) is wanted
    if frame.startswith(b"Event") and b"ActionID" not in frame:
        # Asterisk applies the same choice at the source with the filters.
        filters = event_filters(WANTED_EVENTS, WANTED_VARIABLES)
        assert any(re.search(expression, text) for expression in filters) is wanted
