"""The incident desk driven with the fault signals the pipeline hands it for recorded line
faults, the real hub and the real database: report first, one incident per fault, the agents
on the failing line told, reminders on time, nothing lost to a database hiccup."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from app.incidents import desk as incident_desk
from app.incidents import store
from app.incidents.desk import IncidentDesk
from app.live.hub import Hub
from app.live.updates import FaultSeen, Update
from app.settings import Settings
from telephony.calls.model import CallEnded
from tests.conftest import LAB_TRUNKS
from tests.desks.fakes import (
    AGENT_ONE,
    AGENT_TWO,
    T0,
    Listener,
    ManualClock,
    TestDatabase,
    link_events,
    split_at,
    updates_of,
)

pytestmark = pytest.mark.asyncio

TRUNK = "PJSIP/2001"
PROBE = "PJSIP/callassist-probe"  # the line probe's endpoint as shipped
DROPPED = "1795478779.7"  # dropped_mid_call_network: agent one's call over the trunk
MINUTES = 60.0


def trunk_trouble() -> list[Update]:
    """Agent one talks to a customer over the trunk; the trunk stops answering qualify, the
    call dies of no media, the trunk comes back (dropped_mid_call_network)."""
    return updates_of(link_events("dropped_mid_call_network"))


def faults(updates: list[Update]) -> list[FaultSeen]:
    return [u for u in updates if isinstance(u, FaultSeen)]


def again(seen: FaultSeen, after: FaultSeen) -> FaultSeen:
    """The same fault signalled once more, half a minute after ``after``."""
    at = after.received + 30
    return FaultSeen(replace(seen.signal, at=at), at)


class Bench:
    def __init__(self, database: TestDatabase, hub: Hub) -> None:
        self.database, self.hub = database, hub
        self.clock = ManualClock(T0)
        # Agents told of every change at once (their damping is a test of its own).
        self.desk = IncidentDesk(
            database, hub, Settings(trunks=LAB_TRUNKS), clock=self.clock, tell_agents_every=0
        )

    def hand(self, updates: list[Update]) -> None:
        for update in updates:
            self.desk.take(update)

    async def turn(self) -> None:
        """What the desk's task (``run``) does with the signals handed so far: each in
        order, tried until it is stored, the moment it arrived (the clock follows)."""
        signals = self.desk._signals
        while not signals.empty():
            signal, received = signals.get_nowait()
            self.clock.now = max(self.clock.now, received)
            await self.desk._handle_until_stored(signal, received)

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident with its timeline, as /api/incidents/{id} shows it, oldest first."""

        def read(db: Any) -> list[dict[str, Any]]:
            rows, _ = store.list_incidents(db, "all", limit=100, offset=0)
            period = self.desk.reminder_period
            found = [store.detail_view(db, row, self.clock(), period) for row in rows]
            return sorted(found, key=lambda item: item["id"])

        return self.database.read(read)


@pytest.fixture
def bench(database: TestDatabase, hub: Hub) -> Bench:
    return Bench(database, hub)


def kinds(incident: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in incident["timeline"]]


async def test_a_trunk_going_down_is_reported_to_the_it_side_before_anything_is_written(
    bench: Bench, hub: Hub
) -> None:
    written_when_told: list[list[str]] = []

    def look_at_the_timeline(message: dict[str, Any]) -> None:
        if message["type"] == "incident.opened":
            timeline = bench.incidents()[0]["timeline"]
            written_when_told.append([entry["kind"] for entry in timeline])

    it = Listener(hub, "it", on_message=look_at_the_timeline)
    supervisor, qa = Listener(hub, "supervisor"), Listener(hub, "qa")
    agent1 = Listener(hub, "agent", AGENT_ONE)
    down = faults(trunk_trouble())[0]
    bench.hand([down])
    await bench.turn()

    (opened,) = [m["incident"] for m in it.take()]
    assert (opened["kind"], opened["level"], opened["location"]) == ("trunk_down", "I", TRUNK)
    assert (opened["status"], opened["signals"], opened["owner"]) == ("open", 1, None)
    assert opened["summary"] == "Trunk PJSIP/2001 is unreachable"
    assert opened["opened_at"] == down.signal.at
    assert written_when_told == [[]]  # told first; the timeline came after
    assert supervisor.types() == ["incident.opened"]
    assert qa.take() == [] and agent1.take() == []  # incidents are the IT side's
    (incident,) = bench.incidents()
    assert kinds(incident) == ["detected", "reported"]
    detected, reported = incident["timeline"]
    assert detected["at"] == down.signal.at <= reported["at"] == down.received
    assert reported["detail"] == {"recipients": 2}  # it and supervisor were connected
    assert bench.desk.active_by_level["I"] == 1


async def test_more_signals_of_one_fault_join_its_incident_and_recovery_is_marked(
    bench: Bench, hub: Hub
) -> None:
    it = Listener(hub, "it")
    down, no_media, back = faults(trunk_trouble())
    bench.hand([down, no_media, back])
    await bench.turn()
    bench.hand([again(down, after=back)])  # and down again
    await bench.turn()

    messages = it.take()
    assert [m["type"] for m in messages] == [
        "incident.opened",
        "incident.updated",  # no media on the same trunk: one more signal
        "incident.updated",  # recovered
        "incident.updated",  # down again
    ]
    ids = {m["incident"]["id"] for m in messages}
    assert len(ids) == 1
    recovered, relapsed = messages[2]["incident"], messages[3]["incident"]
    assert (recovered["recovered_at"], recovered["status"]) == (back.signal.at, "open")
    assert (relapsed["recovered_at"], relapsed["signals"]) == (None, 3)
    (incident,) = bench.incidents()
    assert kinds(incident) == ["detected", "reported", "signal", "recovered", "signal"]
    assert incident["timeline"][-1]["detail"]["relapsed"] is True


async def test_agents_on_calls_over_the_failing_trunk_are_told_and_told_again_when_it_is_back(
    bench: Bench, hub: Hub
) -> None:
    agent1, agent2 = Listener(hub, "agent", AGENT_ONE), Listener(hub, "agent", AGENT_TWO)
    updates = trunk_trouble()
    on_the_call, from_the_end = split_at(updates, lambda u: isinstance(u, CallEnded))
    down, _, back = faults(updates)
    bench.hand(on_the_call)  # the call, and the trunk going down under it
    await bench.turn()

    (told,) = agent1.take("line.incident")
    assert told["call_ids"] == [DROPPED]
    assert (told["incident"]["kind"], told["incident"]["location"]) == ("trunk_down", TRUNK)
    assert told["incident"]["recovered_at"] is None
    bench.hand([back])  # the trunk is back while the call goes on
    await bench.turn()
    (cleared,) = agent1.take("line.incident")
    assert cleared["incident"]["recovered_at"] == back.signal.at
    assert agent2.take() == []  # not on a call over that trunk

    bench.hand([u for u in from_the_end if isinstance(u, CallEnded)])
    bench.hand([again(down, after=back)])
    await bench.turn()
    assert agent1.take("line.incident") == []  # their call is over


async def test_a_flapping_trunk_tells_its_agents_at_once_then_its_latest_state_at_most_every_period(
    bench: Bench, hub: Hub
) -> None:
    bench.desk = IncidentDesk(
        bench.database, hub, Settings(trunks=LAB_TRUNKS), clock=bench.clock, tell_agents_every=0.3
    )
    agent1 = Listener(hub, "agent", AGENT_ONE)
    updates = trunk_trouble()
    on_the_call, _ = split_at(updates, lambda u: isinstance(u, CallEnded))
    down, _, back = faults(updates)
    bench.hand(on_the_call)
    await bench.turn()
    (told,) = agent1.take("line.incident")
    assert told["incident"]["recovered_at"] is None

    bench.hand([back])  # back, down, back again within the period: no news yet
    bench.hand([FaultSeen(replace(down.signal, at=back.received + 1), back.received + 1)])
    bench.hand([FaultSeen(replace(back.signal, at=back.received + 2), back.received + 2)])
    await bench.turn()
    assert agent1.take("line.incident") == []
    await asyncio.sleep(0.5)
    (latest,) = agent1.take("line.incident")  # one message, the state the line is in now
    assert latest["incident"]["recovered_at"] == back.received + 2


async def test_the_it_side_is_reminded_of_urgent_incidents_nobody_acted_on(
    bench: Bench, hub: Hub
) -> None:
    it, qa = Listener(hub, "it"), Listener(hub, "qa")
    trunk_down = faults(trunk_trouble())[0]  # level I
    phone_down = faults(updates_of(link_events("line_fault_unreachable")))[0]  # level IV
    bench.hand([trunk_down, phone_down])
    await bench.turn()
    it.take()
    assert await bench.desk.remind_due() == 0  # nothing is due yet

    opened = trunk_down.received
    bench.clock.now = opened + 16 * MINUTES
    assert await bench.desk.remind_due() == 1
    (reminder,) = [m["incident"] for m in it.take("incident.reminder")]
    assert (reminder["location"], reminder["reminder_due"]) == (TRUNK, True)
    assert await bench.desk.remind_due() == 0  # once per period
    bench.clock.now = opened + 32 * MINUTES
    assert await bench.desk.remind_due() == 1
    assert qa.take() == []

    trunk, phone = bench.incidents()
    assert kinds(trunk).count("reminder") == 2
    assert (phone["level"], kinds(phone).count("reminder")) == ("IV", 0)


async def test_a_signal_is_tried_again_until_the_database_takes_it_and_the_next_waits(
    bench: Bench, hub: Hub, database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(incident_desk, "RETRY_INITIAL", 0.001)
    it = Listener(hub, "it")
    trunk_down = faults(trunk_trouble())[0]
    phone_down = faults(updates_of(link_events("line_fault_unreachable")))[0]
    database.fail_next(3)  # the database restarts
    bench.hand([trunk_down, phone_down])
    await bench.turn()

    assert database.failed == 3
    trunk, phone = bench.incidents()  # both stored, in the order they came
    assert (trunk["location"], phone["location"]) == (TRUNK, AGENT_TWO)
    assert kinds(trunk) == kinds(phone) == ["detected", "reported"]
    assert [m["incident"]["location"] for m in it.take("incident.opened")] == [TRUNK, AGENT_TWO]


async def test_a_report_not_written_at_once_is_written_later_and_the_incident_stays_whole(
    bench: Bench, hub: Hub, database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(incident_desk, "RETRY_INITIAL", 0.001)
    it = Listener(hub, "it")
    trunk_down = faults(trunk_trouble())[0]
    database.fail_next(2, after=2)  # the incident is stored, then the database restarts
    bench.hand([trunk_down])
    await bench.turn()

    assert database.failed == 2
    (trunk,) = bench.incidents()
    assert kinds(trunk) == ["detected", "reported"]  # not a second signal joining it
    assert trunk["signals"] == 1
    assert [m["incident"]["location"] for m in it.take("incident.opened")] == [TRUNK]


def trunk_trouble_then_drops() -> list[Update]:
    """The trunk trouble, then two more calls dropped on the trunk (cause 38) two and four
    minutes later, a completed call between them: three drops in ten minutes."""
    events = link_events("dropped_mid_call_network")
    events += link_events("dropped_mid_call_cause", T0 + 2 * MINUTES)
    events += link_events("normal_inbound_agent_hangup", T0 + 3 * MINUTES)
    events += link_events("dropped_mid_call_cause", T0 + 4 * MINUTES)
    return updates_of(events)


async def test_drops_after_the_trunk_came_back_make_its_incident_say_so_not_that_it_is_down(
    bench: Bench, hub: Hub
) -> None:
    # The lab: the carrier came back, calls then dropped on it, and the board said "Trunk
    # PJSIP/carrier is unreachable" again, while it was reachable.
    it = Listener(hub, "it")
    bench.hand(trunk_trouble_then_drops())
    await bench.turn()

    messages = it.take()
    opened = messages[0]["incident"]
    now = messages[-1]["incident"]
    assert [m["type"] for m in messages[1:]] == ["incident.updated"] * (len(messages) - 1)
    assert now["id"] == opened["id"]
    assert (now["kind"], now["level"]) == ("drop_cluster", "II")
    assert now["summary"] == "3 drops in 10 minutes on PJSIP/2001"
    assert now["recovered_at"] is None
    (incident,) = bench.incidents()  # none at agent one's phone, which only carried the calls
    detected, relapse = incident["timeline"][0], incident["timeline"][-1]
    assert detected["note"] == "Trunk PJSIP/2001 is unreachable"  # as it was detected
    assert relapse["note"] == "drop_cluster: 3 drops in 10 minutes"
    assert relapse["detail"]["relapsed"] is True
    assert relapse["detail"]["was"] == {
        "kind": "trunk_down",
        "level": "I",
        "summary": "Trunk PJSIP/2001 is unreachable",
    }


async def test_the_line_probes_registration_lapsing_after_a_check_opens_nothing(
    bench: Bench, hub: Hub
) -> None:
    # The lab: 120 s after a line check the probe's contact expired, and the board opened
    # "Agent phone PJSIP/callassist-probe is unreachable".
    it = Listener(hub, "it")
    lapse = faults(updates_of(link_events("lab2_g2_probe_registration_expires", 0.0)))
    assert [(f.signal.fault, f.signal.location) for f in lapse] == [
        ("unreachable", PROBE),
        ("unregistered", PROBE),
    ]
    bench.hand(lapse)
    await bench.turn()

    assert it.take() == []
    assert bench.incidents() == []


# -- several PBXs -----------------------------------------------------------------------------


def two_pbxs() -> Settings:
    """A default and a south PBX, whose carriers both reach them over a trunk PJSIP/2001."""
    pbxes = [
        {"name": name, "ami_url": f"ami://callassist:secret@{host}:5038", "trunks": LAB_TRUNKS}
        for name, host in (("default", "10.0.0.5"), ("south", "10.1.0.5"))
    ]
    return Settings(pbxes=json.dumps(pbxes))


async def test_the_same_trunk_failing_on_two_pbxs_opens_an_incident_on_each(
    database: TestDatabase, hub: Hub
) -> None:
    it = Listener(hub, "it")
    clock = ManualClock(T0)
    settings = two_pbxs()
    default = IncidentDesk(database, hub, settings, clock=clock)
    south = IncidentDesk(database, hub, settings, clock=clock, pbx="south")
    down, _, back = faults(trunk_trouble())
    for desk in (default, south):
        await desk.handle(down.signal, down.received)
    await south.handle(again(down, after=down).signal, down.received + 30)  # south's joins
    clock.now = back.received
    await south.handle(back.signal, back.received)  # south's trunk is back, not default's

    opened = [m["incident"] for m in it.take("incident.opened")]
    assert [(i["pbx"], i["kind"], i["location"]) for i in opened] == [
        ("default", "trunk_down", TRUNK),
        ("south", "trunk_down", TRUNK),
    ]
    rows, _ = database.read(lambda db: store.list_incidents(db, "all", limit=10, offset=0))
    by_pbx = {row.pbx: row for row in rows}
    assert (by_pbx["default"].signals, by_pbx["default"].recovered_at) == (1, None)
    assert (by_pbx["south"].signals, by_pbx["south"].recovered_at) == (2, back.signal.at)

    clock.now = down.received + 16 * MINUTES  # both level I, nobody acted: each desk its own
    assert await south.remind_due() == 1
    (reminder,) = [m["incident"] for m in it.take("incident.reminder")]
    assert reminder["pbx"] == "south"
    assert await default.remind_due() == 1
    assert [m["incident"]["pbx"] for m in it.take("incident.reminder")] == ["default"]
