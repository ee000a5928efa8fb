"""AMI framing and decoding: properties over real captures split and damaged at random."""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.ami.wire import AmiDecoder, AmiFramer, event_time, parse_message
from telephony.calls.model import CallEnded
from telephony.calls.trunks import TrunkPlan
from telephony.capture import read_capture
from telephony.lines.watch import FaultSignal
from telephony.switchboard import Switchboard
from tests.conftest import CAPTURES, LAB_TRUNKS
from tests.expected import compare_to_expected
from tests.unit.recorded import Capture, load, read_rows

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
# Small enough to keep every example fast, and between them: a transfer with hold, a media
# timeout with contact faults, a queue with two agents, a registration cycle.
SPLIT_CAPTURES = [
    "transfer_and_hold",
    "dropped_mid_call_network",
    "queue_ringnoanswer_then_answer",
    "registration_unregister_reregister",
]
NOT_GARBAGE = (b"Event: ", b"Response: ")

Decoded = list[tuple[int, dict[str, str]]]


@cache
def one_read(name: str) -> Decoded:
    return AmiDecoder().feed(load(name).raw)


def feed_in_pieces(decoder: AmiDecoder, data: bytes, cuts: list[int]) -> Decoded:
    decoded: Decoded = []
    edges = [0, *sorted(set(cuts)), len(data)]
    for start, end in itertools.pairwise(edges):
        decoded += decoder.feed(data[start:end])
    return decoded


@st.composite
def capture_and_cuts(draw: st.DrawFn) -> tuple[Capture, list[int]]:
    capture = load(draw(st.sampled_from(SPLIT_CAPTURES)))
    size = len(capture.raw)
    cuts = draw(
        st.one_of(
            st.lists(st.integers(1, size - 1), max_size=300),
            # many tiny reads somewhere, e.g. a byte at a time across a frame boundary
            st.integers(0, size - 64).map(lambda start: list(range(start, start + 64))),
        )
    )
    return capture, cuts


def replay_records(capture: Capture, decoded: Decoded) -> tuple[list[Any], list[Any]]:
    """What the switchboard makes of the decoded messages, timed by their index."""
    board = Switchboard(TrunkPlan.parse(LAB_TRUNKS))
    records: list[Any] = []
    faults: list[Any] = []
    for index, (_, message) in enumerate(decoded):
        for signal in board.feed(message, capture.times[index]):
            if isinstance(signal, CallEnded):
                records.append(signal.record.contract())
            elif isinstance(signal, FaultSignal):
                faults.append(signal.contract())
    return records, faults


# -- any split of the bytes into reads ------------------------------------------------------


def test_one_read_of_each_capture_decodes_every_message() -> None:
    for name in SPLIT_CAPTURES:
        assert len(one_read(name)) == len(load(name).messages)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capture_and_cuts())
def test_any_split_into_reads_gives_the_same_messages_as_one_read(
    case: tuple[Capture, list[int]],
) -> None:
    capture, cuts = case
    decoder = AmiDecoder()

    decoded = feed_in_pieces(decoder, capture.raw, cuts)

    assert decoded == one_read(capture.name)
    assert decoder.malformed == 0
    assert decoder.banner == "Asterisk Call Manager/11.0.0"
    assert decoder.framer.unfinished == b""


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capture_and_cuts())
def test_any_split_into_reads_gives_the_same_calls_and_faults(
    case: tuple[Capture, list[int]],
) -> None:
    capture, cuts = case

    records, faults = replay_records(capture, feed_in_pieces(AmiDecoder(), capture.raw, cuts))

    assert (records, faults) == replay_records(capture, one_read(capture.name))
    expected = CAPTURES / f"{capture.name}.expected.jsonl"
    assert compare_to_expected(records, faults, expected) == []


def test_read_capture_numbers_messages_as_the_times_file_does() -> None:
    capture = load("queue_agent_paused")  # holds Response messages as well as events
    rows = read_rows(CAPTURES / "queue_agent_paused.times.tsv")
    first_lines = {int(row["idx"]): row["first_line"] for row in rows}

    messages = list(read_capture(CAPTURES / "queue_agent_paused.ami"))

    assert [m.index for m in messages] == list(range(1, len(capture.messages) + 1))
    for message in messages:
        key, value = first_lines[message.index].split(": ", 1)
        assert message.headers[key] == value
        assert message.at == float(rows[message.index]["t_mono"])


# -- garbage between frames -----------------------------------------------------------------

GARBAGE = st.binary(min_size=1, max_size=80)


def is_plain_garbage(garbage: bytes) -> bool:
    """Garbage that cannot pass for a message, and is not only line ends."""
    return not any(start in garbage for start in NOT_GARBAGE) and bool(garbage.strip(b"\r\n"))


@st.composite
def garbage_between_frames(
    draw: st.DrawFn, garbage: st.SearchStrategy[bytes]
) -> tuple[Capture, dict[int, bytes], bool, list[int]]:
    capture = load(draw(st.sampled_from(SPLIT_CAPTURES)))
    places = draw(
        st.dictionaries(st.integers(0, len(capture.messages) - 1), garbage, min_size=1, max_size=8)
    )
    own_frame = draw(st.booleans())
    size = len(capture.raw) + sum(len(g) + 4 for g in places.values())
    cuts = draw(st.lists(st.integers(1, size - 1), max_size=40))
    return capture, places, own_frame, cuts


def damaged(capture: Capture, places: dict[int, bytes], own_frame: bool) -> bytes:
    """The capture with garbage before the messages at `places` (as its own frame or not)."""
    pieces = [capture.banner]
    for index, message in enumerate(capture.messages):
        if index in places:
            pieces.append(places[index] + (b"\r\n\r\n" if own_frame else b""))
        pieces.append(message)
    return b"".join(pieces)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage_between_frames(st.binary(max_size=120)))
def test_any_garbage_between_frames_never_raises(
    case: tuple[Capture, dict[int, bytes], bool, list[int]],
) -> None:
    capture, places, own_frame, cuts = case
    decoder = AmiDecoder()

    decoded = feed_in_pieces(decoder, damaged(capture, places, own_frame), cuts)

    assert all(isinstance(message, dict) for _, message in decoded)
    assert decoder.malformed >= 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage_between_frames(GARBAGE.filter(is_plain_garbage)))
def test_garbage_between_frames_is_counted_and_every_real_message_still_decoded(
    case: tuple[Capture, dict[int, bytes], bool, list[int]],
) -> None:
    capture, places, own_frame, cuts = case
    decoder = AmiDecoder()

    decoded = feed_in_pieces(decoder, damaged(capture, places, own_frame), cuts)

    assert [m for _, m in decoded] == [m for _, m in one_read(capture.name)]
    assert decoder.malformed >= len(places)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\xfe",
        b"Foo: bar",
        b"Eve",
        b"HTTP/1.1 400 Bad Request\r\nServer: x",
        "张三".encode(),
    ],
)
def test_a_garbage_frame_is_skipped_and_counted(garbage: bytes) -> None:
    decoder = AmiDecoder()
    message = b"Event: Hangup\r\nUniqueid: 1795478681.0\r\nCause: 16\r\n\r\n"

    decoded = decoder.feed(BANNER + garbage + b"\r\n\r\n" + message)

    assert [m for _, m in decoded] == [
        {"Event": "Hangup", "Uniqueid": "1795478681.0", "Cause": "16"}
    ]
    assert decoder.malformed == 1


# -- UTF-8 split across reads ---------------------------------------------------------------

NAMED = (
    b"Event: Newchannel\r\nChannel: PJSIP/2001-00000000\r\nChannelState: 4\r\n"
    + "CallerIDNum: +8613800138000\r\nCallerIDName: 张三\r\n".encode()
    + b"Uniqueid: 1795478681.0\r\nLinkedid: 1795478681.0\r\n\r\n"
)


@pytest.mark.parametrize("inside", range(1, 6))
def test_a_utf8_name_split_inside_a_character_across_reads_decodes_intact(inside: int) -> None:
    stream = BANNER + NAMED
    start = stream.index("张".encode())
    cut = start + inside  # 1, 2: inside 张; 4, 5: inside 三; 3: between them
    decoder = AmiDecoder()

    decoded = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])

    assert [m["CallerIDName"] for _, m in decoded] == ["张三"]
    assert decoder.malformed == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, len(BANNER + NAMED) - 1), max_size=len(NAMED)))
def test_a_utf8_name_survives_any_split(cuts: list[int]) -> None:
    decoded = feed_in_pieces(AmiDecoder(), BANNER + NAMED, cuts)
    assert [m["CallerIDName"] for _, m in decoded] == ["张三"]


# -- frames longer than the limit -----------------------------------------------------------

FIRST = b"Event: Newchannel\r\nUniqueid: 1795478681.0\r\n\r\n"
LAST = b"Event: Hangup\r\nUniqueid: 1795478681.0\r\nCause: 16\r\n\r\n"
MAX_FRAME = 256


def oversized(length: int) -> bytes:
    head = b"Event: VarSet\r\nVariable: HUGE\r\nValue: "
    return head + b"x" * (length - len(head)) + b"\r\n\r\n"


@settings(max_examples=100, deadline=None)
@given(
    length=st.integers(MAX_FRAME + 1, 4 * MAX_FRAME),
    cuts=st.lists(st.integers(1, len(BANNER + FIRST) + 4 * MAX_FRAME + len(LAST)), max_size=12),
)
def test_a_frame_longer_than_max_frame_is_dropped_counted_and_the_stream_resynchronises(
    length: int, cuts: list[int]
) -> None:
    stream = BANNER + FIRST + oversized(length) + LAST
    decoder = AmiDecoder(max_frame=MAX_FRAME)

    decoded = feed_in_pieces(decoder, stream, [c for c in cuts if c < len(stream)])

    assert [m["Event"] for _, m in decoded] == ["Newchannel", "Hangup"]
    assert decoder.malformed == 1


@pytest.mark.parametrize("read_size", [1, 7, 100, 10_000])
def test_an_oversized_frame_is_dropped_whatever_the_read_size(read_size: int) -> None:
    stream = BANNER + FIRST + oversized(3 * MAX_FRAME) + LAST
    decoder = AmiDecoder(max_frame=MAX_FRAME)

    decoded = feed_in_pieces(decoder, stream, list(range(read_size, len(stream), read_size)))

    assert [m["Event"] for _, m in decoded] == ["Newchannel", "Hangup"]
    assert decoder.malformed == 1


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(40, MAX_FRAME - 4),
    cuts=st.lists(st.integers(1, len(BANNER + FIRST) + MAX_FRAME + len(LAST)), max_size=12),
)
def test_a_frame_within_max_frame_is_kept_whatever_the_split(length: int, cuts: list[int]) -> None:
    frame = oversized(length)  # `length` bytes before its terminator
    stream = BANNER + FIRST + frame + LAST
    decoder = AmiDecoder(max_frame=MAX_FRAME)

    decoded = feed_in_pieces(decoder, stream, [c for c in cuts if c < len(stream)])

    assert [m["Event"] for _, m in decoded] == ["Newchannel", "VarSet", "Hangup"]
    assert decoder.malformed == 0


def test_a_peer_that_never_ends_a_frame_is_not_buffered_without_limit() -> None:
    framer = AmiFramer(max_frame=MAX_FRAME)
    framer.feed(BANNER)
    for _ in range(100):
        framer.feed(b"y" * 100)
    assert len(framer.unfinished) <= MAX_FRAME
    assert framer.malformed == 1


# -- headers --------------------------------------------------------------------------------


def test_repeated_headers_are_kept_joined_by_newlines() -> None:
    frame = (
        b"Event: CoreShowChannel\r\nChannel: PJSIP/1001-00000001\r\n"
        b"ChanVariable: CALLTYPE=inbound-direct\r\nChanVariable: QUEUE=support\r\n"
        b"ChanVariable: EMPTY="
    )
    message, is_damaged = parse_message(frame)

    assert message is not None
    assert message["ChanVariable"] == "CALLTYPE=inbound-direct\nQUEUE=support\nEMPTY="
    assert message["Channel"] == "PJSIP/1001-00000001"
    assert not is_damaged


def test_repeated_headers_survive_the_decoder() -> None:
    frame = b"Event: VarSet\r\nX: 1\r\nX: 2\r\n\r\n"
    decoded = AmiDecoder().feed(BANNER + frame)
    assert decoded[0][1]["X"] == "1\n2"


def test_an_empty_value_is_kept_as_an_empty_string() -> None:
    message, is_damaged = parse_message(b"Event: Newchannel\r\nAccountCode: \r\nExten: 1001")
    assert message == {"Event": "Newchannel", "AccountCode": "", "Exten": "1001"}
    assert not is_damaged


def test_a_line_that_is_not_a_header_is_reported_as_damage() -> None:
    message, is_damaged = parse_message(b"Event: Newchannel\r\nthis is no header\r\nExten: 1")
    assert message is not None
    assert message["Exten"] == "1"
    assert is_damaged


# -- event time -----------------------------------------------------------------------------


def test_the_timestamp_header_wins_over_the_arrival_time() -> None:
    assert event_time({"Timestamp": "1795478681.123456"}, 2.5) == 1795478681.123456


def test_without_a_timestamp_the_arrival_time_is_the_event_time() -> None:
    assert event_time({"Event": "Hangup"}, 2.5) == 2.5
    assert event_time({"Event": "Hangup"}, None) is None


@pytest.mark.parametrize("stamp", ["", "soon", "1795478681,5"])
def test_an_unreadable_timestamp_falls_back_to_the_arrival_time(stamp: str) -> None:
    assert event_time({"Timestamp": stamp}, 2.5) == 2.5


@pytest.mark.parametrize("header", ["Channel", "Uniqueid", "Linkedid", "DestUniqueid"])
def test_a_message_naming_a_channel_with_invalid_utf8_is_counted_and_skipped(header: str) -> None:
    decoder = AmiDecoder()
    spoiled = f"Event: Newchannel\r\nCallerIDName: x\r\n{header}: ".encode() + b"1.\xff\r\n\r\n"

    decoded = decoder.feed(BANNER + spoiled + LAST)

    assert [m["Event"] for _, m in decoded] == ["Hangup"]
    assert [index for index, _ in decoded] == [2]  # still a message of the stream
    assert decoder.malformed == 1


def test_a_caller_name_with_invalid_utf8_is_repaired_and_kept() -> None:
    decoder = AmiDecoder()
    frame = b"Event: Newchannel\r\nCallerIDName: Jo\xffe\r\nUniqueid: 1.1\r\n\r\n"

    ((_, message),) = decoder.feed(BANNER + frame)

    assert (message["CallerIDName"], message["Uniqueid"]) == ("Jo\ufffde", "1.1")
    assert decoder.malformed == 1
