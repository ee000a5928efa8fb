"""The pipeline driven with recorded captures: the agent's pop, the end of the call with its
outcome, the record jobs, and what every desk is handed, in order. No socket: the link's
items are built from tests/fixtures/ami and handed to ``Pipeline.handle``."""

from __future__ import annotations

import pytest

from app.console.pops import MissedPop
from app.live.hub import Hub
from app.live.pipeline import Pipeline
from app.live.updates import (
    CallSeen,
    FaultSeen,
    LinesChanged,
    LinkLost,
    LiveCallsListed,
)
from app.records.store import CallChange, LiveCallsSeen, PopsMissed, RecordJob
from app.settings import Settings
from telephony.ami.link import LinkEvent, LiveChannels
from telephony.ami.link import LinkLost as LinkLostItem
from telephony.ami.replies import Reply
from telephony.calls.model import CallAnswered, CallEnded, CallRinging
from telephony.calls.originate import OriginateAnswer
from tests.conftest import LAB_TRUNKS
from tests.desks.fakes import (
    AGENT_ONE,
    AGENT_TWO,
    T0,
    FakeLink,
    Listener,
    ManualClock,
    RecordingDesk,
    link_events,
    make_pipeline,
    success,
)

CUSTOMER = "+15551230100"
ANSWERED_CALL = "1795478681.0"  # normal_inbound_caller_hangup: agent one answers


def handle_all(events: list[LinkEvent], pipeline: Pipeline) -> list[RecordJob]:
    """Hand the pipeline each event, as its task does; the record jobs it returned."""
    jobs: list[RecordJob] = []
    for event in events:
        jobs += pipeline.handle(event)
    return jobs


def test_the_agent_gets_the_pop_of_their_call_and_its_end_with_the_outcome(hub: Hub) -> None:
    agent1, agent2 = Listener(hub, "agent", AGENT_ONE), Listener(hub, "agent", AGENT_TWO)
    supervisor = Listener(hub, "supervisor")
    events = link_events("normal_inbound_caller_hangup")
    handle_all(events, make_pipeline(hub))

    ringing, answered, ended = agent1.take()
    assert (ringing["type"], ringing["agent"], ringing["ack"]) == ("call.ringing", AGENT_ONE, True)
    assert ringing["call"]["customer"] == CUSTOMER
    assert ringing["call"]["ringing"] == [AGENT_ONE]
    assert ringing["received_at"] in {event.received for event in events}
    assert (answered["type"], answered["agent"], answered["ack"]) == (
        "call.answered",
        AGENT_ONE,
        True,
    )
    assert answered["first"] is True
    assert ended["type"] == "call.ended" and "ack" not in ended
    assert ended["record"]["outcome"] == "completed"
    assert ended["record"]["ended_by"] == "customer"
    assert ended["record"]["agent"] == AGENT_ONE
    assert ringing["id"] < answered["id"] < ended["id"]
    assert agent2.take() == []  # not their call
    assert supervisor.types() == ["call.ringing", "call.answered", "call.ended"]


@pytest.mark.parametrize(
    ("console", "acknowledged", "missed"),
    [
        (False, False, "no console connected"),
        (True, False, "not acknowledged"),
        (True, True, None),
    ],
)
def test_the_record_jobs_follow_the_call_and_name_the_pops_that_never_reached_the_agent(
    hub: Hub, console: bool, acknowledged: bool, missed: str | None
) -> None:
    agent1 = Listener(hub, "agent", AGENT_ONE) if console else None
    pipeline = make_pipeline(hub)
    events = link_events("normal_inbound_caller_hangup")
    talking = len(link_events("normal_inbound_caller_hangup", before="HangupRequest"))
    jobs = handle_all(events[:talking], pipeline)
    if acknowledged:  # the console acknowledges the ringing pop while the call goes on
        assert agent1 is not None
        pop = agent1.take("call.ringing")[0]
        assert pipeline.pops.acked(pop["id"], AGENT_ONE, pop["received_at"] + 0.2)
    jobs += handle_all(events[talking:], pipeline)

    changes = [job for job in jobs if isinstance(job, CallChange)]
    assert [type(job.update) for job in changes] == [CallRinging, CallAnswered, CallEnded]
    assert [job.live is not None for job in changes] == [True, True, False]
    ended = changes[-1].update
    assert isinstance(ended, CallEnded) and str(ended.record.outcome) == "completed"
    pops_missed = [job for job in jobs if isinstance(job, PopsMissed)]
    if missed is None:
        assert pops_missed == []
    else:
        assert [job.missed for job in pops_missed] == [
            (MissedPop(ANSWERED_CALL, AGENT_ONE, missed),)
        ]
    assert jobs[-1] is (pops_missed[-1] if pops_missed else changes[-1])  # nothing after the end


def test_every_desk_is_handed_the_same_updates_in_the_order_they_happened(hub: Hub) -> None:
    supervisor, agent1 = Listener(hub, "supervisor"), Listener(hub, "agent", AGENT_ONE)
    desks = [RecordingDesk(), RecordingDesk()]
    events = link_events("dropped_mid_call_network")
    handle_all(events, make_pipeline(hub, desks))

    updates = desks[0].updates
    assert desks[1].updates == updates
    assert [type(u) for u in updates] == [
        CallSeen,  # ringing at agent one
        CallSeen,  # answered
        FaultSeen,  # the trunk stops answering qualify mid-call
        LinesChanged,
        CallEnded,  # the call is cut
        FaultSeen,  # no media: the cause of the cut
        FaultSeen,  # the trunk is back
        LinesChanged,
        LinesChanged,  # its round trip is known again
    ]
    ringing, answered, unreachable, _, ended, media, recovered, *_ = updates
    assert isinstance(ringing, CallSeen) and ringing.live.ringing == (AGENT_ONE,)
    assert isinstance(answered, CallSeen) and answered.live.agents == (AGENT_ONE,)
    assert answered.live.trunk == "PJSIP/2001"
    faults = [u.signal for u in (unreachable, media, recovered) if isinstance(u, FaultSeen)]
    assert [(f.fault, f.location) for f in faults] == [
        ("unreachable", "PJSIP/2001"),
        ("media_timeout", "PJSIP/2001"),
        ("recovered", "PJSIP/2001"),
    ]
    assert isinstance(unreachable, FaultSeen)
    assert unreachable.received in {event.received for event in events}
    assert isinstance(ended, CallEnded) and str(ended.record.outcome) == "dropped"
    # The faults are the trunk's: the supervisors see them, the agent on the call does not.
    assert [m["fault"] for m in supervisor.take("line.fault")] == [
        "unreachable",
        "media_timeout",
        "recovered",
    ]
    assert agent1.take("line.fault") == []


def test_the_pbx_answer_to_an_originate_is_handed_to_the_desks_and_shown_to_nobody(
    hub: Hub,
) -> None:
    supervisor = Listener(hub, "supervisor")
    desk = RecordingDesk()
    handle_all(link_events("originate_callback"), make_pipeline(hub, [desk]))

    (answer,) = [u for u in desk.updates if isinstance(u, OriginateAnswer)]
    assert (answer.action_id, answer.uniqueid) == ("callback-0001", "1795478958.14")
    assert answer.first_leg_answered
    kinds = [type(u) for u in desk.updates]
    assert kinds.index(OriginateAnswer) < kinds.index(CallEnded)
    assert supervisor.types() == ["call.ringing", "call.answered", "call.ended"]  # nothing more


def test_a_lost_link_is_told_to_everyone_and_to_every_desk(hub: Hub) -> None:
    agent1, supervisor = Listener(hub, "agent", AGENT_ONE), Listener(hub, "supervisor")
    desks = [RecordingDesk(), RecordingDesk()]
    pipeline = make_pipeline(hub, desks)

    jobs = pipeline.handle(LinkLostItem(T0 + 5, "PBX closed the connection"))

    assert jobs == []
    for listener in (agent1, supervisor):
        (down,) = listener.take()
        assert (down["type"], down["at"], down["reason"]) == (
            "link.down",
            T0 + 5,
            "PBX closed the connection",
        )
    for desk in desks:
        assert desk.updates == [LinkLost(T0 + 5, "PBX closed the connection")]


def test_after_a_relogin_a_call_the_pbx_no_longer_has_ends_in_the_gap(hub: Hub) -> None:
    agent1 = Listener(hub, "agent", AGENT_ONE)
    desk = RecordingDesk()
    pipeline = make_pipeline(hub, [desk])
    handle_all(link_events("normal_inbound_caller_hangup", before="HangupRequest"), pipeline)
    agent1.take()
    desk.updates.clear()

    jobs = pipeline.handle(LiveChannels((), T0 + 100))  # the PBX lists no channel at all

    ended, back = agent1.take()
    assert ended["type"] == "call.ended" and ended["call_id"] == ANSWERED_CALL
    assert (back["type"], back["calls"]) == ("link.up", [])  # told after the call ended
    assert ended["record"]["ended_in_gap"] is True
    assert ended["record"]["ended_by"] == "unknown"
    assert [type(u) for u in desk.updates] == [CallEnded, LiveCallsListed]
    assert desk.updates[-1] == LiveCallsListed(frozenset(), T0 + 100)
    assert isinstance(jobs[0], CallChange) and isinstance(jobs[0].update, CallEnded)
    assert jobs[-1] == LiveCallsSeen(frozenset(), T0 + 100)
    assert pipeline.live_count == 0


def test_after_a_relogin_a_call_the_pbx_still_has_goes_on(hub: Hub) -> None:
    agent1 = Listener(hub, "agent", AGENT_ONE)
    desk = RecordingDesk()
    pipeline = make_pipeline(hub, [desk])
    talking = link_events("normal_inbound_caller_hangup", before="HangupRequest")
    handle_all(talking, pipeline)
    agent1.take()
    desk.updates.clear()
    # CoreShowChannels lists both legs, in the bridge they entered.
    listed = tuple(
        {**event.headers, "Event": "CoreShowChannel", "BridgeId": event.headers["BridgeUniqueid"]}
        for event in talking
        if event.headers["Event"] == "BridgeEnter"
    )
    assert len(listed) == 2

    jobs = pipeline.handle(LiveChannels(listed, T0 + 100))

    (back,) = agent1.take()  # the link is back, and the call with it
    assert back["type"] == "link.up"
    assert [call["call_id"] for call in back["calls"]] == [ANSWERED_CALL]
    assert desk.updates == [LiveCallsListed(frozenset({ANSWERED_CALL}), T0 + 100)]
    assert jobs == [LiveCallsSeen(frozenset({ANSWERED_CALL}), T0 + 100)]
    assert pipeline.live_count == 1


def test_the_link_is_said_to_be_back_once_per_loss_not_at_every_relisting(hub: Hub) -> None:
    supervisor = Listener(hub, "supervisor")
    pipeline = make_pipeline(hub)

    pipeline.handle(LiveChannels((), T0))  # the first login
    pipeline.handle(LiveChannels((), T0 + 900))  # the link's periodic relisting, link up
    pipeline.handle(LinkLostItem(T0 + 901, "PBX closed the connection"))
    pipeline.handle(LiveChannels((), T0 + 905))  # logged in again

    told = [(m["type"], m["at"]) for m in supervisor.take()]
    assert told == [("link.up", T0), ("link.down", T0 + 901), ("link.up", T0 + 905)]


def may_read_pjsip_listings(link: FakeLink) -> None:
    """An AMI user with ``system``: ListCommands names the PJSIP listings (Asterisk lists
    only what the user may send)."""
    permitted = {"Response": "Success"}
    for name in ("PJSIPShowContacts", "PJSIPShowEndpoints", "PJSIPShowEndpoint"):
        permitted[name] = f"{name}.  (Priv: system,all)"
    link.answer("ListCommands", Reply.of([permitted]))


@pytest.mark.asyncio
async def test_the_contact_listing_brings_out_faults_nobody_announced(hub: Hub) -> None:
    agent2, supervisor = Listener(hub, "agent", AGENT_TWO), Listener(hub, "supervisor")
    link = FakeLink()
    may_read_pjsip_listings(link)
    link.answer(
        "PJSIPShowContacts",
        success(
            "A listing of Contacts follows, presented as ContactList events",
            {
                "Event": "ContactList",
                "Endpoint": "1001",
                "Status": "Reachable",
                "RoundtripUsec": "1500",
            },
            {
                "Event": "ContactList",
                "Endpoint": "1002",
                "Status": "Unreachable",
                "RoundtripUsec": "N/A",
            },
            {"Event": "ContactListComplete", "EventList": "Complete", "ListItems": "2"},
        ),
    )
    desk = RecordingDesk()
    pipeline = make_pipeline(hub, [desk], link=link, clock=ManualClock(T0 + 30))

    await pipeline.refresh_contacts()

    # The endpoints are asked too (static contacts); this PBX lists none beyond the phones.
    assert [(sent.name, sent.as_list) for sent in link.sent] == [
        ("ListCommands", False),
        ("PJSIPShowContacts", None),
        ("PJSIPShowEndpoints", None),
    ]
    (fault,) = agent2.take("line.fault")  # agent two's own phone
    assert (fault["fault"], fault["location"]) == ("unreachable", AGENT_TWO)
    assert [m["location"] for m in supervisor.take("line.fault")] == [AGENT_TWO]
    seen, changed = desk.updates
    assert isinstance(seen, FaultSeen) and seen.received == T0 + 30
    assert isinstance(changed, LinesChanged)
    lines = {line.endpoint: line for line in changed.lines}
    assert (lines[AGENT_ONE].state, lines[AGENT_ONE].roundtrip_ms) == ("reachable", 1.5)
    assert lines[AGENT_TWO].state == "unreachable"


@pytest.mark.asyncio
async def test_a_refused_contact_listing_leaves_the_lines_as_last_seen(hub: Hub) -> None:
    supervisor = Listener(hub, "supervisor")
    link = FakeLink()
    desk = RecordingDesk()
    pipeline = make_pipeline(hub, [desk], link=link)
    handle_all(link_events("line_fault_unreachable"), pipeline)  # agent two's phone is known
    supervisor.take()
    desk.updates.clear()
    may_read_pjsip_listings(link)
    link.answer("PJSIPShowContacts", Reply.of([{"Response": "Error", "Message": "Denied"}]))

    await pipeline.refresh_contacts()

    assert [s.name for s in link.sent] == ["ListCommands", "PJSIPShowContacts"]
    assert supervisor.take() == [] and desk.updates == []  # not read as "no phone registered"
    assert pipeline.endpoint_fault(AGENT_TWO) is None


def test_pops_nobody_acknowledged_are_sent_again_to_the_agent_alone(hub: Hub) -> None:
    agent1, supervisor = Listener(hub, "agent", AGENT_ONE), Listener(hub, "supervisor")
    pipeline = make_pipeline(hub)
    handle_all(link_events("normal_inbound_caller_hangup", before="HangupRequest"), pipeline)
    ringing, answered = agent1.take()
    supervisor.take()
    answered_at = answered["received_at"]

    assert pipeline.resend_pops(answered_at + 1.0) == 1  # only the ringing pop is 2 s old
    (again,) = agent1.take()
    assert (again["id"], again["type"], again["resent"]) == (ringing["id"], "call.ringing", 1)

    assert pipeline.pops.acked(answered["id"], AGENT_ONE, answered_at + 2.5)
    assert pipeline.resend_pops(answered_at + 3.0) == 1  # the ringing pop, once more
    assert [(m["id"], m["resent"]) for m in agent1.take()] == [(ringing["id"], 2)]
    assert pipeline.resend_pops(answered_at + 3.5) == 0  # not yet due again
    assert pipeline.resend_pops(answered_at + 5.0) == 1
    assert pipeline.resend_pops(answered_at + 7.0) == 0  # three resends, then it rests
    assert [m["resent"] for m in agent1.take()] == [3]
    assert supervisor.take() == []  # resends are the agent's business only


def test_the_line_probes_calls_are_line_checks_not_calls(hub: Hub) -> None:
    # The lab: two runs of `callassist linecheck` (the probe calls *77, which only answers),
    # then a customer's call. The service knows the probe's endpoint from its settings.
    qa, supervisor = Listener(hub, "qa"), Listener(hub, "supervisor")
    desk = RecordingDesk()
    plan = Settings(trunks=LAB_TRUNKS).trunk_plan
    pipeline = make_pipeline(hub, [desk], trunks=plan)

    checks = handle_all(link_events("lab2_g_linecheck_probe_call", 0.0), pipeline)
    assert checks == []  # nothing to record
    assert pipeline.line_checks == 2 and pipeline.outcomes == {}
    assert not [u for u in desk.updates if isinstance(u, CallEnded)]
    assert "call.ended" not in qa.types() + supervisor.types()

    call = handle_all(link_events("normal_inbound_caller_hangup"), pipeline)
    assert [type(job.update) for job in call if isinstance(job, CallChange)][-1] is CallEnded
    assert pipeline.outcomes == {"completed": 1}
