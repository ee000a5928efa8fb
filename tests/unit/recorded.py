"""Recorded captures taken apart into messages and put back together, for tests that
transform a real capture (add Timestamp headers, rename endpoints, ...) and replay it."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from telephony.calls.trunks import TrunkPlan
from telephony.replay import replay
from tests.conftest import CAPTURES

TERMINATOR = b"\r\n\r\n"


@dataclass(frozen=True)
class Capture:
    name: str
    banner: bytes  # with its CRLF
    messages: tuple[bytes, ...]  # each with its terminator; messages[i] is row idx i + 1
    times: tuple[float, ...]  # t_mono of each message, same index as messages
    banner_time: float

    @property
    def raw(self) -> bytes:
        return self.banner + b"".join(self.messages)

    def map(self, change: Callable[[bytes], bytes]) -> Capture:
        return replace(self, messages=tuple(change(m) for m in self.messages))

    def write(self, directory: Path, *, with_times: bool = True, name: str | None = None) -> Path:
        """NAME.ami (and NAME.times.tsv with offsets that match it) in `directory`."""
        path = directory / f"{name or self.name}.ami"
        path.write_bytes(self.raw)
        if with_times:
            write_times(path, self)
        return path


@cache
def load(name: str) -> Capture:
    """A capture of tests/fixtures/ami, split where its .times.tsv says messages are."""
    path = CAPTURES / f"{name}.ami"
    data = path.read_bytes()
    rows = read_rows(CAPTURES / f"{name}.times.tsv")
    assert rows[0]["idx"] == "0" and int(rows[0]["offset"]) == 0
    pieces = [data[int(r["offset"]) : int(r["offset"]) + int(r["length"])] for r in rows]
    assert b"".join(pieces) == data, f"{name}: the .times.tsv rows do not tile the .ami"
    assert all(p.endswith(TERMINATOR) for p in pieces[1:])
    return Capture(
        name=name,
        banner=pieces[0],
        messages=tuple(pieces[1:]),
        times=tuple(float(r["t_mono"]) for r in rows[1:]),
        banner_time=float(rows[0]["t_mono"]),
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def write_times(ami_path: Path, capture: Capture) -> Path:
    path = ami_path.with_name(ami_path.name.removesuffix(".ami") + ".times.tsv")
    lines = ["idx\tt_mono\toffset\tlength\tfirst_line"]
    offset = 0
    pieces = [
        (capture.banner_time, capture.banner),
        *zip(capture.times, capture.messages, strict=True),
    ]
    for index, (t_mono, piece) in enumerate(pieces):
        first = piece.split(b"\r\n", 1)[0].decode("utf-8", "replace")
        lines.append(f"{index}\t{t_mono}\t{offset}\t{len(piece)}\t{first}")
        offset += len(piece)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def contract_of(path: Path, trunks: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The replay of a capture as the contract's plain dicts: (calls, faults)."""
    result = replay(path, TrunkPlan.parse(trunks))
    return (
        [r.contract() for r in result.records],
        [f.contract() for f in result.faults],
    )


def json_lines(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`callassist replay --json` output split into (calls, faults); each line one object."""
    calls: list[dict[str, Any]] = []
    faults: list[dict[str, Any]] = []
    for line in text.splitlines():
        item = json.loads(line)
        assert isinstance(item, dict), line
        (calls if "call_id" in item else faults).append(item)
    return calls, faults
