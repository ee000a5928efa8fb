"""The line desk driven with the line changes the pipeline hands it for a recorded phone
fault: the IT board's table, and ``line.status`` to the IT side with the agent's name."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.db.tables import User
from app.lines import store as lines
from app.lines.desk import LineDesk
from app.live.hub import Hub
from app.live.updates import LinesChanged, LiveCallsListed
from app.settings import Settings
from tests.conftest import LAB_TRUNKS
from tests.desks.fakes import (
    AGENT_TWO,
    T0,
    TRUNKS,
    Listener,
    TestDatabase,
    link_events,
    running,
    until,
    updates_of,
)

pytestmark = pytest.mark.asyncio
PROBE = "PJSIP/callassist-probe"  # the line probe's endpoint as shipped


def phone_changes() -> list[LinesChanged]:
    """Agent two's phone stops answering qualify, then comes back (line_fault_unreachable)."""
    updates = updates_of(link_events("line_fault_unreachable"))
    return [u for u in updates if isinstance(u, LinesChanged)]



async def test_a_line_change_reaches_the_it_side_with_the_agents_name(
    database: TestDatabase, hub: Hub
) -> None:
    it, supervisor, qa = Listener(hub, "it"), Listener(hub, "supervisor"), Listener(hub, "qa")
    agent2 = Listener(hub, "agent", AGENT_TWO)
    desk = LineDesk(database, hub, TRUNKS)
    down, back, timed = phone_changes()

    desk.take(down)  # before the names are read: the endpoint alone
    (early,) = it.take()
    assert (early["endpoint"]["endpoint"], early["endpoint"]["agent"]) == (AGENT_TWO, None)

    async with running(desk.run()):
        await until(lambda: database.runs >= 1, "the agent names read")
        desk.take(back)
        desk.take(timed)

    (line,) = back.lines
    messages = it.take()
    assert [m["type"] for m in messages] == ["line.status", "line.status"]
    assert messages[0]["endpoint"] == {
        "pbx": "default",
        "endpoint": AGENT_TWO,
        "kind": "agent",
        "state": "reachable",
        "roundtrip_ms": None,
        "last_change_at": line.last_change_at,
        "agent": "Agent Two",
        "last_fault": None,  # the desk was handed no fault here
    }
    assert messages[1]["endpoint"]["roundtrip_ms"] == 0.751
    assert [m["endpoint"]["state"] for m in supervisor.take()] == [
        "unreachable",
        "reachable",
        "reachable",
    ]
    assert qa.take() == [] and agent2.take() == []  # the board is the IT side's
    assert desk.lines[AGENT_TWO].state == "reachable"
    assert desk.lines[AGENT_TWO].roundtrip_ms == 0.751


async def test_a_trunk_is_shown_as_a_trunk(database: TestDatabase, hub: Hub) -> None:
    it = Listener(hub, "it")
    desk = LineDesk(database, hub, TRUNKS)
    updates = updates_of(link_events("dropped_mid_call_network"))
    desk.take(next(u for u in updates if isinstance(u, LinesChanged)))

    (message,) = it.take()
    assert message["endpoint"]["endpoint"] == "PJSIP/2001"
    assert (message["endpoint"]["kind"], message["endpoint"]["state"]) == ("trunk", "unreachable")
    assert message["endpoint"]["agent"] is None


async def test_after_a_relogin_the_names_are_read_again(database: TestDatabase, hub: Hub) -> None:
    it = Listener(hub, "it")
    desk = LineDesk(database, hub, TRUNKS)
    down, back, _ = phone_changes()
    async with running(desk.run()):
        await until(lambda: database.runs >= 1, "the agent names read")
        desk.take(down)

        def new_name(session: Session) -> None:  # agent two's phone changed hands
            user = session.exec(select(User).where(User.endpoint == AGENT_TWO)).one()
            user.display_name = "Agent Two B"
            session.add(user)
            session.commit()

        database.read(new_name)
        desk.take(back)  # the desk has not been told to look again
        desk.take(LiveCallsListed(frozenset(), T0 + 100))  # a (re)login
        await until(lambda: database.runs >= 2, "the agent names read again")
        desk.take(back)

    assert [m["endpoint"]["agent"] for m in it.take()] == [
        "Agent Two",
        "Agent Two",
        "Agent Two B",
    ]


async def test_the_last_fault_stays_the_last_fault_after_the_line_recovers(
    database: TestDatabase, hub: Hub
) -> None:
    it = Listener(hub, "it")
    desk = LineDesk(database, hub, TRUNKS)
    for update in updates_of(link_events("line_fault_unreachable")):
        desk.take(update)  # the faults (unreachable, recovered) and the line changes

    shown = [m["endpoint"] for m in it.take("line.status")]
    assert [line["state"] for line in shown] == ["unreachable", "reachable", "reachable"]
    down = desk.last_faults[AGENT_TWO]
    assert down.fault == "unreachable"  # not "recovered"
    fault = {"fault": "unreachable", "at": down.at, "detail": None}
    assert [line["last_fault"] for line in shown] == [fault, fault, fault]
    rows = lines.line_board(desk.lines, TRUNKS, {}, desk.last_faults)
    board = {row["endpoint"]: row for row in rows}
    assert (board[AGENT_TWO]["state"], board[AGENT_TWO]["last_fault"]) == ("reachable", fault)
    assert board["PJSIP/2001"]["last_fault"] is None  # the trunk had none


async def test_the_line_probes_endpoint_is_no_line_on_the_board(
    database: TestDatabase, hub: Hub
) -> None:
    # The lab: two line checks (the probe registers and calls), its contact lapsing 120 s
    # later. The board is told nothing of it: the probe is no trunk and no agent's phone.
    it = Listener(hub, "it")
    desk = LineDesk(database, hub, Settings(trunks=LAB_TRUNKS).trunk_plan)
    events = link_events("lab2_g_linecheck_probe_call", 0.0)
    events += link_events("lab2_g2_probe_registration_expires", 0.0)
    updates = updates_of(events)
    assert [u for u in updates if isinstance(u, LinesChanged)]  # the PBX did say it changed
    for update in updates:
        desk.take(update)

    assert it.take("line.status") == []
    assert PROBE not in desk.lines


async def test_a_pbxs_line_desk_names_only_the_agents_whose_phones_are_on_it(
    database: TestDatabase, hub: Hub
) -> None:
    it = Listener(hub, "it")

    def to_south(session: Session) -> None:  # agent two's phone is on the south PBX
        user = session.exec(select(User).where(User.endpoint == AGENT_TWO)).one()
        user.pbx = "south"
        session.add(user)
        session.commit()

    database.read(to_south)
    default, south = LineDesk(database, hub, TRUNKS), LineDesk(database, hub, TRUNKS, pbx="south")
    down, back, _ = phone_changes()
    async with running(default.run()), running(south.run()):
        await until(lambda: database.runs >= 2, "the agent names read")
        default.take(down)  # the default PBX's PJSIP/1002 is nobody's phone
        south.take(back)

    on_default, on_south = (m["endpoint"] for m in it.take())
    assert (on_default["pbx"], on_default["endpoint"], on_default["agent"]) == (
        "default",
        AGENT_TWO,
        None,
    )
    assert (on_south["pbx"], on_south["endpoint"], on_south["agent"]) == (
        "south",
        AGENT_TWO,
        "Agent Two",
    )
