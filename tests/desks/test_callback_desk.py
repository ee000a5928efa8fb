"""The callback desk driven with the pipeline's updates for recorded calls, a fake AMI link
and the real database: who is dialled, when, and never twice.

Each test hands the desk its updates (``take``) and then takes the turns its task takes
(``Bench.turn``), so what happens between two updates is up to the test, not to timing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, cast

import pytest
from sqlmodel import select

from app.callbacks import query, store
from app.callbacks.desk import CallbackDesk, PbxUnavailable
from app.callbacks.flights import DialPlan
from app.callbacks.rules import (
    ASK_A_PERSON,
    ATTEMPT_TAG,
    CALLBACK_FOR_TAG,
    CALLBACK_TAG,
    CUSTOMER_TAG,
    CallbackRules,
    candidate,
)
from app.db.tables import User
from app.live.hub import Hub
from app.live.no_pbx import NoPbx, PbxLink
from app.live.updates import CallSeen, FaultSeen, LiveCallsListed, Update
from app.pbxes.ids import DEFAULT_PBX
from app.records import store as records
from app.records.desk import RecordWriter
from app.records.store import CallChange
from telephony.ami.actions import ActionHeaders
from telephony.ami.items import LinkEvent
from telephony.ami.link import ActionInterrupted
from telephony.ami.replies import Reply
from telephony.calls.model import CallEnded
from telephony.calls.originate import originate_answer
from telephony.scope import IdScope
from tests.desks.fakes import (
    AGENT_ONE,
    AGENT_TWO,
    T0,
    FakeLink,
    Listener,
    ManualClock,
    TestDatabase,
    link_events,
    running,
    split_at,
    until,
    updates_of,
)

pytestmark = pytest.mark.asyncio

CUSTOMER = "+15551230100"  # the customer of every capture
DROPPED = "1795478779.7"  # dropped_mid_call_network: agent one's call, cut by the network
NOT_CONNECTED = "the AMI link is down: it will be dialled when the link is back"
RULES = CallbackRules(schedule=(0.0, 120.0, 600.0))


class Bench:
    """The desk and everything it talks to; the clock stands a minute after the captures."""

    def __init__(
        self,
        database: TestDatabase,
        hub: Hub,
        link: FakeLink | NoPbx,
        rules: CallbackRules,
        *,
        pbx: str = DEFAULT_PBX,
    ) -> None:
        self.database, self.hub, self.link, self.pbx = database, hub, link, pbx
        self.clock = ManualClock(T0 + 60)
        self.agent1 = Listener(hub, "agent", AGENT_ONE)
        self.desk = self.new_desk(rules)

    def new_desk(self, rules: CallbackRules = RULES) -> CallbackDesk:
        # FakeLink has AmiLink's shape; PbxLink names the two real links.
        link = cast(PbxLink, self.link)
        return CallbackDesk(
            self.database,
            self.hub,
            link,
            rules=rules,
            plan=DialPlan(),
            clock=self.clock,
            tick=0.001,
            pbx=self.pbx,
        )

    def hand(self, updates: Iterable[Update]) -> None:
        """As the pipeline hands them over; a call's end is stored first, with the callback
        it is owed, as the record writer stores the pipeline's job (the outbox)."""
        for update in updates:
            if isinstance(update, CallEnded):
                store_end(self.database, update, self.desk.rules)
            self.desk.take(update)

    async def turn(self, *, failing: bool = False) -> None:
        """What the desk's task (``run``) does with what it was handed: each update in
        order (and the wake-up once the writer stored a call's end), then, with nothing
        left, a look for the callbacks due. An error is kept in
        ``state.last_error``, as the task keeps it; unless ``failing``, the test stops there."""
        desk = self.desk
        before = desk.state.last_error
        while True:
            while not desk._inbox.empty():
                await desk._guarded(desk._handle(desk._inbox.get_nowait()))
            if desk._waking is None or desk._waking.done():
                break
            await desk._waking  # the writer has stored the calls' ends: the desk is woken
        await desk._guarded(desk._on_tick())
        if not failing:
            assert desk.state.last_error == before, desk.state.last_error

    def callbacks(self) -> list[dict[str, Any]]:
        """Every callback as /api/callbacks shows it, with its attempts, oldest first."""
        items, _ = self.database.read(lambda s: query.listing(s, status="all"))
        return sorted(items, key=lambda item: item["id"])

    def originates(self) -> list[dict[str, Any]]:
        assert isinstance(self.link, FakeLink)
        return self.link.named("Originate")


@pytest.fixture
def bench(database: TestDatabase, hub: Hub, link: FakeLink) -> Bench:
    return Bench(database, hub, link, RULES)


async def ticks(database: TestDatabase, count: int = 3) -> None:
    """Until a running desk has looked for due callbacks ``count`` more times (each look is
    a database run)."""
    start = database.runs
    await until(lambda: database.runs >= start + count, f"{count} ticks of the desk")


def store_end(database: TestDatabase, ended: CallEnded, rules: CallbackRules) -> None:
    """What the record writer stores for the pipeline's job for a call's end."""
    owed = candidate(ended, rules, ended.at or T0)
    database.read(lambda s: records.store(s, [CallChange(ended, None, owed)]))


def variables(originate: dict[str, Any]) -> dict[str, str]:
    pairs = (item.partition("=") for item in originate.get("Variable", []))
    return {name: value for name, _, value in pairs}


def dropped_call() -> list[Update]:
    """Agent one answers a customer; the network cuts the call."""
    return updates_of(link_events("dropped_mid_call_network"))


def talking(capture: str) -> tuple[list[Update], list[Update]]:
    """A recorded call's updates while it goes on, and from its end."""
    return split_at(updates_of(link_events(capture)), lambda u: isinstance(u, CallEnded))


def waiting_in_queue() -> tuple[list[Update], list[Update]]:
    """A customer waits in queue support (agent one's phone rings for them), then is served."""
    updates = updates_of(link_events("queue_answered_agent_complete"))
    return split_at(updates, lambda u: isinstance(u, CallSeen) and u.live.answered_at is not None)


def originate_response(channel_id: str, reason: int, at: float) -> Update:
    """The PBX's OriginateResponse for an attempt, as the pipeline hands it over."""
    answer = originate_answer(
        {
            "Event": "OriginateResponse",
            "ActionID": channel_id,
            "Response": "Success" if reason == 4 else "Failure",
            "Reason": str(reason),
            "Uniqueid": channel_id,
        },
        at,
    )
    assert answer is not None
    return answer


def callback_call(channel_id: str, start: float) -> list[Update]:
    """The call an attempt placed, as the PBX ran it in originate_callback: the agent's
    phone answers, the customer answers, they talk; its ids are the attempt's ChannelId."""
    events = link_events(
        "originate_callback",
        start,
        rename={"1795478958.14": channel_id, "callback-0001": channel_id},
    )
    return updates_of(events)


def not_answered(updates: list[Update], cause: int) -> list[Update]:
    """The same callback call, as it ends when the customer's side never answers (Q.850
    ``cause``): no answer time, the cause on the record."""
    result: list[Update] = []
    for update in updates:
        if isinstance(update, CallEnded):
            record = replace(update.record, answered_at=None, talk_seconds=None, hangup_cause=cause)
            result.append(replace(update, record=record))
        elif not (isinstance(update, CallSeen) and update.live.answered_at is not None):
            result.append(update)
    return result


# -- dialling at once -------------------------------------------------------------------------


async def test_a_dropped_call_with_an_agent_is_dialled_at_once_through_that_agent(
    bench: Bench, link: FakeLink
) -> None:
    bench.hand(dropped_call())
    await bench.turn()

    (originate,) = bench.originates()
    assert (originate["Channel"], originate["Exten"]) == (AGENT_ONE, CUSTOMER)
    assert originate["Context"] == "callassist-callback"
    assert (originate["Async"], originate["Timeout"]) == ("true", "30000")
    assert originate["ActionID"] == originate["ChannelId"]  # its OriginateResponse names it
    (callback,) = bench.callbacks()
    (attempt,) = callback["attempts_list"]
    stored = bench.database.read(lambda s: store.attempt_by_channel(s, attempt["channel_id"]))
    assert stored is not None
    assert variables(originate) == {
        CALLBACK_TAG: str(callback["id"]),
        ATTEMPT_TAG: str(stored.id),
        CALLBACK_FOR_TAG: DROPPED,
        CUSTOMER_TAG: CUSTOMER,
    }
    assert link.sent[0].as_list is False  # its answer must reach the pipeline as an event
    assert (callback["call_id"], callback["reason"], callback["auto"]) == (DROPPED, "dropped", True)
    assert (callback["status"], callback["attempts"]) == ("dialling", 1)
    assert (attempt["channel_id"], attempt["agent"]) == (originate["ChannelId"], AGENT_ONE)
    assert attempt["status"] == "sent"
    told = bench.agent1.take("callback.updated")
    assert [m["callback"]["status"] for m in told] == ["pending", "dialling"]
    assert bench.desk.state.originates_sent == 1

    for _ in range(3):  # the desk's next ticks: the attempt is in flight
        bench.clock.advance(1)
        await bench.turn()
    assert len(bench.originates()) == 1


async def test_the_agent_busy_with_the_next_customer_is_passed_over_for_a_free_one(
    bench: Bench,
) -> None:
    on_a_call, _ = talking("normal_inbound_caller_hangup")  # agent one answers the next call
    bench.hand([*dropped_call(), *on_a_call])
    await bench.turn()

    (originate,) = bench.originates()
    assert originate["Channel"] == AGENT_TWO
    (callback,) = bench.callbacks()
    assert callback["agent"] == AGENT_ONE  # still the one who had the customer


async def test_with_nobody_free_the_callback_waits_for_the_first_agent_who_is(
    bench: Bench,
) -> None:
    on_a_call, call_over = talking("normal_inbound_caller_hangup")
    phone_down = [
        u for u in updates_of(link_events("line_fault_unreachable")) if isinstance(u, FaultSeen)
    ]
    bench.hand([*dropped_call(), *on_a_call, phone_down[0]])  # agent two's phone is unreachable
    await bench.turn()

    assert bench.originates() == []
    (callback,) = bench.callbacks()
    assert (callback["status"], callback["waiting_for"]) == ("pending", "no free agent")
    assert bench.agent1.take("callback.updated")[-1]["callback"]["waiting_for"] == "no free agent"

    bench.hand(call_over)  # agent one hangs up
    bench.clock.advance(15)
    await bench.turn()
    (originate,) = bench.originates()
    assert originate["Channel"] == AGENT_ONE
    assert bench.callbacks()[0]["waiting_for"] is None


async def test_a_customer_waiting_in_a_queue_holds_the_callback_back(bench: Bench) -> None:
    waiting, served = waiting_in_queue()
    bench.hand([*waiting, *dropped_call()])
    await bench.turn()

    assert bench.originates() == []
    (callback,) = bench.callbacks()
    assert callback["waiting_for"] == "1 customer waiting in the queues"
    assert bench.agent1.take("callback.updated")[-1]["callback"]["waiting_for"] == (
        "1 customer waiting in the queues"
    )

    bench.hand(served[:1])  # agent one answers the queueing customer
    bench.clock.advance(1)
    await bench.turn()
    (originate,) = bench.originates()
    assert originate["Channel"] == AGENT_TWO  # agent one is talking
    assert bench.callbacks()[0]["waiting_for"] is None


async def test_a_callback_jumps_the_queue_when_the_centre_says_so(
    database: TestDatabase, hub: Hub, link: FakeLink
) -> None:
    bench = Bench(database, hub, link, CallbackRules(jumps_queue=True))
    waiting, _ = waiting_in_queue()
    bench.hand([*waiting, *dropped_call()])
    await bench.turn()

    (originate,) = bench.originates()
    assert originate["Channel"] == AGENT_TWO  # agent one's phone rings for the queue


# -- what the PBX answers -------------------------------------------------------------------


async def test_the_customer_answering_the_callback_closes_it_reached(bench: Bench) -> None:
    bench.hand(dropped_call())
    await bench.turn()
    (originate,) = bench.originates()

    bench.hand(callback_call(originate["ChannelId"], start=bench.clock.now))
    bench.clock.advance(20)
    await bench.turn()

    (callback,) = bench.callbacks()
    assert (callback["status"], callback["last_result"]) == ("reached", "reached")
    assert callback["closed_at"] == bench.clock.now
    (attempt,) = callback["attempts_list"]
    assert (attempt["result"], attempt["originate_reason"]) == ("reached", None)
    assert attempt["answered_at"] is not None  # the agent's phone answered first (Reason 4)
    assert bench.agent1.take("callback.updated")[-1]["callback"]["status"] == "reached"
    assert bench.desk.state.results == {"reached": 1}
    await bench.turn()
    assert len(bench.originates()) == 1


async def test_a_callback_call_cut_by_the_network_is_tried_again_by_the_schedule(
    bench: Bench,
) -> None:
    bench.hand(dropped_call())
    await bench.turn()
    created = bench.callbacks()[0]["created_at"]
    (first,) = bench.originates()

    bench.hand(not_answered(callback_call(first["ChannelId"], bench.clock.now), cause=34))
    bench.clock.advance(20)
    await bench.turn()
    (callback,) = bench.callbacks()
    assert [(a["result"], a["hangup_cause"]) for a in callback["attempts_list"]] == [("failed", 34)]
    assert (callback["status"], callback["next_attempt_at"]) == ("pending", created + 120)

    bench.clock.now = created + 119
    await bench.turn()
    assert len(bench.originates()) == 1  # not before its turn in the schedule
    bench.clock.now = created + 120
    await bench.turn()
    _, second = bench.originates()
    assert second["Channel"] == AGENT_ONE and second["ChannelId"] != first["ChannelId"]


async def test_a_customer_who_rejects_the_callback_is_not_called_again(bench: Bench) -> None:
    bench.hand(dropped_call())
    await bench.turn()
    (first,) = bench.originates()

    bench.hand(not_answered(callback_call(first["ChannelId"], bench.clock.now), cause=21))
    await bench.turn()
    (callback,) = bench.callbacks()
    assert (callback["status"], callback["last_result"]) == ("not_reached", "rejected")

    bench.clock.advance(3600)  # past every retry the schedule allows
    await bench.turn()
    assert len(bench.originates()) == 1


async def test_an_agent_who_does_not_pick_up_passes_the_callback_to_the_next_free_agent(
    bench: Bench,
) -> None:
    bench.hand(dropped_call())
    await bench.turn()
    (first,) = bench.originates()

    rang_out = bench.clock.advance(30)
    bench.hand([originate_response(first["ChannelId"], reason=3, at=rang_out)])
    await bench.turn()

    assert [o["Channel"] for o in bench.originates()] == [AGENT_ONE, AGENT_TWO]
    (callback,) = bench.callbacks()
    attempts = [(a["agent"], a["result"], a["originate_reason"]) for a in callback["attempts_list"]]
    assert attempts == [(AGENT_ONE, "agent_no_answer", 3), (AGENT_TWO, None, None)]
    assert callback["status"] == "dialling"
    # Agent one hears that it went on without them.
    assert bench.agent1.take("callback.updated")[-1]["callback"]["attempt"]["agent"] == AGENT_TWO

    # Agent two lets it ring out too: nobody is rung for it until agent one's pause is over.
    second = bench.originates()[1]
    bench.hand([originate_response(second["ChannelId"], reason=3, at=bench.clock.advance(30))])
    await bench.turn()
    assert len(bench.originates()) == 2
    assert bench.callbacks()[0]["waiting_for"] == "no free agent"
    bench.clock.now = rang_out + 119
    await bench.turn()
    assert len(bench.originates()) == 2
    bench.clock.now = rang_out + 120  # two minutes since agent one let it ring out
    await bench.turn()
    assert [o["Channel"] for o in bench.originates()] == [AGENT_ONE, AGENT_TWO, AGENT_ONE]


async def test_an_agent_phone_that_rings_out_passes_the_callback_on_before_the_pbx_says_so(
    bench: Bench,
) -> None:
    bench.hand(dropped_call())
    await bench.turn()
    (first,) = bench.originates()

    # Asterisk hangs the agent's channel up when it rings out, before any customer leg is
    # dialled; the failed OriginateResponse comes after the hang-up.
    updates = callback_call(first["ChannelId"], bench.clock.now)
    ended = next(u for u in updates if isinstance(u, CallEnded))
    record = replace(ended.record, answered_at=None, talk_seconds=None, hangup_cause=19)
    agent_leg_only = tuple(leg for leg in ended.legs if leg.role == "agent")
    rang_out = replace(ended, record=record, legs=agent_leg_only)
    late = originate_response(first["ChannelId"], reason=3, at=bench.clock.advance(30))
    bench.hand([updates[0], rang_out, late])
    await bench.turn()

    assert [o["Channel"] for o in bench.originates()] == [AGENT_ONE, AGENT_TWO]
    (callback,) = bench.callbacks()
    attempts = [(a["agent"], a["result"]) for a in callback["attempts_list"]]
    assert attempts == [(AGENT_ONE, "agent_no_answer"), (AGENT_TWO, None)]
    assert callback["status"] == "dialling"  # the late answer ended nothing else


# -- the link --------------------------------------------------------------------------------


def cut_on_the_way(link: FakeLink) -> None:
    """The next Originate reaches the PBX; the link drops before its answer comes back."""

    def cut(action: ActionHeaders) -> Reply:
        link.go_down("connection reset")
        raise ActionInterrupted(f"{action['Action']}: the link dropped before the answer")

    link.answer("Originate", cut)


NO_SUCH_CHANNEL = Reply.of([{"Response": "Error", "Message": "No such channel"}])
CHANNEL_STATUS = Reply.of([{"Response": "Success", "Message": "Channel status will follow"}])


@pytest.mark.parametrize(
    ("listed", "status", "expected"),
    [
        (True, None, ([None], "dialling")),  # among the calls listed: it goes on
        (False, CHANNEL_STATUS, ([None], "dialling")),  # Status finds its channel: it goes on
        (False, NO_SUCH_CHANNEL, (["unknown"], "queued")),  # gone unseen: a person decides
        (False, ActionInterrupted("cut again"), ([None], "dialling")),  # unanswered: unsure
    ],
)
async def test_an_originate_cut_off_on_its_way_is_looked_for_by_its_channel_id(
    bench: Bench,
    link: FakeLink,
    listed: bool,
    status: Reply | Exception | None,
    expected: tuple[list[str | None], str],
) -> None:
    results, status_after = expected
    cut_on_the_way(link)
    if status is not None:
        link.answer("Status", status)
    bench.hand(dropped_call())
    await bench.turn()
    (first,) = bench.originates()
    (callback,) = bench.callbacks()
    assert (callback["status"], callback["attempts_list"][0]["result"]) == ("dialling", None)

    await bench.turn()  # while the link is down, nothing more is tried
    link.come_back(bench.clock.advance(5))
    live = frozenset({first["ChannelId"]} if listed else ())
    bench.hand([LiveCallsListed(live, bench.clock.now)])
    await bench.turn()
    bench.clock.advance(3600)  # past every retry the schedule allows
    await bench.turn()

    (callback,) = bench.callbacks()
    assert [a["result"] for a in callback["attempts_list"]] == results
    assert callback["status"] == status_after
    assert len(bench.originates()) == 1, "an attempt the PBX may have taken is never re-sent"
    asked = link.named("Status")
    assert [a["Channel"] for a in asked] == ([] if listed else [first["ChannelId"]])
    if status_after == "queued":
        assert callback["waiting_for"] == ASK_A_PERSON
        assert bench.agent1.take("callback.updated")[-1]["callback"]["status"] == "queued"


async def test_a_callback_call_that_ended_while_the_link_was_down_is_left_to_a_person(
    bench: Bench, link: FakeLink
) -> None:
    bench.hand(dropped_call())
    await bench.turn()
    (first,) = bench.originates()
    ringing = callback_call(first["ChannelId"], bench.clock.now)[:1]  # the agent's phone rings
    call = callback_call(first["ChannelId"], bench.clock.now)
    ended = next(u for u in call if isinstance(u, CallEnded))
    record = replace(ended.record, answered_at=None, talk_seconds=None, hangup_cause=None)
    agent_leg = tuple(leg for leg in ended.legs if leg.role == "agent")
    vanished = replace(ended, record=record, legs=agent_leg, ended_in_gap=True)
    bench.hand([*ringing, vanished])  # the reconnect's list no longer has it
    bench.clock.advance(3600)
    await bench.turn()

    (callback,) = bench.callbacks()
    assert [a["result"] for a in callback["attempts_list"]] == ["unknown"]
    assert (callback["status"], callback["waiting_for"]) == ("queued", ASK_A_PERSON)
    assert len(bench.originates()) == 1


async def test_while_the_link_is_down_a_due_callback_waits_and_says_why(
    bench: Bench, link: FakeLink
) -> None:
    link.go_down("PBX restarting")
    bench.hand(dropped_call())
    await bench.turn()

    assert link.sent == []
    (callback,) = bench.callbacks()
    assert (callback["status"], callback["waiting_for"]) == ("pending", NOT_CONNECTED)
    assert bench.agent1.take("callback.updated")[-1]["callback"]["waiting_for"] == NOT_CONNECTED

    link.come_back(bench.clock.advance(10))
    await bench.turn()
    (originate,) = bench.originates()
    assert originate["Channel"] == AGENT_ONE


# -- by hand, and one number at a time ----------------------------------------------------------


async def missed_call(bench: Bench) -> int:
    """A customer rings agent one, who is busy: the callback waits for a person."""
    bench.hand(updates_of(link_events("direct_agent_busy")))
    await bench.turn()
    (callback,) = bench.callbacks()
    assert (callback["status"], callback["reason"], callback["auto"]) == ("queued", "missed", False)
    return int(callback["id"])


async def test_a_person_can_dial_only_when_the_pbx_is_there(
    bench: Bench, link: FakeLink, database: TestDatabase, hub: Hub
) -> None:
    callback_id = await missed_call(bench)
    assert bench.originates() == []  # never dialled behind people's backs

    link.go_down()
    with pytest.raises(PbxUnavailable, match="the AMI link is down"):
        await bench.desk.dial(callback_id, AGENT_TWO)
    unconfigured = Bench(database, hub, NoPbx(), RULES).desk
    with pytest.raises(PbxUnavailable, match="no PBX is configured"):
        await unconfigured.dial(callback_id, AGENT_TWO)
    (callback,) = bench.callbacks()
    assert (callback["status"], callback["attempts_list"]) == ("queued", [])

    link.come_back(bench.clock.advance(5))
    view = await bench.desk.dial(callback_id, AGENT_TWO)
    assert (view["status"], view["attempt"]["agent"]) == ("dialling", AGENT_TWO)
    (originate,) = bench.originates()
    assert (originate["Channel"], originate["Exten"]) == (AGENT_TWO, CUSTOMER)
    with pytest.raises(store.CallbackError, match="not waiting"):
        await bench.desk.dial(callback_id, AGENT_TWO)
    assert len(bench.originates()) == 1


async def test_a_number_being_dialled_is_not_dialled_again_for_another_callback(
    bench: Bench,
) -> None:
    queued = await missed_call(bench)
    await bench.desk.dial(queued, AGENT_ONE)  # a person calls the customer back
    (by_hand,) = bench.originates()

    bench.hand(dropped_call())  # the same customer's next call drops: a callback is due
    bench.clock.advance(1)
    await bench.turn()
    assert len(bench.originates()) == 1
    waiting = bench.callbacks()[1]
    assert (waiting["status"], waiting["waiting_for"]) == (
        "pending",
        f"a callback to {CUSTOMER} is already being dialled",
    )

    # The customer answers the person's callback: that answers the other one too.
    bench.hand(callback_call(by_hand["ChannelId"], bench.clock.now))
    bench.clock.advance(20)
    await bench.turn()
    assert [c["status"] for c in bench.callbacks()] == ["reached", "reached"]
    assert len(bench.originates()) == 1


async def test_a_callback_that_must_wait_does_not_hold_up_the_others_due(bench: Bench) -> None:
    queued = await missed_call(bench)
    await bench.desk.dial(queued, AGENT_ONE)  # a person calls the customer back
    bench.hand(dropped_call())  # the same customer's next call drops: due, but must wait
    other = "+15551230199"
    bench.hand(updates_of(link_events("dropped_mid_call_cause", rename={CUSTOMER: other})))
    bench.clock.advance(1)
    await bench.turn()

    assert [o["Exten"] for o in bench.originates()] == [CUSTOMER, other]
    assert [(c["customer"], c["status"]) for c in bench.callbacks()] == [
        (CUSTOMER, "dialling"),
        (CUSTOMER, "pending"),
        (other, "dialling"),
    ]


# -- the desk's own task ------------------------------------------------------------------------



async def test_after_a_restart_the_task_follows_an_attempt_in_flight_instead_of_redialling(
    bench: Bench, link: FakeLink
) -> None:
    bench.hand(dropped_call())
    await bench.turn()
    (originate,) = bench.originates()

    # The service restarts while the callback rings: a new desk on the same database.
    bench.desk = bench.new_desk()
    link.come_back(bench.clock.advance(10))
    async with running(bench.desk.run()):
        bench.hand([LiveCallsListed(frozenset({originate["ChannelId"]}), bench.clock.now)])
        bench.hand(callback_call(originate["ChannelId"], bench.clock.now))
        await until(lambda: bench.desk.state.results, "the attempt's result")

    assert bench.desk.state.results == {"reached": 1}
    assert bench.callbacks()[0]["status"] == "reached"
    assert len(bench.originates()) == 1


async def test_a_callback_stored_with_its_call_just_before_a_kill_is_dialled_after_the_start(
    bench: Bench,
) -> None:
    # Killed once the writer stored the call's end (and so its callback), before the desk
    # saw the end: the next run's desk finds it in the table and dials it, once.
    (ended,) = [u for u in dropped_call() if isinstance(u, CallEnded)]
    store_end(bench.database, ended, RULES)
    async with running(bench.desk.run()):
        await until(bench.originates, "the callback dialled after the start")
        bench.clock.advance(5)
        await ticks(bench.database)
    (originate,) = bench.originates()
    assert originate["Channel"] == AGENT_ONE
    assert bench.callbacks()[0]["status"] == "dialling"


async def test_with_the_database_down_as_a_call_drops_its_callback_is_stored_and_dialled_once(
    bench: Bench, database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    writer = RecordWriter(database, retry_initial=0.001, retry_max=0.002)
    link = cast(PbxLink, bench.link)
    bench.desk = CallbackDesk(
        database, bench.hub, link, rules=RULES, plan=DialPlan(), clock=bench.clock, tick=0.001,
        stored=writer.flush,
    )
    database.fail_next(40)  # the database restarts as the call ends
    async with running(writer.run()), running(bench.desk.run()):
        for update in dropped_call():
            if isinstance(update, CallEnded):  # the pipeline's job for it, with its callback
                await writer.put(CallChange(update, None, candidate(update, RULES, T0)))
            bench.desk.take(update)
        await until(bench.originates, "the callback dialled once the database is back", 5.0)
        bench.clock.advance(5)
        await ticks(database)  # more ticks: nothing more is dialled
    assert database.failed == 40
    assert writer.state.failures > 0  # the call's end, and its callback, waited for it
    (callback,) = bench.callbacks()
    assert (callback["status"], callback["attempts"]) == ("dialling", 1)
    assert len(bench.originates()) == 1
    said = [r.getMessage() for r in caplog.records if r.name == "callassist.callbacks"]
    assert [line.split(" (")[0] for line in said] == [
        "callbacks: database unavailable",
        "callbacks: database back",
    ], "one line per change, no traceback per tick"
    assert not any(r.exc_info for r in caplog.records if r.name == "callassist.callbacks")


@pytest.mark.parametrize("found", [True, False])
async def test_after_a_restart_an_attempt_the_agent_answered_is_found_by_its_channel_id(
    bench: Bench, link: FakeLink, found: bool
) -> None:
    bench.hand(dropped_call())
    await bench.turn()
    (originate,) = bench.originates()
    channel_id = originate["ChannelId"]
    bench.hand([originate_response(channel_id, reason=4, at=bench.clock.advance(3))])
    await bench.turn()  # "agent answered" is stored

    # Killed; started again: the new login's list does not name the call (the tracker of a
    # fresh process may not have it yet), so the desk asks the PBX by its ChannelId.
    bench.desk = bench.new_desk()
    link.answer("Status", CHANNEL_STATUS if found else NO_SUCH_CHANNEL)
    link.come_back(bench.clock.advance(5))
    async with running(bench.desk.run()):
        bench.hand([LiveCallsListed(frozenset(), bench.clock.now)])
        await until(lambda: link.named("Status"), "the attempt looked for")
        if found:
            call = callback_call(channel_id, bench.clock.now)
            bench.hand([u for u in call if isinstance(u, CallEnded)])
            await until(lambda: bench.desk.state.results, "the attempt's result")
        else:
            await until(lambda: bench.callbacks()[0]["status"] == "queued", "a person asked")
        bench.clock.advance(3600)
        await ticks(bench.database)

    (callback,) = bench.callbacks()
    assert [a["Channel"] for a in link.named("Status")] == [channel_id]
    assert len(bench.originates()) == 1, "never a second Originate for an accepted attempt"
    assert callback["status"] == ("reached" if found else "queued")


# -- several PBXs -----------------------------------------------------------------------------

SOUTH = "south"


def on_south(events: list[LinkEvent]) -> list[LinkEvent]:
    """Events as the south PBX's link hands them on: its ids with its name in front."""
    scope = IdScope.of(SOUTH)
    return [replace(event, headers=scope.inward(event.headers)) for event in events]


def phones_on(database: TestDatabase, pbxes: dict[str, str]) -> None:
    """Put agents' phones (endpoint -> PBX) on their PBXs, as an admin would."""

    def move(session: Any) -> None:
        for endpoint, pbx in pbxes.items():
            user = session.exec(select(User).where(User.endpoint == endpoint)).one()
            user.pbx = pbx
            session.add(user)
        session.commit()

    database.read(move)


async def test_a_call_dropped_on_one_pbx_is_called_back_only_there_through_its_own_agent(
    database: TestDatabase, hub: Hub, link: FakeLink
) -> None:
    phones_on(database, {AGENT_ONE: DEFAULT_PBX, AGENT_TWO: SOUTH})
    default = Bench(database, hub, link, RULES)
    south = Bench(database, hub, FakeLink(), RULES, pbx=SOUTH)
    south.hand(updates_of(on_south(link_events("dropped_mid_call_network"))))
    await default.turn()
    await south.turn()

    assert default.originates() == []  # the default PBX's desk leaves it to south's
    (originate,) = south.originates()
    # Agent one had the customer, but their phone is on the default PBX: south rings its own.
    assert (originate["Channel"], originate["Exten"]) == (AGENT_TWO, CUSTOMER)
    channel_id = originate["ChannelId"]
    assert channel_id.startswith("south:")  # as south's link names the call it makes
    (callback,) = south.callbacks()
    assert (callback["pbx"], callback["call_id"]) == (SOUTH, f"south:{DROPPED}")
    assert callback["attempts_list"][0]["agent"] == AGENT_TWO
    with pytest.raises(store.CallbackElsewhere):  # a person's dial goes to south's desk
        await default.desk.dial(callback["id"], AGENT_ONE)

    restarted = default.new_desk()  # a restart: each desk follows only its own attempts
    await restarted._load_flights()
    assert restarted._flights == {}
    south.desk = south.new_desk()
    await south.desk._load_flights()
    assert list(south.desk._flights) == [channel_id]

    bare = channel_id.removeprefix("south:")
    call = link_events("originate_callback", south.clock.now, rename={"1795478958.14": bare})
    south.hand(updates_of(on_south(call)))
    south.clock.advance(20)
    await south.turn()
    (callback,) = south.callbacks()
    assert (callback["status"], callback["last_result"]) == ("reached", "reached")
    await default.turn()
    assert default.originates() == [] and len(south.originates()) == 1


async def test_one_number_owed_a_callback_on_two_pbxs_is_dialled_on_each(
    database: TestDatabase, hub: Hub, link: FakeLink
) -> None:
    phones_on(database, {AGENT_ONE: DEFAULT_PBX, AGENT_TWO: SOUTH})
    default = Bench(database, hub, link, RULES)
    south = Bench(database, hub, FakeLink(), RULES, pbx=SOUTH)
    default.hand(dropped_call())
    south.hand(updates_of(on_south(link_events("dropped_mid_call_network"))))
    await default.turn()
    await south.turn()

    # Each PBX's trunks reach the customer its own way: the number is dialled on both.
    assert [o["Channel"] for o in default.originates()] == [AGENT_ONE]
    assert [o["Channel"] for o in south.originates()] == [AGENT_TWO]
    assert sorted(c["pbx"] for c in default.callbacks()) == [DEFAULT_PBX, SOUTH]
