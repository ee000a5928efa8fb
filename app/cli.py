"""The ``callassist`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from telephony.calls.model import CallRecord
from telephony.calls.trunks import TrunkPlan
from telephony.capture import NotAnAmiStream
from telephony.replay import ReplayResult, replay

PROG = "callassist"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Call-handling assistant for Asterisk call centres."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    replay_cmd = commands.add_parser(
        "replay",
        help="replay a recorded AMI stream: the calls and line faults it holds",
        description=(
            "Feed a recorded AMI stream (NAME.ami, with NAME.times.tsv beside it when there is "
            "one) through the call tracker and the outcome classifier. No PBX, no database."
        ),
    )
    replay_cmd.add_argument("file", type=Path, metavar="FILE.ami")
    replay_cmd.add_argument(
        "--json", action="store_true", help="one JSON object per line (calls, then faults)"
    )
    replay_cmd.add_argument(
        "--trunks",
        default=os.environ.get("CALLASSIST_TRUNKS", ""),
        metavar="PATTERNS",
        help="comma-separated trunk endpoints, shell-style wildcards (PJSIP/2001,PJSIP/carrier-*);"
        " default $CALLASSIST_TRUNKS; without it, roles are inferred",
    )
    replay_cmd.set_defaults(run=_run_replay)
    return parser


def _run_replay(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        return _fail(f"{path}: no such file")
    try:
        result = replay(path, TrunkPlan.parse(args.trunks))
    except NotAnAmiStream as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"{path}: {error.strerror or error}")
    for problem in _warnings(result):
        print(f"{PROG} replay: warning: {path}: {problem}", file=sys.stderr)
    if args.json:
        _print_json(result, sys.stdout)
    else:
        _print_table(result, sys.stdout)
    return 0


def _fail(message: str) -> int:
    print(f"{PROG} replay: error: {message}", file=sys.stderr)
    return 2


def _warnings(result: ReplayResult) -> list[str]:
    problems = list(result.report.problems)
    if result.unfinished_calls:
        problems.append(
            f"{result.unfinished_calls} call(s) still in progress when the stream ended; "
            "not printed"
        )
    if not result.report.has_times and any(r.started_at is None for r in result.records):
        problems.append("no .times.tsv beside it and no Timestamp headers: durations are null")
    return problems


def _print_json(result: ReplayResult, out: TextIO) -> None:
    for record in result.records:
        out.write(json.dumps(record.contract(), ensure_ascii=False) + "\n")
    for fault in result.faults:
        out.write(json.dumps(fault.contract(), ensure_ascii=False) + "\n")


_COLUMNS = (
    ("ended", 8),
    ("call_id", 16),
    ("direction", 9),
    ("customer", 14),
    ("agent", 11),
    ("queue", 8),
    ("outcome", 9),
    ("ended_by", 8),
    ("cause", 5),
    ("ring", 6),
    ("talk", 6),
    ("hold", 5),
    ("xfer", 4),
)


def _print_table(result: ReplayResult, out: TextIO) -> None:
    out.write(f"{len(result.records)} call(s)\n")
    if result.records:
        out.write(_row([name for name, _ in _COLUMNS]))
        for record in result.records:
            out.write(_row(_cells(record)))
    out.write(f"\n{len(result.faults)} line fault signal(s)\n")
    for fault in result.faults:
        detail = "" if fault.detail is None else f"  ({fault.detail})"
        out.write(f"  {_clock(fault.at):>8}  {fault.fault:<22} {fault.location}{detail}\n")


def _row(cells: Sequence[str]) -> str:
    padded = (cell.ljust(width) for cell, (_, width) in zip(cells, _COLUMNS, strict=True))
    return "  ".join(padded).rstrip() + "\n"


def _cells(record: CallRecord) -> list[str]:
    return [
        _clock(record.ended_at),
        record.call_id,
        str(record.direction),
        record.customer or "-",
        record.agent or "-",
        record.queue or "-",
        str(record.outcome),
        str(record.ended_by),
        "-" if record.hangup_cause is None else str(record.hangup_cause),
        _secs(record.ring_seconds),
        _secs(record.talk_seconds),
        _secs(record.hold_seconds),
        str(record.transfers),
    ]


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _clock(at: float | None) -> str:
    """Event times are epoch seconds (Timestamp headers) or seconds since connect (.times.tsv)."""
    if at is None:
        return "-"
    if at > 1e9:
        return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")
    return f"+{at:.1f}s"


if __name__ == "__main__":
    raise SystemExit(main())
