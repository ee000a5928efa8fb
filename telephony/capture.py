"""Recorded AMI streams: ``NAME.ami`` (the bytes as read from the socket) and ``NAME.times.tsv``.

The .times.tsv has one row per message (idx, t_mono, offset, length, first_line): t_mono is
when the message arrived, in seconds since connect; idx counts messages, the banner being 0.
An event's time is its ``Timestamp`` header when Asterisk sent one, else its row's t_mono,
else unknown (None).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from telephony.ami.wire import BANNER_PREFIX, AmiDecoder, AmiMessage, event_time, is_ami_banner

READ_CHUNK = 1 << 20


class NotAnAmiStream(ValueError):
    """The file does not begin with Asterisk's manager banner."""


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    index: int  # position in the stream; the banner is 0
    at: float | None
    headers: AmiMessage


@dataclass(slots=True)
class CaptureReport:
    """What was wrong with a capture, for the warning a person reads."""

    messages: int = 0
    malformed: int = 0
    truncated_at: int | None = None  # offset of the unfinished last message
    unread_bytes: int = 0
    has_times: bool = False
    problems: list[str] = field(default_factory=list)


def times_path(ami_path: Path) -> Path:
    return ami_path.with_name(ami_path.name.removesuffix(".ami") + ".times.tsv")


def load_arrival_times(path: Path) -> dict[int, float] | None:
    """Message index -> arrival time, from a .times.tsv; rows that do not parse are skipped.

    Keyed by index, not byte offset: the index is what the capture rules define, and it
    survives an edit of the .ami that shifts bytes.
    """
    if not path.is_file():
        return None
    times: dict[int, float] = {}
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            try:
                times[int(row["idx"])] = float(row["t_mono"])
            except (KeyError, TypeError, ValueError):
                continue
    return times


def read_capture(path: Path, report: CaptureReport | None = None) -> Iterator[CapturedMessage]:
    """Yield the messages of a recorded stream in order, as far as the stream is valid.

    Raises NotAnAmiStream before yielding anything if the banner is missing. Problems found on
    the way (garbage, a truncated end) are written into ``report``.
    """
    report = report if report is not None else CaptureReport()
    times = load_arrival_times(times_path(path))
    report.has_times = times is not None
    decoder = AmiDecoder()
    with path.open("rb") as handle:
        head = handle.read(len(BANNER_PREFIX))
        if not is_ami_banner(head):
            raise NotAnAmiStream(f"{path}: not an AMI stream (no 'Asterisk Call Manager/' banner)")
        chunk = head + handle.read(READ_CHUNK - len(head))
        while chunk:
            for index, headers in decoder.feed(chunk):
                arrival = times.get(index) if times else None
                yield CapturedMessage(index, event_time(headers, arrival), headers)
            chunk = handle.read(READ_CHUNK)
    _finish_report(report, decoder)


def _finish_report(report: CaptureReport, decoder: AmiDecoder) -> None:
    messages = report.messages = decoder.messages
    report.malformed = decoder.malformed
    framer = decoder.framer
    tail = framer.unfinished
    if tail.strip():
        report.truncated_at = framer.position
        report.unread_bytes = len(tail)
        report.problems.append(
            f"stream ends inside message {messages + 1} at byte {framer.position} "
            f"({len(tail)} bytes unread); replayed the {messages} messages before it"
        )
    if decoder.malformed:
        report.problems.append(f"skipped or repaired {decoder.malformed} malformed frame(s)")
