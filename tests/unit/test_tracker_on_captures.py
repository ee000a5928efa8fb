"""What the tracker says along the way, on the real captures: the live view of a call while it
lasts, the calls it holds once a stream is over, and the faults its finished calls reveal.
The records themselves are test_replay_captures.py's."""

from __future__ import annotations

import pytest

from telephony.calls.model import CallAnswered, CallEnded, LiveCall
from telephony.calls.trunks import TrunkPlan
from telephony.capture import read_capture
from telephony.lines.watch import MEDIA_TIMEOUT, FaultSignal
from telephony.switchboard import Signal, Switchboard
from tests.conftest import CAPTURE_FILES, CAPTURES, trunks_for
from tests.expected import load_expected

NAMES = [path.name.removesuffix(".ami") for path in CAPTURE_FILES]
BUSY_THEN_RETRY = "lab2_d3_dropped_callback_busy_then_retry"


def played(name: str) -> tuple[Switchboard, list[tuple[Signal, LiveCall | None]]]:
    """The capture fed to a switchboard; every signal with its call's live view just then."""
    board = Switchboard(TrunkPlan.parse(trunks_for(name)))
    seen: list[tuple[Signal, LiveCall | None]] = []
    for message in read_capture(CAPTURES / f"{name}.ami"):
        for signal in board.feed(message.headers, message.at):
            call_id = getattr(signal, "call_id", None)
            live = board.tracker.snapshot(call_id) if isinstance(call_id, str) else None
            seen.append((signal, live))
    return board, seen


@pytest.mark.parametrize("name", NAMES)
def test_no_call_is_left_live_once_every_channel_has_hung_up(name: str) -> None:
    # Every capture ends after its last channel's Hangup (the consultation call of
    # lab2_f2a and the transferred call of transfer_and_hold included).
    board, _ = played(name)

    assert board.tracker.live_calls == []


@pytest.mark.parametrize("name", NAMES)
def test_a_call_is_live_exactly_while_the_pbx_has_one_of_its_channels(name: str) -> None:
    board = Switchboard(TrunkPlan.parse(trunks_for(name)))
    pbx_channels: set[str] = set()  # from Newchannel and Hangup alone
    for message in read_capture(CAPTURES / f"{name}.ami"):
        board.feed(message.headers, message.at)
        event, uniqueid = message.headers.get("Event"), message.headers.get("Uniqueid", "")
        if event == "Newchannel":
            pbx_channels.add(uniqueid)
        elif event == "Hangup":
            pbx_channels.discard(uniqueid)
        up = [
            {u for u, channel in call.channels.items() if not channel.hung_up}
            for call in board.tracker.live_calls
        ]
        assert all(up), f"a call with no channel left is live after message {message.index}"
        assert set().union(*up) == pbx_channels


@pytest.mark.parametrize("name", NAMES)
def test_media_timeouts_are_only_the_legs_the_driver_gave_up_on(name: str) -> None:
    _, seen = played(name)
    _, expected = load_expected(CAPTURES / f"{name}.expected.jsonl")

    got = [
        s.location for s, _ in seen if isinstance(s, FaultSignal) and s.fault == MEDIA_TIMEOUT
    ]
    assert got == [f["location"] for f in expected if f["fault"] == MEDIA_TIMEOUT]


def test_a_callback_is_live_under_the_number_it_dialled_not_the_dial_string() -> None:
    # lab2_d3: the second attempt dials 15551230108@carrier; the agent's screen and the
    # records find the call under the customer's number.
    _, seen = played(BUSY_THEN_RETRY)
    retry = "callassist-cb4-2-6addec47"

    answered = [(s, live) for s, live in seen if isinstance(s, CallAnswered)]
    assert [(s.call_id, s.customer) for s, _ in answered][-1] == (retry, "15551230108")
    live = answered[-1][1]
    assert live is not None and live.customer == "15551230108"
    assert live.direction == "outbound"


def test_a_busy_callback_attempt_is_missed_by_the_customer_and_no_agent_talked() -> None:
    _, seen = played(BUSY_THEN_RETRY)

    ended = {s.call_id: s for s, _ in seen if isinstance(s, CallEnded)}
    busy = ended["callassist-cb4-1-9e540e8f"].record
    assert (busy.outcome, busy.ended_by, busy.hangup_cause) == ("missed", "customer", 17)
    assert (busy.customer, busy.agents) == ("15551230108", ())
    assert not any(
        isinstance(s, CallAnswered) and s.call_id == busy.call_id for s, _ in seen
    )
