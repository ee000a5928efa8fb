"""Originate outcomes in the AMI simulator, seen over real TCP and through the call tracker.

The callback desk must tell apart a callback that reached the customer, one whose customer
line failed (busy, rejected, network) and one the agent never picked up. Each test queues an
outcome on ``Traffic.originate_outcomes``, sends a real Originate from a raw AMI client, feeds
everything the simulator sent through the Switchboard, and checks what the desk would see:
the finished call's record, the OriginateResponse, the action's ids and variables on the
channel, and the channel in CoreShowChannels while the callback is live.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

import pytest
import pytest_asyncio

from telephony.calls.model import CallEnded, CallRecord
from telephony.calls.trunks import TrunkPlan, endpoint_of
from telephony.simulator import AmiServer, OriginateOutcome, Traffic
from telephony.switchboard import Switchboard
from tests.conftest import LAB_TRUNKS
from tests.integration.ami_client import READ_TIMEOUT, Client, core_show_channels
from tests.integration.event_client import EventClient

SPEED = 10.0  # every recorded gap played ten times faster; Timestamps keep recorded time
NUMBER = "+8613912345678"
AGENTS = ("PJSIP/6101", "PJSIP/6102", "PJSIP/6103")
TRUNK = "PJSIP/2001"


@pytest_asyncio.fixture
async def traffic(server: AmiServer) -> AsyncIterator[Traffic]:
    played = Traffic(server, agents=AGENTS, rng=random.Random(6), speed=SPEED)
    server.on_originate = played.answer_originate
    try:
        yield played
    finally:
        await played.close()


@pytest_asyncio.fixture
async def actions(server: AmiServer) -> AsyncIterator[Client]:
    """A second connection, events off, that sends the Originates."""
    client = Client(*await asyncio.open_connection("127.0.0.1", server.port))
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            await client.reader.readline()  # the banner
        await client.login(events="off")
        yield client
    finally:
        await client.close()


def originate(
    action_id: str, agent: str, channel_id: str, *, timeout_ms: int = 30000
) -> list[tuple[str, str]]:
    """The Originate a callback desk sends: ring the agent, then dial the customer."""
    return [
        ("Action", "Originate"),
        ("ActionID", action_id),
        ("Channel", agent),
        ("Context", "from-agents"),
        ("Exten", NUMBER),
        ("Priority", "1"),
        ("CallerID", f'"李四" <{NUMBER}>'),
        ("ChannelId", channel_id),
        ("Timeout", str(timeout_ms)),
        ("Async", "true"),
        ("Variable", "CALLASSIST_ATTEMPT=7"),
        ("Variable", f"CALLASSIST_CALLBACK={channel_id}"),
    ]


def records_of(events: Iterable[Mapping[str, str]]) -> dict[str, CallRecord]:
    """Every finished call the tracker makes of the events, by call_id."""
    board = Switchboard(TrunkPlan.parse(LAB_TRUNKS))
    records: dict[str, CallRecord] = {}
    for event in events:
        at = float(event["Timestamp"]) if "Timestamp" in event else None
        for signal in board.feed(event, at):
            if isinstance(signal, CallEnded):
                records[signal.record.call_id] = signal.record
    return records


async def play(
    client: EventClient, traffic: Traffic, actions: Client, *sent: list[tuple[str, str]]
) -> tuple[dict[str, CallRecord], list[dict[str, str]]]:
    """Send the Originates; once every call they place has ended, the records and events."""
    channel_ids = {dict(action)["ChannelId"] for action in sent}
    for action in sent:
        await actions.send_lines(action)
    await client.wait_for(lambda events: channel_ids <= set(records_of(events)))
    await traffic.drain()
    events = await client.catch_up()
    return records_of(events), events


def about(events: Iterable[Mapping[str, str]], linkedid: str) -> list[Mapping[str, str]]:
    return [e for e in events if linkedid in (e.get("Linkedid"), e.get("DestLinkedid"))]


def response_to(events: Iterable[Mapping[str, str]], action_id: str) -> Mapping[str, str]:
    return next(
        e for e in events if e["Event"] == "OriginateResponse" and e.get("ActionID") == action_id
    )


def variables_on(events: Iterable[Mapping[str, str]], uniqueid: str) -> dict[str, str]:
    return {
        e["Variable"]: e["Value"]
        for e in events
        if e["Event"] == "VarSet" and e.get("Uniqueid") == uniqueid
    }


def customer_leg(events: Sequence[Mapping[str, str]], linkedid: str) -> str:
    return next(
        e["Uniqueid"]
        for e in about(events, linkedid)
        if e["Event"] == "Newchannel" and endpoint_of(e["Channel"]) == TRUNK
    )


# -- the answered callback --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_with_no_outcome_queued_the_callback_reaches_the_customer(
    client: EventClient, traffic: Traffic, actions: Client
) -> None:
    records, events = await play(client, traffic, actions, originate("cb-1", AGENTS[0], "cb-ok"))

    record = records["cb-ok"]
    assert record.outcome == "completed"
    assert record.direction == "outbound"
    assert record.customer == NUMBER
    assert record.agent == AGENTS[0]
    assert record.answered_at is not None
    response = response_to(events, "cb-1")
    assert (response["Response"], response["Reason"], response["Uniqueid"]) == (
        "Success",
        "4",
        "cb-ok",
    )
    assert variables_on(events, "cb-ok")["CALLASSIST_CALLBACK"] == "cb-ok"


# -- the customer's line fails ----------------------------------------------------------------


# Q.850 cause -> DialEnd's DialStatus, Dial's DIALSTATUS and the Cause-txt Asterisk 22 gives.
FAILURES = {
    17: ("BUSY", "BUSY", "User busy"),
    19: ("NOANSWER", "NOANSWER", "User alerting, no answer"),
    21: ("NOANSWER", "CHANUNAVAIL", "Call Rejected"),
    34: ("CONGESTION", "CONGESTION", "Circuit/channel congestion"),
    38: ("NOANSWER", "CHANUNAVAIL", "Network out of order"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("cause", sorted(FAILURES))
async def test_a_failing_customer_line_ends_the_callback_with_its_cause(
    client: EventClient, traffic: Traffic, actions: Client, cause: int
) -> None:
    dial_end, dialstatus, text = FAILURES[cause]
    traffic.originate_outcomes[NUMBER] = [OriginateOutcome(customer_cause=cause)]

    records, events = await play(client, traffic, actions, originate("cb-2", AGENTS[0], "cb-f"))

    record = records["cb-f"]
    assert record.hangup_cause == cause
    assert record.customer == NUMBER
    assert record.answered_at is None  # the customer never talked to the agent
    assert record.agent is None
    assert record.outcome != "completed"
    response = response_to(events, "cb-2")
    assert (response["Response"], response["Reason"]) == ("Success", "4")  # the agent answered
    customer = customer_leg(events, "cb-f")
    call = about(events, "cb-f")
    dial_ends = [e for e in call if e["Event"] == "DialEnd" and e["DestUniqueid"] == customer]
    assert [e["DialStatus"] for e in dial_ends] == [dial_end]
    assert variables_on(events, "cb-f")["DIALSTATUS"] == dialstatus
    hangups = {e["Uniqueid"]: e for e in call if e["Event"] == "Hangup"}
    assert set(hangups) == {"cb-f", customer}
    assert {(h["Cause"], h["Cause-txt"]) for h in hangups.values()} == {(str(cause), text)}
    assert not any(e["Event"] == "BridgeEnter" for e in call)
    assert traffic.server.live_channels == {}


@pytest.mark.asyncio
async def test_the_callback_is_listed_live_while_the_customer_rings(
    client: EventClient, traffic: Traffic, actions: Client
) -> None:
    traffic.originate_outcomes[NUMBER] = [OriginateOutcome(customer_cause=19)]
    await actions.send_lines(originate("cb-3", AGENTS[1], "cb-live"))
    assert (await actions.message())["Message"] == "Originate successfully queued"

    def customer_ringing(events: list[dict[str, str]]) -> bool:
        return any(e["Event"] == "DialState" and e.get("Uniqueid") == "cb-live" for e in events)

    await client.wait_for(customer_ringing)
    live = await core_show_channels(actions, "live")
    await client.wait_for(lambda events: "cb-live" in records_of(events))
    await traffic.drain()
    after = await core_show_channels(actions, "after")

    mine = [item for item in live if item["Linkedid"] == "cb-live"]
    by_endpoint = {endpoint_of(item["Channel"]): item for item in mine}
    assert set(by_endpoint) == {AGENTS[1], TRUNK}
    assert by_endpoint[AGENTS[1]]["Uniqueid"] == "cb-live"
    assert by_endpoint[AGENTS[1]]["ChannelStateDesc"] == "Up"
    assert by_endpoint[AGENTS[1]]["Application"] == "Dial"
    assert by_endpoint[TRUNK]["ChannelStateDesc"] == "Ringing"
    assert [item for item in after if item["Linkedid"] == "cb-live"] == []


# -- the agent does not answer ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_agent_who_does_not_answer_fails_the_originate_with_no_customer_leg(
    client: EventClient, traffic: Traffic, actions: Client
) -> None:
    traffic.originate_outcomes[NUMBER] = [OriginateOutcome(agent_answers=False)]

    records, events = await play(
        client, traffic, actions, originate("cb-4", AGENTS[2], "cb-na", timeout_ms=3000)
    )

    response = response_to(events, "cb-4")
    assert response["Response"] == "Failure"
    assert response["Reason"] == "3"  # the phone was ringing when the Originate gave up
    assert response["Uniqueid"] == "cb-na"
    assert response["Channel"] == AGENTS[2]
    call = about(events, "cb-na")
    assert [e["Uniqueid"] for e in call if e["Event"] == "Newchannel"] == ["cb-na"]
    assert not any(endpoint_of(e.get("DestChannel", "")) == TRUNK for e in call)
    hangup = next(e for e in call if e["Event"] == "Hangup")
    assert (hangup["Cause"], hangup["ChannelStateDesc"]) == ("19", "Ringing")
    dialled = next(e for e in call if e["Event"] == "DialBegin" and e["DestUniqueid"] == "cb-na")
    rang = float(hangup["Timestamp"]) - float(dialled["Timestamp"])
    assert rang == pytest.approx(3.0, abs=2e-6)  # the action's Timeout, on the PBX's clock
    assert float(response["Timestamp"]) > float(hangup["Timestamp"])
    variables = variables_on(events, "cb-na")
    assert variables["CALLASSIST_ATTEMPT"] == "7"
    assert variables["CALLASSIST_CALLBACK"] == "cb-na"
    record = records["cb-na"]
    assert record.customer is None
    assert record.answered_at is None
    assert traffic.server.live_channels == {}


# -- several Originates to one number ---------------------------------------------------------


@pytest.mark.asyncio
async def test_originates_to_one_number_take_its_outcomes_in_order_then_are_answered(
    client: EventClient, traffic: Traffic, actions: Client
) -> None:
    traffic.originate_outcomes[NUMBER] = [
        OriginateOutcome(customer_cause=17),
        OriginateOutcome(agent_answers=False),
    ]

    records, events = await play(
        client,
        traffic,
        actions,
        originate("cb-a", AGENTS[0], "cb-first"),
        originate("cb-b", AGENTS[1], "cb-second", timeout_ms=2000),
        originate("cb-c", AGENTS[2], "cb-third"),
    )

    assert records["cb-first"].hangup_cause == 17
    assert records["cb-first"].answered_at is None
    assert response_to(events, "cb-a")["Response"] == "Success"
    assert response_to(events, "cb-b")["Response"] == "Failure"
    assert records["cb-second"].customer is None
    assert records["cb-third"].outcome == "completed"
    assert records["cb-third"].agent == AGENTS[2]
    assert traffic.originate_outcomes[NUMBER] == []


def test_an_outcome_refuses_a_cause_no_failed_call_ends_with() -> None:
    for cause in (0, 16, 200):
        with pytest.raises(ValueError, match="customer_cause"):
            OriginateOutcome(customer_cause=cause)
