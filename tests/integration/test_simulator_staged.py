"""Staged calls: a recorded call that rings, is answered and ends when the test says so.

What the console's tests and the demo rely on: between phases the call stays exactly where
it is (ringing, or answered), the service's tracker sees it as it would a played capture,
the times are those of now, and the recorded outcome comes out at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest

from telephony.calls.model import CallRecord, LiveCall
from telephony.simulator import AmiServer, Traffic
from telephony.simulator.staged import StagedCall, StagedCallError
from tests.integration.event_client import EventClient
from tests.integration.test_traffic import expectation, feed, stamped_times

pytestmark = pytest.mark.asyncio
CUSTOMER = ("+8613800138000", "张三")
AGENT = "PJSIP/7001"
OTHER_AGENT = "PJSIP/7002"
STAGEABLE = [
    "answered_customer_hangs_up",
    "answered_agent_hangs_up",
    "queue_answered",
    "dropped_media_timeout",
    "dropped_network_cause",
    "agent_hangup_fault_cause",
]
HELD = 0.4  # seconds a phase is held, like a person reading the screen


@pytest.fixture
def traffic(server: AmiServer) -> Traffic:
    return Traffic(
        server,
        agents=[AGENT, OTHER_AGENT],
        rng=random.Random(9),
        calls_per_minute=0,
        speed=0,
    )


async def seen(client: EventClient, call: StagedCall) -> tuple[LiveCall | None, list[CallRecord]]:
    """What the tracker makes of everything the server has sent so far."""
    records, _, board = feed(stamped_times(await client.catch_up()))
    assert call.call_id is not None
    return board.tracker.snapshot(call.call_id), records


async def test_a_staged_call_rings_is_answered_and_ends_only_when_told(
    server: AmiServer, client: EventClient, traffic: Traffic
) -> None:
    call = traffic.stage(agent=AGENT, customer=CUSTOMER)
    before = time.time()

    await call.ring()
    await asyncio.sleep(HELD)
    ringing, ended = await seen(client, call)
    answering = time.time()
    await call.answer()
    answered_at = time.time()
    await asyncio.sleep(HELD)
    talking, _ = await seen(client, call)
    busy_while_talking = set(traffic.roster.busy)
    await call.hang_up()
    hung_up_at = time.time()
    after, records = await seen(client, call)

    assert ringing is not None
    assert ended == []
    assert ringing.ringing == (AGENT,)
    assert ringing.agents == ()
    assert ringing.customer == CUSTOMER[0]
    assert talking is not None
    assert talking.ringing == ()
    assert talking.agents == (AGENT,)
    assert busy_while_talking == {AGENT}
    assert after is None
    (record,) = records
    want, _ = expectation("answered_customer_hangs_up")
    assert want is not None
    assert record.call_id == call.call_id
    assert (record.outcome, record.ended_by, record.hangup_cause) == (
        want["outcome"],
        want["ended_by"],
        want["hangup_cause"],
    )
    assert (record.agent, record.customer) == (AGENT, CUSTOMER[0])
    # Times are now's, not the recording's: the talk lasted as long as the test held it,
    # between the test's own clock readings around the answer and the hang-up (1 ms: the
    # tracker's rounding), however long a loaded machine took to send the phases.
    assert record.started_at is not None and before <= record.started_at <= answered_at
    assert record.ended_at is not None and answered_at <= record.ended_at <= hung_up_at
    assert record.talk_seconds is not None
    assert HELD <= record.talk_seconds <= hung_up_at - answering + 0.001
    assert server.live_channels == {}
    assert traffic.roster.busy == set()
    assert call.state == "ended"


@pytest.mark.parametrize("scenario", STAGEABLE)
async def test_every_answered_scenario_staged_ends_with_its_recorded_outcome(
    client: EventClient, traffic: Traffic, scenario: str
) -> None:
    call = traffic.stage(scenario, agent=OTHER_AGENT, customer=CUSTOMER)

    await call.ring()
    ringing, _ = await seen(client, call)
    await call.answer()
    talking, _ = await seen(client, call)
    await call.hang_up()
    _, records = await seen(client, call)

    want, _ = expectation(scenario)
    assert want is not None
    assert ringing is not None and ringing.ringing == (OTHER_AGENT,)
    assert talking is not None and talking.agents == (OTHER_AGENT,)
    (record,) = records
    got = record.contract()
    for name in ("outcome", "ended_by", "hangup_cause", "direction", "queue", "transfers"):
        assert got[name] == want[name], name
    assert record.agents == (OTHER_AGENT,)


async def test_a_staged_blind_transfer_hands_the_customer_to_the_other_agent(
    client: EventClient, traffic: Traffic
) -> None:
    call = traffic.stage("transfer_and_hold", agent=AGENT, customer=CUSTOMER)

    await call.ring()
    await call.answer()
    before, _ = await seen(client, call)
    await call.transfer_to(OTHER_AGENT)
    transferred, _ = await seen(client, call)
    busy_after_transfer = set(traffic.roster.busy)
    await call.hang_up()
    _, records = await seen(client, call)

    assert before is not None and before.agents == (AGENT,)
    assert transferred is not None
    assert transferred.agents == (AGENT, OTHER_AGENT)
    assert transferred.transfers == 1
    assert busy_after_transfer == {OTHER_AGENT}
    (record,) = records
    want, _ = expectation("transfer_and_hold")
    assert want is not None
    assert (record.outcome, record.ended_by, record.transfers) == (
        want["outcome"],
        want["ended_by"],
        want["transfers"],
    )
    assert record.agents == (AGENT, OTHER_AGENT)
    assert record.customer == CUSTOMER[0]
    assert traffic.roster.busy == set()


async def test_phases_out_of_order_are_refused_and_send_nothing(
    server: AmiServer, client: EventClient, traffic: Traffic
) -> None:
    call = traffic.stage(agent=AGENT, customer=CUSTOMER)

    with pytest.raises(StagedCallError, match=r"answer\(\) cannot come now.*ring\(\) comes next"):
        await call.answer()
    with pytest.raises(StagedCallError, match="no blind transfer"):
        await call.transfer_to(OTHER_AGENT)
    assert await client.catch_up() == []
    await call.ring()
    with pytest.raises(StagedCallError, match=r"hang_up\(\) cannot come now.*ringing"):
        await call.hang_up()
    with pytest.raises(StagedCallError, match=r"ring\(\) cannot come now"):
        await call.ring()
    await call.answer()
    await call.hang_up()
    with pytest.raises(StagedCallError, match="the call has ended"):
        await call.hang_up()

    transfer = traffic.stage("transfer_and_hold", agent=AGENT)
    await transfer.ring()
    await transfer.answer()
    with pytest.raises(StagedCallError, match=r"hang_up\(\) cannot come now.*transfer"):
        await transfer.hang_up()
    with pytest.raises(StagedCallError, match="themselves"):
        await transfer.transfer_to(AGENT)


async def test_a_scenario_no_agent_answers_cannot_be_staged(traffic: Traffic) -> None:
    with pytest.raises(StagedCallError, match="queue_abandoned cannot be staged"):
        traffic.stage("queue_abandoned", agent=AGENT)
    with pytest.raises(StagedCallError, match="cannot be staged"):
        traffic.stage("agent_phone_unreachable", agent=AGENT)
    with pytest.raises(ValueError, match="unknown scenario"):
        traffic.stage("no_such_call", agent=AGENT)
    with pytest.raises(ValueError, match="PJSIP/1001"):
        traffic.stage(agent="1001")


async def test_a_phase_cut_short_leaves_the_call_broken_and_the_agents_free(
    server: AmiServer, client: EventClient
) -> None:
    slow = Traffic(
        server, agents=[AGENT, OTHER_AGENT], rng=random.Random(1), calls_per_minute=0, speed=1.0
    )
    call = slow.stage("transfer_and_hold", agent=AGENT)
    await call.ring()
    await call.answer()

    # The target's phone rings 2 s after the REFER: cut the transfer while it rings.
    transferring = asyncio.create_task(call.transfer_to(OTHER_AGENT))
    await asyncio.sleep(0.3)
    transferring.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await transferring

    assert call.state == "broken"
    assert slow.roster.busy == set()
    with pytest.raises(StagedCallError, match="cut short"):
        await call.hang_up()


async def test_traffic_with_no_arrival_rate_places_nothing_and_waits(
    client: EventClient, traffic: Traffic
) -> None:
    running = asyncio.create_task(traffic.run())
    await asyncio.sleep(0.3)

    assert not running.done()
    assert traffic.placed == 0
    assert await client.catch_up() == []
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
