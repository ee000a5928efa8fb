"""Simulated call traffic: recorded calls re-stamped for other people, played side by side.

What the demo and the service's integration tests rely on: each scenario, played for other
customers and agents, concurrently, over real TCP, still gives the tracker the outcome its
source capture gives (shared/ami/README.md rules, compared as tests/expected.py compares);
an Originate is answered with a real callback carrying the action's ids; and a recorded
stream can be cut mid-call without losing an event.

Times are measured on the recorded clock, never on the wall clock: the server stamps events
(timestampevents=yes), each played call's Timestamps run on its recording's time whatever
the speed, and the tracker takes event times from them as the live service does. A played
call's ring, talk and hold times are then its recording's to the millisecond, however late
a loaded machine delivers its events, and the speed only sets how long a test takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest

from telephony.calls.model import CallEnded, CallRecord
from telephony.calls.trunks import TrunkPlan, endpoint_of
from telephony.capture import CapturedMessage, read_capture
from telephony.lines.watch import FaultSignal
from telephony.simulator import AmiServer
from telephony.simulator.scenarios import ALL_BUSY, ORIGINATE, SCENARIOS, load_template
from telephony.simulator.server import RECORDED_TIMESTAMP_BASE
from telephony.simulator.templates import (
    LAB_AGENTS,
    IdMint,
    build_template,
)
from telephony.simulator.traffic import Traffic
from telephony.switchboard import Switchboard
from tests.conftest import CAPTURES, LAB_TRUNKS
from tests.expected import DURATION_FIELDS, DURATION_TOLERANCE, load_expected
from tests.integration.event_client import READ_TIMEOUT, EventClient

TRAFFIC_SCENARIOS = sorted(name for name in SCENARIOS if name != ORIGINATE)
CUSTOMER = ("+8613800138000", "张三")
OTHER_CUSTOMER = ("+8613912345678", "李四")
# Calls played over TCP go this many times faster than recorded. Durations come from the
# calls' own Timestamps, so the pace only sets how long a test takes: the longest call
# (53 s, dropped_media_timeout) plays in 1.3 s.
SPEED = 40.0
# The tracker gives durations in milliseconds (rounded) and Timestamps carry microseconds, so
# a played call's duration may round to one millisecond off its recording's.
PLANNED_TOLERANCE = 0.001 + 1e-9


# -- what a scenario must give ----------------------------------------------------------------


def expectation(scenario: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The source capture's expected call (its first, for the burst) and faults."""
    template = load_template(scenario)
    calls, faults = load_expected(CAPTURES / f"{template.source}.expected.jsonl")
    call = next((c for c in calls if c["call_id"] == template.call_id), None)
    return call, faults


@functools.cache
def planned(scenario: str) -> CallRecord | None:
    """The scenario's call as its recording times it: the tracker fed the template's own
    events at their recorded offsets (None for a line event)."""
    template = load_template(scenario)
    records, _, _ = feed(
        (dict(event.fields), RECORDED_TIMESTAMP_BASE + event.offset) for event in template.events
    )
    return next((r for r in records if r.call_id == template.call_id), None)


def check_call(
    record: CallRecord,
    want: Mapping[str, Any],
    agents: Mapping[str, str],
    customer: str,
    *,
    timed_as: CallRecord | None = None,
) -> list[str]:
    """How ``record`` differs from the recorded call ``want`` played for other people.

    Durations are compared with ``want``'s within the README's half second or, given
    ``timed_as`` (``planned(scenario)``), with its durations to the tracker's millisecond.
    """
    got = record.contract()
    problems = [
        f"{name}: {got[name]!r} != {want[name]!r}"
        for name in ("outcome", "ended_by", "hangup_cause", "direction", "queue", "transfers")
        if got[name] != want[name]
    ]
    mapped_agents = [agents[a] for a in want["agents"]]
    if list(record.agents) != mapped_agents:
        problems.append(f"agents: {list(record.agents)} != {mapped_agents}")
    mapped_agent = agents[want["agent"]] if want["agent"] else None
    if record.agent != mapped_agent:
        problems.append(f"agent: {record.agent!r} != {mapped_agent!r}")
    if record.customer != customer:
        problems.append(f"customer: {record.customer!r} != {customer!r}")
    tolerance = DURATION_TOLERANCE if timed_as is None else PLANNED_TOLERANCE
    for name in DURATION_FIELDS:
        value = getattr(record, name)
        wanted = want[name] if timed_as is None else getattr(timed_as, name)
        if (value is None) != (wanted is None) or (
            value is not None and abs(value - wanted) > tolerance
        ):
            problems.append(f"{name}: {value!r} != {wanted!r} (within {tolerance:g} s)")
    return problems


def missing_faults(
    faults: Iterable[FaultSignal], want: Iterable[Mapping[str, Any]], agents: Mapping[str, str]
) -> list[tuple[str, str]]:
    got = Counter((f.fault, f.location) for f in faults)
    needed = Counter((w["fault"], agents.get(w["location"], w["location"])) for w in want)
    return [key for key, count in needed.items() if got[key] < count]


def feed(
    events: Iterable[tuple[dict[str, str], float | None]],
) -> tuple[list[CallRecord], list[FaultSignal], Switchboard]:
    board = Switchboard(TrunkPlan.parse(LAB_TRUNKS))
    records: list[CallRecord] = []
    faults: list[FaultSignal] = []
    for headers, at in events:
        for signal in board.feed(headers, at):
            if isinstance(signal, CallEnded):
                records.append(signal.record)
            elif isinstance(signal, FaultSignal):
                faults.append(signal)
    return records, faults, board


def agents_for(count: int, base: int) -> list[str]:
    return [f"PJSIP/{base + i}" for i in range(count)]


def stamped_times(events: Iterable[dict[str, str]]) -> list[tuple[dict[str, str], float | None]]:
    """Each event with its time on the PBX's clock: its Timestamp, which the server fixture
    (timestampevents=yes) puts on every event. Never the arrival time."""
    return [(e, float(e["Timestamp"])) for e in events]


# -- re-stamping, without the network --------------------------------------------------------


@pytest.mark.parametrize("scenario", TRAFFIC_SCENARIOS)
def test_a_restamped_scenario_gives_its_captures_outcome_for_other_people(scenario: str) -> None:
    template = load_template(scenario)
    agents = agents_for(len(template.agents), 3101)
    call = template.stamp(customer=CUSTOMER, agents=agents, mint=IdMint(), epoch=1795600000.0)

    records, faults, board = feed(
        (event.headers, RECORDED_TIMESTAMP_BASE + event.offset) for event in call.events
    )

    want_call, want_faults = expectation(scenario)
    assert missing_faults(faults, want_faults, call.agents) == []
    assert not board.tracker.live_calls
    if want_call is None:
        assert records == []
        assert call.call_id is None
        return
    assert len(records) == 1
    assert records[0].call_id == call.call_id
    assert check_call(records[0], want_call, call.agents, CUSTOMER[0]) == []


@pytest.mark.parametrize("scenario", TRAFFIC_SCENARIOS)
def test_no_recorded_identity_survives_a_restamp(scenario: str) -> None:
    template = load_template(scenario)
    agents = agents_for(len(template.agents), 4201)
    call = template.stamp(customer=CUSTOMER, agents=agents, mint=IdMint(), epoch=1795600000.0)

    recorded = [*template.uniqueids, *template.channels, *template.uuids]
    for agent in template.agents:
        recorded += [agent, agent.partition("/")[2], LAB_AGENTS[agent]]
    if template.customer is not None:
        recorded += list(template.customer)
    token = re.compile(
        r"(?<![0-9A-Za-z.])(?:"
        + "|".join(re.escape(t) for t in sorted(recorded, key=len, reverse=True))
        + r")(?![0-9A-Za-z])(?!\.[0-9])"
    )
    leftovers = {
        (key, value)
        for event in call.events
        for key, value in event.headers.items()
        if token.search(value)
    }
    assert leftovers == set()
    # The trunk is the trunk, and what was no identity is as recorded.
    for before, after in zip(template.events, call.events, strict=True):
        for key, value in before.fields:
            if key in ("Event", "Privilege", "Context", "Cause", "DialStatus", "Queue"):
                assert after.headers[key] == value
            if key == "Channel" and value.startswith("PJSIP/2001-"):
                assert endpoint_of(after.headers[key]) == "PJSIP/2001"
            if key == "Uniqueid":
                assert re.fullmatch(r"\d{10}\.\d+", after.headers[key])


def test_substitution_is_by_whole_token_not_by_substring() -> None:
    """``1001`` inside a Uniqueid, an SSRC, a port or a longer number is not the agent."""
    channel = "PJSIP/1001-0000002a"
    snapshot = {
        "Channel": channel,
        "CallerIDNum": "1001",
        "CallerIDName": "Agent One",
        "Exten": "1001",
        "Uniqueid": "1795479001.5",
        "Linkedid": "1795479001.5",
    }
    events = [
        CapturedMessage(1, 0.0, {"Event": "Newchannel", "Privilege": "call,all", **snapshot}),
        CapturedMessage(
            2,
            0.5,
            {
                "Event": "VarSet",
                "Privilege": "dialplan,all",
                **snapshot,
                "Variable": "NOTES",
                "Value": "1001 at sip:1001@127.0.0.1:10013 ssrc 0xca110010 ntp 1795479001.51001",
            },
        ),
        CapturedMessage(3, 1.0, {"Event": "Hangup", "Privilege": "call,all", **snapshot}),
    ]
    template = build_template("probe", "synthetic", events, customer=None)
    call = template.stamp(customer=CUSTOMER, agents=["PJSIP/7002"], mint=IdMint(), epoch=1.8e9)

    first, varset = call.events[0].headers, call.events[1].headers
    assert first["Channel"].startswith("PJSIP/7002-")
    assert first["Channel"] != "PJSIP/7002-0000002a"
    assert first["CallerIDNum"] == first["Exten"] == "7002"
    assert first["CallerIDName"] == "Agent 7002"
    assert re.fullmatch(r"1800000000\.\d+", first["Uniqueid"])
    assert "7002" not in first["Uniqueid"].partition(".")[0]
    assert varset["Value"] == (
        "7002 at sip:7002@127.0.0.1:10013 ssrc 0xca110010 ntp 1795479001.51001"
    )


def test_agents_can_swap_places_in_one_pass() -> None:
    template = load_template("transfer_and_hold")
    call = template.stamp(
        customer=CUSTOMER, agents=["PJSIP/1002", "PJSIP/1001"], mint=IdMint(), epoch=1.8e9
    )

    records, _, _ = feed((e.headers, e.offset) for e in call.events)

    assert records[0].agents == ("PJSIP/1002", "PJSIP/1001")
    assert records[0].transfers == 1


# -- played over TCP ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_every_scenario_played_at_once_over_tcp_keeps_its_outcome(
    server: AmiServer, client: EventClient
) -> None:
    needed = {name: len(load_template(name).agents) for name in TRAFFIC_SCENARIOS}
    all_agents = agents_for(sum(needed.values()), 5001)
    traffic = Traffic(server, agents=all_agents, rng=random.Random(7), speed=SPEED)
    plan: list[tuple[str, list[str], tuple[str, str]]] = []
    taken = 0
    for index, name in enumerate(TRAFFIC_SCENARIOS):
        plan.append(
            (
                name,
                all_agents[taken : taken + needed[name]],
                (f"+86139000{index:05d}", f"客户{index}"),
            )
        )
        taken += needed[name]

    call_ids = await asyncio.gather(
        *(traffic.place(name, customer=who, agents=agents) for name, agents, who in plan)
    )
    events = await client.catch_up()

    records, faults, _ = feed(stamped_times(events))
    by_id = {record.call_id: record for record in records}
    for (name, agents, who), call_id in zip(plan, call_ids, strict=True):
        template = load_template(name)
        agent_map = dict(zip(template.agents, agents, strict=True))
        want_call, want_faults = expectation(name)
        assert missing_faults(faults, want_faults, agent_map) == [], name
        if want_call is None:
            assert call_id == "", name
            continue
        assert call_id in by_id, name
        problems = check_call(by_id[call_id], want_call, agent_map, who[0], timed_as=planned(name))
        assert problems == [], name
    assert len(records) == sum(1 for c in call_ids if c)
    assert len(set(call_ids) - {""}) == len(records)
    assert server.live_channels == {}
    assert traffic.roster.busy == set()


@pytest.mark.asyncio
async def test_two_concurrent_plays_of_one_scenario_are_two_calls(
    server: AmiServer, client: EventClient
) -> None:
    traffic = Traffic(
        server, agents=["PJSIP/6001", "PJSIP/6002"], rng=random.Random(3), speed=SPEED
    )

    first, second = await asyncio.gather(
        traffic.place("answered_customer_hangs_up", customer=CUSTOMER),
        traffic.place("answered_customer_hangs_up", customer=OTHER_CUSTOMER),
    )
    records, _, _ = feed(stamped_times(await client.catch_up()))

    assert first != second
    assert {r.call_id for r in records} == {first, second}
    by_id = {r.call_id: r for r in records}
    assert {by_id[first].customer, by_id[second].customer} == {CUSTOMER[0], OTHER_CUSTOMER[0]}
    assert {by_id[first].agent, by_id[second].agent} == {"PJSIP/6001", "PJSIP/6002"}
    want, _ = expectation("answered_customer_hangs_up")
    assert want is not None
    timed_as = planned("answered_customer_hangs_up")
    for record in records:
        agent_map = {"PJSIP/1001": record.agent or ""}
        customer = record.customer or ""
        assert check_call(record, want, agent_map, customer, timed_as=timed_as) == []


@pytest.mark.asyncio
async def test_an_originate_is_answered_with_a_real_callback(
    server: AmiServer, client: EventClient
) -> None:
    traffic = Traffic(server, agents=["PJSIP/6101"], rng=random.Random(5), speed=SPEED)
    server.on_originate = traffic.answer_originate
    ended: list[CallRecord] = []
    channel_id = "cb-4f1c2a9e7d"
    assert client._writer is not None
    client._writer.write(
        (
            "Action: Originate\r\nActionID: cb-action-1\r\nChannel: PJSIP/6101\r\n"
            "Context: from-agents\r\nExten: +8613912345678\r\nPriority: 1\r\n"
            'CallerID: "李四" <+8613912345678>\r\n'
            f"ChannelId: {channel_id}\r\nTimeout: 30000\r\nAsync: true\r\n"
            "Variable: CALLASSIST_ATTEMPT=7\r\nVariable: CALLASSIST_CALLBACK=42\r\n\r\n"
        ).encode()
    )

    def call_ended(events: list[dict[str, str]]) -> bool:
        records, _, _ = feed(stamped_times(events))
        ended[:] = records
        return bool(records)

    await client.wait_for(call_ended)
    await traffic.drain()
    events = await client.catch_up()

    record = ended[0]
    assert record.call_id == channel_id
    assert record.agent == "PJSIP/6101"
    assert record.customer == "+8613912345678"
    assert record.direction == "outbound"
    assert record.outcome == "completed"
    assert record.ended_by == "agent"
    want, _ = expectation(ORIGINATE)
    assert want is not None
    agent_map = {"PJSIP/1001": "PJSIP/6101"}
    timed_as = planned(ORIGINATE)
    assert check_call(record, want, agent_map, "+8613912345678", timed_as=timed_as) == []
    varsets = {
        e["Variable"]: e["Value"]
        for e in events
        if e["Event"] == "VarSet" and e["Uniqueid"] == channel_id
    }
    assert varsets["CALLASSIST_ATTEMPT"] == "7"
    assert varsets["CALLASSIST_CALLBACK"] == "42"
    assert "CALLBACK_REASON" not in varsets  # the lab's own variable is not the action's
    response = next(e for e in events if e["Event"] == "OriginateResponse")
    assert response["ActionID"] == "cb-action-1"
    assert response["Uniqueid"] == channel_id
    assert response["Channel"].startswith("PJSIP/6101-")
    newchannel = next(e for e in events if e["Event"] == "Newchannel")
    assert newchannel["Uniqueid"] == newchannel["Linkedid"] == channel_id
    assert server.live_channels == {}


@pytest.mark.asyncio
async def test_a_call_sent_late_by_a_stalled_loop_keeps_its_recorded_times(
    server: AmiServer, client: EventClient
) -> None:
    """A loaded machine sends events late and in bunches; their Timestamps are still the
    recording's times (from when the call was placed, in Asterisk's ``%ld.%06lu``), and so
    are the durations the tracker makes of them."""
    traffic = Traffic(server, agents=["PJSIP/6301"], rng=random.Random(8), speed=SPEED)
    template = load_template("answered_customer_hangs_up")
    loop = asyncio.get_running_loop()
    stalls: list[float] = []

    def stall() -> None:  # the whole loop stops, as when a loaded machine runs others
        stalls.append(loop.time())
        time.sleep(0.15)  # 6 s of the recording at SPEED

    placed = time.time()
    timers = [loop.call_later(at, stall) for at in (0.02, 0.1, 0.2)]  # within the 0.3 s
    call_id = await traffic.place("answered_customer_hangs_up", customer=CUSTOMER)
    played, ended = loop.time(), time.time()
    for timer in timers:
        timer.cancel()
    events = await client.catch_up()
    records, _, _ = feed(stamped_times(events))

    assert len([at for at in stalls if at < played]) >= 2  # while the call was playing
    assert len(events) == len(template.events)
    assert all(re.fullmatch(r"\d{10}\.\d{6}", e["Timestamp"]) for e in events)
    first = float(events[0]["Timestamp"])
    assert placed <= first <= ended
    offsets = [float(e["Timestamp"]) - first for e in events]
    assert offsets == pytest.approx([e.offset for e in template.events], abs=2e-6)
    want, _ = expectation("answered_customer_hangs_up")
    assert want is not None
    (record,) = records
    assert record.call_id == call_id
    agent_map = {"PJSIP/1001": "PJSIP/6301"}
    timed_as = planned("answered_customer_hangs_up")
    assert check_call(record, want, agent_map, CUSTOMER[0], timed_as=timed_as) == []


@pytest.mark.asyncio
async def test_without_timestampevents_played_calls_carry_no_timestamp() -> None:
    """As an Asterisk with timestampevents=no: a client then times events by their arrival."""
    plain = AmiServer()
    await plain.start()
    reader = EventClient(plain)
    try:
        await reader.connect()
        traffic = Traffic(plain, agents=["PJSIP/6401"], rng=random.Random(9), speed=0)
        await traffic.place("answered_customer_hangs_up", customer=CUSTOMER)
        events = await reader.catch_up()
    finally:
        await reader.close()
        await plain.close()

    assert len(events) == len(load_template("answered_customer_hangs_up").events)
    assert [e for e in events if "Timestamp" in e] == []


# -- a recorded stream that survives a cut ----------------------------------------------------


@pytest.mark.asyncio
async def test_play_capture_holds_through_a_cut_and_keeps_recorded_timestamps(
    server: AmiServer,
) -> None:
    capture = CAPTURES / "normal_inbound_caller_hangup.ami"
    recorded = [m for m in read_capture(capture) if "Event" in m.headers][2:]
    # Cut in the longest quiet spell of the call, while it is being talked.
    gaps = [(later.at or 0) - (earlier.at or 0) for earlier, later in itertools.pairwise(recorded)]
    cut_after = max(range(len(gaps)), key=gaps.__getitem__)
    speed = 10.0
    assert gaps[cut_after] / speed > 0.3
    sizes = random.Random(11)
    drawn: list[int] = []

    def write_size() -> int:
        drawn.append(sizes.randint(1, 48))
        return drawn[-1]

    first = EventClient(server)
    await first.connect()
    playing = asyncio.create_task(
        server.play_capture(
            capture,
            speed=speed,
            timestamps="recorded",
            hold_when_disconnected=True,
            write_sizes=write_size,
        )
    )
    await first.wait_for(lambda events: len(events) > cut_after)
    await server.drop_sessions()
    await first.close()
    await asyncio.sleep(gaps[cut_after] / speed + 0.2)  # the next event is due while cut off
    assert not playing.done()
    assert server.live_channels  # the call goes on at the PBX

    second = EventClient(server)
    await second.connect()
    sent = await asyncio.wait_for(playing, READ_TIMEOUT)
    await second.wait_for(lambda events: len(first.events) + len(events) >= sent)
    await second.close()

    received = first.events + second.events
    assert sent == len(recorded) == len(received)
    for got, want in zip(received, recorded, strict=True):
        assert got["Timestamp"] == f"{RECORDED_TIMESTAMP_BASE + (want.at or 0):.6f}"
        assert {k: v for k, v in got.items() if k != "Timestamp"} == want.headers
    assert len(drawn) > 5 * len(recorded)  # every event went out in several small writes
    records, _, _ = feed(stamped_times(received))
    expected, _ = load_expected(CAPTURES / "normal_inbound_caller_hangup.expected.jsonl")
    for name in DURATION_FIELDS:
        assert getattr(records[0], name) == pytest.approx(expected[0][name], abs=0.01)


# -- traffic that runs by itself --------------------------------------------------------------


def overlapping_agents(events: Sequence[dict[str, str]], agents: set[str]) -> list[str]:
    """Agents seen with live channels on two calls at once."""
    live: dict[str, dict[str, str]] = {}  # agent -> Uniqueid -> Linkedid
    problems: list[str] = []
    for event in events:
        name = event.get("Event")
        if name not in ("Newchannel", "Hangup"):
            continue
        agent = endpoint_of(event["Channel"])
        if agent not in agents:
            continue
        legs = live.setdefault(agent, {})
        if name == "Newchannel":
            others = set(legs.values()) - {event["Linkedid"]}
            if others:
                problems.append(f"{agent} on {event['Linkedid']} and {others}")
            legs[event["Uniqueid"]] = event["Linkedid"]
        else:
            legs.pop(event["Uniqueid"], None)
    return problems


@pytest.mark.asyncio
async def test_running_traffic_places_calls_that_all_end_and_never_double_book(
    server: AmiServer, client: EventClient
) -> None:
    agents = ["PJSIP/6201", "PJSIP/6202", "PJSIP/6203"]
    traffic = Traffic(
        server, agents=agents, rng=random.Random(2026), calls_per_minute=900.0, speed=40.0
    )

    running = asyncio.create_task(traffic.run())
    await asyncio.sleep(1.5)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    await asyncio.wait_for(traffic.drain(), READ_TIMEOUT)
    events = await client.catch_up()

    records, _, board = feed(stamped_times(events))
    assert traffic.placed >= 8
    assert len(records) >= 5
    assert not board.tracker.live_calls
    assert server.live_channels == {}
    assert overlapping_agents(events, set(agents)) == []
    # ... and the check does see an agent on two calls:
    double = [
        {
            "Event": "Newchannel",
            "Channel": "PJSIP/6201-00000001",
            "Uniqueid": "1.1",
            "Linkedid": "1.0",
        },
        {
            "Event": "Newchannel",
            "Channel": "PJSIP/6201-00000002",
            "Uniqueid": "2.1",
            "Linkedid": "2.0",
        },
    ]
    assert overlapping_agents(double, set(agents)) != []
    assert traffic.roster.busy == set()
    customers = {r.customer for r in records}
    assert customers <= {c[0] for c in traffic.customers}
    assert any(r.outcome == "completed" for r in records)


def test_traffic_refuses_an_unknown_scenario_and_a_trunk_as_agent() -> None:
    server = AmiServer()
    with pytest.raises(ValueError, match="unknown scenario"):
        Traffic(server, agents=["PJSIP/1001"], rng=random.Random(1), mix={"no_such": 1.0})
    with pytest.raises(ValueError, match="trunk"):
        Traffic(server, agents=["PJSIP/2001"], rng=random.Random(1))
    assert ALL_BUSY in SCENARIOS
