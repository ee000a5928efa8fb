"""Replay a recorded AMI stream through the pure core: no PBX, no database, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from telephony.calls.model import CallEnded, CallRecord
from telephony.calls.trunks import TrunkPlan
from telephony.capture import CaptureReport, read_capture
from telephony.lines.watch import FaultSignal, WatchRules
from telephony.switchboard import Switchboard


@dataclass(slots=True)
class ReplayResult:
    records: list[CallRecord] = field(default_factory=list)  # in the order the calls ended
    faults: list[FaultSignal] = field(default_factory=list)
    report: CaptureReport = field(default_factory=CaptureReport)
    unfinished_calls: int = 0  # still going when the stream ended; not in records
    anomalies: int = 0


def replay(path: Path, trunks: TrunkPlan, rules: WatchRules | None = None) -> ReplayResult:
    """Raises telephony.capture.NotAnAmiStream when the file is not an AMI stream."""
    result = ReplayResult()
    board = Switchboard(trunks, rules)
    for message in read_capture(path, result.report):
        for signal in board.feed(message.headers, message.at):
            if isinstance(signal, CallEnded):
                result.records.append(signal.record)
            elif isinstance(signal, FaultSignal):
                result.faults.append(signal)
    result.unfinished_calls = len(board.tracker.live_calls)
    result.anomalies = board.tracker.anomalies
    return result
