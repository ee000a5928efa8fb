"""Call records are never lost and never doubled.

The records the running service stores for a real capture streamed to it over TCP equal what
`callassist replay` prints for the same file, also when the stream arrives in random small
writes and the AMI link is cut once mid-call. Replaying the same events again writes nothing
new, and records survive a restart, including a call that ended while the service was down.
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.cli import main as callassist
from app.db.tables import CallEvent, CallRow
from telephony.calls.model import CallAnswered, CallRinging
from telephony.calls.trunks import TrunkPlan
from telephony.capture import read_capture
from telephony.simulator.server import RECORDED_TIMESTAMP_BASE, AmiServer
from telephony.switchboard import Switchboard
from tests.conftest import CAPTURE_FILES, CAPTURES, LAB2_TRUNKS, LAB_TRUNKS, trunks_for
from tests.service.harness import Service, running_service
from tests.unit.fake_asterisk import FakeAsterisk, attended_transfer, hang_up_both

pytestmark = pytest.mark.asyncio
TIMES = ("started_at", "answered_at", "ended_at")
COMPARED = (
    "direction",
    "customer",
    "agent",
    "agents",
    "queue",
    "ring_seconds",
    "talk_seconds",
    "hold_seconds",
    "hangup_cause",
    "ended_by",
    "outcome",
    "drop_reason",
    "transfers",
    "recording",
)


def replayed(capture: Path) -> dict[str, dict[str, Any]]:
    """What `callassist replay --json` prints for the file: the calls, by call_id."""
    out = io.StringIO()
    with redirect_stdout(out):
        assert callassist(["replay", str(capture), "--json", "--trunks", trunks_for(capture)]) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return {line["call_id"]: line for line in lines if "call_id" in line}


def own_timestamps(capture: Path) -> bool:
    """Recorded with timestampevents=yes: the events keep their Timestamps when played."""
    return b"\r\nTimestamp: " in capture.read_bytes()


def fast_reconnects(service: Service) -> None:
    link = service.term.link
    assert link is not None
    link.settings = dataclasses.replace(link.settings, backoff_initial=0.05, backoff_max=0.2)


def split_mid_call(capture: Path, folder: Path) -> tuple[Path, Path]:
    """The capture in two playable parts, split just after its first call is answered.

    A cut loses whatever is in flight on the wire, with AMI as with any stream: no
    reconciliation can tell afterwards who hung up. So the test cuts where nothing is in
    flight and checks what a reconnect must not do: disturb a call that is going on.
    """
    board = Switchboard(TrunkPlan.parse(trunks_for(capture)))
    messages = list(read_capture(capture))
    answered = ringing = None
    for position, message in enumerate(messages):
        signals = board.feed(message.headers, message.at)
        if ringing is None and any(isinstance(s, CallRinging) for s in signals):
            ringing = position + 1
        if any(isinstance(s, CallAnswered) for s in signals):
            answered = position + 1
            break
    split = answered or ringing or len(messages) // 2
    data = capture.read_bytes()
    rows = capture.with_name(capture.name.removesuffix(".ami") + ".times.tsv").read_text()
    header, *lines = rows.splitlines()
    parts = []
    for name, (low, high) in (("a", (0, split)), ("b", (split, len(messages)))):
        part = folder / f"{capture.stem}-{name}.ami"
        banner = data[: data.index(b"\r\n") + 2]
        chosen = [lines[0], *lines[1 + low : 1 + high]]
        body = b"".join(_message_bytes(data, line) for line in chosen[1:])
        part.write_bytes(banner + body)
        renumbered = [f"{i}\t" + row.split("\t", 1)[1] for i, row in enumerate(chosen)]
        part.with_name(f"{part.stem}.times.tsv").write_text("\n".join([header, *renumbered]) + "\n")
        parts.append(part)
    return parts[0], parts[1]


def _message_bytes(data: bytes, row: str) -> bytes:
    _, _, offset, length, _ = row.split("\t", 4)
    return data[int(offset) : int(offset) + int(length)]


async def stream_with_one_cut(
    service: Service, capture: Path, rng: random.Random, folder: Path
) -> bool:
    """Stream the capture in small random writes; cut the link once while its call is live.

    Returns whether the cut fell mid-call (captures without calls have none to cut).
    Answered calls are cut while talking, the others while ringing or in the IVR.
    """
    pbx, tracker = service.pbx, service.term.pipeline.board.tracker
    before, after = split_mid_call(capture, folder)
    writes = {"timestamps": "recorded", "write_sizes": lambda: rng.randint(1, 96)}
    await pbx.play_capture(before, **writes)  # type: ignore[arg-type]
    await service.settled()
    mid_call = bool(tracker.live_calls)
    logins = pbx.logins
    await pbx.drop_sessions()
    await service.settled(lambda: pbx.logins > logins and service.term.link.queue.empty())
    await pbx.play_capture(after, **writes)  # type: ignore[arg-type]
    return mid_call


async def stored(service: Service, call_ids: set[str]) -> dict[str, dict[str, Any]]:
    def all_ended() -> bool:
        with service.services.database.session() as session:
            ended = session.scalar(
                select(func.count()).where(
                    CallRow.status == "ended",  # type: ignore[arg-type]
                    CallRow.call_id.in_(call_ids),  # type: ignore[attr-defined]
                )
            )
        return ended == len(call_ids)

    await service.settled(all_ended)
    return {item["call_id"]: item for item in await service.calls() if item["call_id"] in call_ids}


async def test_every_capture_is_recorded_as_replay_prints_it_despite_small_writes_and_a_cut(
    database_url: str, pbx: AmiServer, tmp_path: Path
) -> None:
    rng = random.Random(20261125)
    cuts = 0
    both_labs = f"{LAB_TRUNKS},{LAB2_TRUNKS}"
    # Replay knows no line probe, so neither does this service: the probe's calls (lab2_g)
    # are compared like any other (a service that knows it leaves them out: test_lines.py).
    no_probe = {"probe_username": ""}
    async with running_service(database_url, pbx, trunks=both_labs, **no_probe) as service:
        await pbx.wait_logged_in()
        fast_reconnects(service)
        for capture in CAPTURE_FILES:
            expected = replayed(capture)
            base = 0.0 if own_timestamps(capture) else RECORDED_TIMESTAMP_BASE
            cuts += await stream_with_one_cut(service, capture, rng, tmp_path)
            records = await stored(service, set(expected))
            assert set(records) == set(expected), capture.name
            for call_id, want in expected.items():
                got = records[call_id]
                mismatched = {
                    name: (got[name], want[name])
                    for name in COMPARED
                    if got[name] != pytest.approx(want[name], abs=1e-3)
                }
                assert not mismatched, (capture.name, call_id, mismatched)
                for name in TIMES:
                    if want[name] is None:
                        assert got[name] is None
                    else:
                        assert got[name] == pytest.approx(base + want[name], abs=1e-3)
                assert got["status"] == "ended" and got["ended_in_gap"] is False
        timelines = await _timeline_keys(service)
    with_calls = [c for c in CAPTURE_FILES if replayed(c)]
    assert cuts == len(with_calls) == 18, "the link was not cut mid-call in every call's capture"
    assert all(len(keys) == len(set(keys)) for keys in timelines.values())


async def test_replaying_the_same_events_twice_writes_nothing_new(
    database_url: str, pbx: AmiServer
) -> None:
    capture = CAPTURES / "transfer_and_hold.ami"
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        await pbx.play_capture(capture, timestamps="recorded")
        first = await stored(service, set(replayed(capture)))
        counts = _counts(service)
        timeline = await _timeline_keys(service)
        await pbx.play_capture(capture, timestamps="recorded")
        await service.settled(lambda: not service.term.pipeline.board.tracker.live_calls)
        assert _counts(service) == counts
        assert await _timeline_keys(service) == timeline
        assert await stored(service, set(first)) == first
    (call,) = first.values()
    kinds = [entry.split(":")[0] for entry in timeline[call["id"]]]
    # Nobody had a console open, so neither agent's pop reached them: that is on record too.
    talked = ["ringing", "answered", "hold", "unhold", "transferred", "ringing", "answered"]
    assert sorted(kinds) == sorted([*talked, "ended", "pop_missed", "pop_missed"])


async def test_records_survive_a_restart_and_a_call_that_ended_meanwhile_is_closed(
    database_url: str, pbx: AmiServer, tmp_path: Path
) -> None:
    finished = CAPTURES / "normal_inbound_agent_hangup.ami"
    talking = _until(
        CAPTURES / "normal_inbound_caller_hangup.ami", b"Event: HangupRequest", tmp_path
    )
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        await pbx.play_capture(finished, timestamps="recorded")
        await pbx.play_capture(talking, timestamps="recorded")
        before = await stored(service, set(replayed(finished)))
        await service.settled(lambda: len(service.term.pipeline.board.tracker.live_calls) == 1)
        (live,) = [c for c in await service.calls() if c["status"] == "live"]
    # While the service is down, the customer hangs up.
    for channel in list(pbx.live_channels):
        pbx.live_channels.pop(channel)
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in(count=2)
        after = await stored(service, set(before) | {live["call_id"]})
        assert {k: after[k] for k in before} == before
        closed = after[live["call_id"]]
        assert closed["status"] == "ended"
        assert closed["ended_in_gap"] is True
        assert closed["ended_by"] == "unknown"
        assert closed["agents"] == ["PJSIP/1001"]
        detail = (await service.get(f"/api/calls/{closed['id']}", "qa")).json()
        assert detail["timeline"][-1]["kind"] == "ended"
        assert detail["timeline"][-1]["detail"]["ended_in_gap"] is True


def _until(capture: Path, marker: bytes, folder: Path) -> Path:
    """The capture up to (not including) the first message starting with ``marker``."""
    data = capture.read_bytes()
    cut = folder / capture.name
    cut.write_bytes(data[: data.index(marker)])
    times = capture.with_name(capture.name.removesuffix(".ami") + ".times.tsv")
    cut.with_name(times.name).write_bytes(times.read_bytes())
    return cut


def _counts(service: Service) -> tuple[int, int]:
    with service.services.database.session() as session:
        calls = session.scalar(select(func.count()).select_from(CallRow))
        events = session.scalar(select(func.count()).select_from(CallEvent))
    return int(calls or 0), int(events or 0)


async def _timeline_keys(service: Service) -> dict[int, list[str]]:
    with service.services.database.session() as session:
        rows = session.execute(select(CallEvent.call_pk, CallEvent.key)).all()
    keys: dict[int, list[str]] = {}
    for call_pk, key in rows:
        keys.setdefault(call_pk, []).append(key)
    return keys


async def test_the_consultation_call_of_an_attended_transfer_is_closed_with_its_call(
    database_url: str, pbx: AmiServer
) -> None:
    # Agent One consults Agent Two on a call of its own, then transfers the customer to
    # them; the customer hangs up later. The consultation merged into the customer's call:
    # QA's list must not keep it live while the status page says no call is.
    fake = FakeAsterisk()
    customer, target, bridge = attended_transfer(fake, surviving="customer's")
    fake.hangup_request(customer, "16")
    hang_up_both(fake, customer, target, bridge=bridge)
    consultation = target.linkedid
    async with running_service(database_url, pbx) as service:
        await pbx.wait_logged_in()
        for event in fake.sent:
            await pbx.emit(event)
        records = await stored(service, {customer.linkedid, consultation})
        status = (await service.get("/api/status", "supervisor")).json()
        detail = (await service.get(f"/api/calls/{records[consultation]['id']}", "qa")).json()

    assert status["live_calls"] == 0
    assert [call["status"] for call in records.values()] == ["ended", "ended"]
    closed = records[consultation]
    assert closed["ended_at"] == records[customer.linkedid]["ended_at"]
    assert closed["ended_in_gap"] is False
    (ended,) = [entry for entry in detail["timeline"] if entry["kind"] == "ended"]
    assert ended["detail"]["merged_into"] == customer.linkedid
    assert records[customer.linkedid]["transfers"] == 1
