"""Line faults from ContactStatus, PeerStatus, Registry, RTCP and finished calls, and the
line table the IT board shows."""

from __future__ import annotations

import pytest

from telephony.calls.model import (
    CallEnded,
    CallRecord,
    Direction,
    EndedBy,
    LegEnd,
    Outcome,
)
from telephony.calls.trunks import TrunkPlan
from telephony.capture import read_capture
from telephony.lines.contacts import ContactReading, read_contacts
from telephony.lines.watch import (
    DROP_CLUSTER,
    MEDIA_TIMEOUT,
    NETWORK_CAUSE,
    POOR_MEDIA,
    RECOVERED,
    REGISTRATION_FAILED,
    REGISTRATION_REJECTED,
    UNREACHABLE,
    UNREGISTERED,
    FaultSignal,
    LineStatus,
    LineWatch,
    WatchRules,
    span,
)
from telephony.switchboard import Signal, Switchboard
from tests.conftest import CAPTURES, LAB_TRUNKS

# -- events as the captures show them -------------------------------------------------------


def peer_status(peer: str, status: str) -> dict[str, str]:
    return {
        "Event": "PeerStatus",
        "Privilege": "system,all",
        "ChannelType": "PJSIP",
        "Peer": peer,
        "PeerStatus": status,
    }


def contact_status(endpoint: str, status: str, port: int = 5072) -> dict[str, str]:
    return {
        "Event": "ContactStatus",
        "Privilege": "system,all",
        "URI": f"sip:{endpoint}@127.0.0.1:{port}",
        "ContactStatus": status,
        "AOR": endpoint,
        "EndpointName": endpoint,
        "RoundtripUsec": "0",
    }


def registry(status: str, cause: str = "") -> dict[str, str]:
    """Asterisk 22's Registry event, as res_pjsip_outbound_registration sends it."""
    event = {
        "Event": "Registry",
        "Privilege": "system,all",
        "ChannelType": "PJSIP",
        "Username": "sip:callcentre@sip.carrier.example",
        "Domain": "sip:sip.carrier.example",
        "Status": status,
    }
    if cause:
        event["Cause"] = cause
    return event


def kinds(signals: list[FaultSignal]) -> list[tuple[str, str]]:
    return [(s.fault, s.location) for s in signals]


# -- reachability -----------------------------------------------------------------------------


def test_peer_status_and_contact_status_for_one_fault_make_one_signal() -> None:
    # As in dropped_mid_call_network: PeerStatus then ContactStatus, 0.2 ms apart.
    watch = LineWatch()
    signals = watch.feed(peer_status("PJSIP/2001", "Unreachable"), 17.20)
    signals += watch.feed(contact_status("2001", "Unreachable", 5090), 17.21)

    assert kinds(signals) == [(UNREACHABLE, "PJSIP/2001")]
    assert signals[0].at == 17.20


def test_contact_status_alone_locates_the_fault_by_endpoint_name_else_aor() -> None:
    watch = LineWatch()
    event = contact_status("1002", "Unreachable")
    del event["EndpointName"]
    assert kinds(watch.feed(event, 1.0)) == [(UNREACHABLE, "PJSIP/1002")]


def test_a_repeated_unreachable_is_not_signalled_again() -> None:
    watch = LineWatch()
    signals = watch.feed(peer_status("PJSIP/1002", "Unreachable"), 1.0)
    signals += watch.feed(peer_status("PJSIP/1002", "Unreachable"), 6.0)
    assert kinds(signals) == [(UNREACHABLE, "PJSIP/1002")]


def test_contact_removed_is_unregistered() -> None:
    # As in registration_unregister_reregister: PeerStatus Unreachable, ContactStatus Removed.
    watch = LineWatch()
    signals = watch.feed(peer_status("PJSIP/1002", "Unreachable"), 4.2087)
    signals += watch.feed(contact_status("1002", "Removed"), 4.2094)
    assert kinds(signals) == [(UNREACHABLE, "PJSIP/1002"), (UNREGISTERED, "PJSIP/1002")]


@pytest.mark.parametrize(
    "fault_events",
    [
        [peer_status("PJSIP/1002", "Unreachable")],
        [contact_status("1002", "Unreachable")],
        [contact_status("1002", "Removed")],
        [peer_status("PJSIP/1002", "Unreachable"), contact_status("1002", "Removed")],
    ],
    ids=["peer unreachable", "contact unreachable", "contact removed", "both"],
)
@pytest.mark.parametrize(
    "recovery",
    [peer_status("PJSIP/1002", "Reachable"), contact_status("1002", "Reachable")],
    ids=["peer reachable", "contact reachable"],
)
def test_reachable_after_a_fault_is_recovered_once(
    fault_events: list[dict[str, str]], recovery: dict[str, str]
) -> None:
    watch = LineWatch()
    for event in fault_events:
        watch.feed(event, 1.0)
    signals = watch.feed(contact_status("1002", "NonQualified"), 11.0)
    signals += watch.feed(recovery, 12.0)
    signals += watch.feed(peer_status("PJSIP/1002", "Reachable"), 12.001)
    signals += watch.feed(contact_status("1002", "Reachable"), 12.002)

    assert kinds(signals) == [(RECOVERED, "PJSIP/1002")]
    assert signals[0].at == 12.0
    assert watch.faulted == {}


def test_reachable_without_a_fault_before_it_signals_nothing() -> None:
    watch = LineWatch()
    assert watch.feed(peer_status("PJSIP/1001", "Reachable"), 1.0) == []
    assert watch.feed(contact_status("1001", "Reachable"), 1.0) == []


def test_faults_on_different_endpoints_are_separate() -> None:
    watch = LineWatch()
    signals = watch.feed(peer_status("PJSIP/1001", "Unreachable"), 1.0)
    signals += watch.feed(peer_status("PJSIP/1002", "Unreachable"), 1.0)
    signals += watch.feed(peer_status("PJSIP/1001", "Reachable"), 2.0)
    assert kinds(signals) == [
        (UNREACHABLE, "PJSIP/1001"),
        (UNREACHABLE, "PJSIP/1002"),
        (RECOVERED, "PJSIP/1001"),
    ]
    assert watch.faulted == {"PJSIP/1002": UNREACHABLE}


# -- outbound registrations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fault"),
    [("Rejected", REGISTRATION_REJECTED), ("Failed", REGISTRATION_FAILED)],
)
def test_registry_rejected_or_failed_is_a_fault_and_registered_recovers_it(
    status: str, fault: str
) -> None:
    watch = LineWatch()
    failed = watch.feed(registry(status, cause="403 Forbidden"), 1.0)
    recovered = watch.feed(registry("Registered"), 60.0)

    assert [s.fault for s in failed] == [fault]
    assert "sip.carrier.example" in failed[0].location
    assert failed[0].detail == "403 Forbidden"
    assert kinds(recovered) == [(RECOVERED, failed[0].location)]


def test_registry_registered_without_a_fault_signals_nothing() -> None:
    assert LineWatch().feed(registry("Registered"), 1.0) == []


def test_registry_rejected_twice_is_one_signal() -> None:
    watch = LineWatch()
    signals = watch.feed(registry("Rejected"), 1.0) + watch.feed(registry("Rejected"), 31.0)
    assert len(signals) == 1


# -- finished calls ---------------------------------------------------------------------------


def finished_call(
    *legs: LegEnd,
    at: float = 100.0,
    outcome: Outcome = Outcome.DROPPED,
    cause: int | None = 44,
) -> CallEnded:
    record = CallRecord(
        call_id=f"1795478{at:.0f}.7",
        direction=Direction.INBOUND,
        customer="+15551230100",
        agent="PJSIP/1001",
        agents=("PJSIP/1001",),
        queue=None,
        started_at=at - 20,
        answered_at=at - 18,
        ended_at=at,
        ring_seconds=2.0,
        talk_seconds=18.0,
        hold_seconds=0.0,
        hangup_cause=cause,
        ended_by=EndedBy.SYSTEM if outcome is Outcome.DROPPED else EndedBy.CUSTOMER,
        outcome=outcome,
        drop_reason=None,
        transfers=0,
        recording=None,
    )
    return CallEnded(record.call_id, at, record, legs, False)


def test_a_leg_the_driver_hung_up_is_a_media_timeout_and_the_other_legs_are_not() -> None:
    # As in dropped_mid_call_network: the trunk leg had no RTP (driver, 44); the agent's 16.
    ended = finished_call(
        LegEnd("PJSIP/2001", "customer", 44, driver_hangup=True, decisive=True),
        LegEnd("PJSIP/1001", "agent", 44, driver_hangup=False, decisive=False),
    )
    signals = LineWatch().call_ended(ended)

    assert kinds(signals) == [(MEDIA_TIMEOUT, "PJSIP/2001")]
    assert signals[0].detail == 44
    assert signals[0].at == ended.at


def test_a_fault_cause_on_the_ending_leg_is_a_network_cause() -> None:
    # As in agent_hangup_with_cause: the agent's BYE carried cause 41.
    ended = finished_call(
        LegEnd("PJSIP/2001", "customer", 16, driver_hangup=False, decisive=False),
        LegEnd("PJSIP/1001", "agent", 41, driver_hangup=False, decisive=True),
        cause=41,
    )
    signals = LineWatch().call_ended(ended)

    assert kinds(signals) == [(NETWORK_CAUSE, "PJSIP/1001")]
    assert signals[0].detail == 41


def test_a_fault_cause_on_a_leg_that_did_not_end_the_call_is_not_a_network_cause() -> None:
    ended = finished_call(
        LegEnd("PJSIP/2001", "customer", 16, driver_hangup=False, decisive=True),
        LegEnd("PJSIP/1001", "agent", 38, driver_hangup=False, decisive=False),
        outcome=Outcome.COMPLETED,
        cause=16,
    )
    assert LineWatch().call_ended(ended) == []


def test_a_normal_cause_on_the_ending_leg_is_no_fault() -> None:
    ended = finished_call(
        LegEnd("PJSIP/2001", "customer", 16, driver_hangup=False, decisive=True),
        LegEnd("PJSIP/1001", "agent", 16, driver_hangup=False, decisive=False),
        outcome=Outcome.COMPLETED,
        cause=16,
    )
    assert LineWatch().call_ended(ended) == []


def test_a_driver_hangup_is_reported_as_media_timeout_not_also_as_network_cause() -> None:
    ended = finished_call(
        LegEnd("PJSIP/2001", "customer", 44, driver_hangup=True, decisive=True),
    )
    assert [s.fault for s in LineWatch().call_ended(ended)] == [MEDIA_TIMEOUT]


# -- drop clusters ----------------------------------------------------------------------------


def dropped_on_trunk(at: float) -> CallEnded:
    return finished_call(
        LegEnd("PJSIP/2001", "customer", 16, driver_hangup=False, decisive=False),
        at=at,
        cause=16,
    )


def clusters(signals: list[FaultSignal]) -> list[FaultSignal]:
    return [s for s in signals if s.fault == DROP_CLUSTER]


def test_drop_cluster_fires_once_when_the_threshold_is_reached_within_the_window() -> None:
    watch = LineWatch(WatchRules(drop_cluster_size=3, drop_cluster_window=600.0))
    fired = [clusters(watch.call_ended(dropped_on_trunk(at))) for at in (0.0, 100.0, 200.0)]
    later = clusters(watch.call_ended(dropped_on_trunk(250.0)))

    assert fired[:2] == [[], []]
    assert kinds(fired[2]) == [(DROP_CLUSTER, "PJSIP/2001")]
    assert fired[2][0].at == 200.0
    assert fired[2][0].detail == "3 drops in 10 minutes"
    assert later == []


def test_drops_spread_beyond_the_window_make_no_cluster() -> None:
    watch = LineWatch(WatchRules(drop_cluster_size=3, drop_cluster_window=600.0))
    signals: list[FaultSignal] = []
    for at in (0.0, 400.0, 800.0, 1200.0, 1600.0):
        signals += watch.call_ended(dropped_on_trunk(at))
    assert clusters(signals) == []


def test_a_new_cluster_after_a_quiet_period_fires_again() -> None:
    watch = LineWatch(WatchRules(drop_cluster_size=2, drop_cluster_window=60.0))
    signals: list[FaultSignal] = []
    for at in (0.0, 10.0, 500.0, 1000.0, 1010.0):
        signals += clusters(watch.call_ended(dropped_on_trunk(at)))
    assert [s.at for s in signals] == [10.0, 1010.0]


def test_calls_that_were_not_dropped_do_not_count_towards_a_cluster() -> None:
    watch = LineWatch(WatchRules(drop_cluster_size=2, drop_cluster_window=600.0))
    signals: list[FaultSignal] = []
    for at in (0.0, 10.0, 20.0):
        ended = finished_call(
            LegEnd("PJSIP/2001", "customer", 16, driver_hangup=False, decisive=True),
            at=at,
            outcome=Outcome.COMPLETED,
            cause=16,
        )
        signals += watch.call_ended(ended)
    assert signals == []


def test_a_drop_counts_at_the_calls_trunk_not_at_the_agents_phone() -> None:
    watch = LineWatch(WatchRules(drop_cluster_size=2, drop_cluster_window=600.0))
    signals: list[FaultSignal] = []
    for at in (0.0, 10.0):
        ended = finished_call(
            LegEnd("PJSIP/2001", "customer", 38, driver_hangup=False, decisive=True),
            LegEnd("PJSIP/1001", "agent", 16, driver_hangup=False, decisive=False),
            at=at,
            cause=38,
        )
        signals += watch.call_ended(ended)
    assert kinds(clusters(signals)) == [(DROP_CLUSTER, "PJSIP/2001")]


def test_a_dropped_call_with_no_trunk_counts_nowhere() -> None:
    watch = LineWatch(WatchRules(drop_cluster_size=2, drop_cluster_window=600.0))
    signals: list[FaultSignal] = []
    for at in (0.0, 10.0):
        ended = finished_call(
            LegEnd("PJSIP/1001", "agent", 16, driver_hangup=False, decisive=False), at=at
        )
        signals += watch.call_ended(ended)
    assert clusters(signals) == []


def replayed(board: Switchboard, name: str, later_by: float) -> list[Signal]:
    """A capture fed to the switchboard as if it happened ``later_by`` seconds later."""
    signals: list[Signal] = []
    for message in read_capture(CAPTURES / f"{name}.ami"):
        at = None if message.at is None else message.at + later_by
        signals += board.feed(message.headers, at)
    return signals


def test_drops_with_completed_calls_between_them_are_a_cluster_in_a_window_on_the_trunk() -> None:
    # The lab's cause-38 drop (trunk 2001, agent 1001's phone) three times in three minutes,
    # a completed call after each: "3 drops in 10 minutes" on the trunk, not "in a row", and
    # nothing on the phone.
    board = Switchboard(TrunkPlan.parse(LAB_TRUNKS), WatchRules(3, 600.0))
    signals: list[Signal] = []
    for minute in range(3):
        signals += replayed(board, "dropped_mid_call_cause", minute * 60.0)
        signals += replayed(board, "normal_inbound_agent_hangup", minute * 60.0 + 30.0)

    outcomes = [s.record.outcome for s in signals if isinstance(s, CallEnded)]
    assert outcomes == [Outcome.DROPPED, Outcome.COMPLETED] * 3
    faults = [s for s in signals if isinstance(s, FaultSignal)]
    (cluster,) = clusters(faults)
    assert (cluster.location, cluster.detail) == ("PJSIP/2001", "3 drops in 10 minutes")
    assert "PJSIP/1001" not in {s.location for s in faults}


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (600.0, "10 minutes"),
        (60.0, "1 minute"),
        (3600.0, "1 hour"),
        (7200.0, "2 hours"),
        (90.0, "90 seconds"),
        (1.0, "1 second"),
        (2.5, "2.5 seconds"),
    ],
)
def test_a_window_is_said_in_the_largest_whole_unit(seconds: float, words: str) -> None:
    assert span(seconds) == words


def test_unknown_events_are_ignored() -> None:
    watch = LineWatch()
    assert watch.feed({"Event": "Newchannel"}, 1.0) == []
    assert watch.feed({}, None) == []
    assert watch.feed({"Event": "PeerStatus"}, 1.0) == []
    assert watch.feed({"Event": "ContactStatus", "ContactStatus": "Unreachable"}, 1.0) == []


# -- poor media from RTCP -------------------------------------------------------------------


def captured(name: str, event: str) -> list[dict[str, str]]:
    """The events of one kind in a recorded capture, as the link hands them over."""
    return [
        dict(message.headers)
        for message in read_capture(CAPTURES / f"{name}.ami")
        if message.headers.get("Event") == event
    ]


def trunk_report(**changes: str) -> dict[str, str]:
    """The trunk leg's first RTCPSent of dropped_mid_call_network, with headers changed."""
    report = next(
        e
        for e in captured("dropped_mid_call_network", "RTCPSent")
        if e["Channel"].startswith("PJSIP/2001")
    )
    return {**report, **changes}


def test_the_captures_healthy_rtcp_reports_signal_nothing() -> None:
    # Every RTCPSent recorded on the lab's LAN: no loss, jitter under 4 ms, MES 88.1.
    reports = [
        event
        for name in ("dropped_mid_call_network", "burst_load", "transfer_and_hold")
        for event in captured(name, "RTCPSent")
    ]
    assert len(reports) > 50
    watch = LineWatch()
    assert [s for e in reports for s in watch.feed(e, 1.0)] == []


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"Report0FractionLost": "32"}, "loss 12.5%"),  # 32/256 of the packets
        ({"Report0IAJitter": "640"}, "jitter 80 ms"),  # 640 units at 8 kHz
        ({"MES": "45"}, "MES 45"),
    ],
    ids=["loss", "jitter", "mes"],
)
def test_a_bad_rtcp_report_is_poor_media_at_the_channels_endpoint(
    changes: dict[str, str], said: str
) -> None:
    signals = LineWatch().feed(trunk_report(**changes), 17.0)

    assert kinds(signals) == [(POOR_MEDIA, "PJSIP/2001")]
    assert signals[0].at == 17.0
    assert said in str(signals[0].detail)


def test_the_poor_media_detail_gives_every_measure() -> None:
    bad = trunk_report(Report0FractionLost="32", Report0IAJitter="640", MES="45")
    [signal] = LineWatch().feed(bad, 1.0)
    assert signal.detail == "loss 12.5%, jitter 80 ms, MES 45"


def test_a_long_round_trip_in_rtcp_received_is_poor_media() -> None:
    received = {**trunk_report(), "Event": "RTCPReceived", "RTT": "0.620"}
    [signal] = LineWatch().feed(received, 1.0)
    assert signal.fault == POOR_MEDIA
    assert "RTT 620 ms" in str(signal.detail)


def test_the_worst_report_block_counts() -> None:
    bad = trunk_report(
        ReportCount="2",
        Report1FractionLost="64",
        Report1IAJitter="8",
        Report1SourceSSRC="0xca110001",
    )
    [signal] = LineWatch().feed(bad, 1.0)
    assert str(signal.detail).startswith("loss 25.0%")


def test_poor_media_is_signalled_once_per_channel_until_it_hangs_up() -> None:
    watch = LineWatch()
    bad = trunk_report(Report0FractionLost="40")
    first = watch.feed(bad, 1.0)
    again = watch.feed(bad, 6.0)
    agent_leg = {**bad, "Channel": "PJSIP/1001-00000008", "Uniqueid": "1795478779.8"}
    other = watch.feed(agent_leg, 6.5)
    watch.feed({"Event": "Hangup", "Channel": bad["Channel"], "Uniqueid": bad["Uniqueid"]}, 9.0)
    next_call = watch.feed({**bad, "Channel": "PJSIP/2001-0000000c", "Uniqueid": "9.1"}, 20.0)

    assert kinds(first) == [(POOR_MEDIA, "PJSIP/2001")]
    assert again == []
    assert kinds(other) == [(POOR_MEDIA, "PJSIP/1001")]
    assert kinds(next_call) == [(POOR_MEDIA, "PJSIP/2001")]


def test_media_thresholds_come_from_the_rules() -> None:
    strict = LineWatch(WatchRules(max_loss_percent=1.0, max_jitter_ms=0.1, min_mes=90.0))
    lenient = LineWatch(WatchRules(max_loss_percent=50.0, max_jitter_ms=200.0, min_mes=10.0))
    report = trunk_report(Report0FractionLost="8")  # 3.1 %

    assert [s.fault for s in strict.feed(report, 1.0)] == [POOR_MEDIA]
    assert lenient.feed(report, 1.0) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"ReportCount": "many"},
        {"Report0FractionLost": "lots"},
        {"Report0FractionLost": "-1", "Report0IAJitter": "nan"},
        {"MES": "", "RTT": "soon"},
        {"ReportCount": "1000000"},
        {"Channel": ""},
    ],
)
def test_unreadable_rtcp_values_never_raise_and_never_signal(changes: dict[str, str]) -> None:
    assert LineWatch().feed(trunk_report(**changes), 1.0) == []


# -- the line table -------------------------------------------------------------------------


def test_the_line_table_follows_a_phone_through_the_capture() -> None:
    # registration_unregister_reregister: PJSIP/1002 unregisters, then registers again.
    watch = LineWatch()
    seen = []
    for message in read_capture(CAPTURES / "registration_unregister_reregister.ami"):
        watch.feed(message.headers, message.at)
        seen += [(line.state, line.roundtrip_ms) for line in watch.take_line_changes()]

    assert seen == [
        ("unreachable", None),
        ("unregistered", None),
        ("unknown", None),  # NonQualified: a contact again, not yet qualified
        ("reachable", None),  # PeerStatus first: no round trip yet
        ("reachable", 1.583),
    ]
    line = watch.lines["PJSIP/1002"]
    assert line.state == "reachable"
    assert line.last_change_at is not None


def test_a_round_trip_change_alone_does_not_move_last_change() -> None:
    watch = LineWatch()
    watch.feed(contact_status("1001", "Reachable") | {"RoundtripUsec": "751"}, 10.0)
    watch.feed(contact_status("1001", "Reachable") | {"RoundtripUsec": "2500"}, 20.0)

    line = watch.lines["PJSIP/1001"]
    assert (line.state, line.roundtrip_ms, line.last_change_at) == ("reachable", 2.5, 10.0)
    assert [c.roundtrip_ms for c in watch.take_line_changes()] == [2.5]
    assert watch.take_line_changes() == []


def listing(*contacts: tuple[str, str, str]) -> dict[str, ContactReading]:
    """PJSIPShowContacts' ContactList events, as read_contacts reads them."""
    return read_contacts(
        [{"Response": "Success", "EventList": "start"}]
        + [
            {"Event": "ContactList", "Endpoint": e, "Status": s, "RoundtripUsec": rtt}
            for e, s, rtt in contacts
        ]
    )


def test_the_contact_listing_seeds_the_table_and_signals_a_fault_nobody_saw() -> None:
    # The service started while trunk 2001 was already down: no ContactStatus will say so.
    watch = LineWatch()
    signals = watch.reconcile_contacts(
        listing(("1001", "Reachable", "751"), ("2001", "Unreachable", "0")), 5.0
    )

    assert kinds(signals) == [(UNREACHABLE, "PJSIP/2001")]
    assert watch.lines["PJSIP/1001"] == LineStatus("PJSIP/1001", "reachable", 0.751, 5.0)
    assert watch.lines["PJSIP/2001"].state == "unreachable"


def test_the_contact_listing_recovers_and_unregisters_what_changed_unseen() -> None:
    watch = LineWatch()
    watch.feed(contact_status("2001", "Unreachable"), 1.0)
    watch.feed(contact_status("1001", "Reachable"), 1.0)
    signals = watch.reconcile_contacts(listing(("2001", "Reachable", "900")), 50.0)
    again = watch.reconcile_contacts(listing(("2001", "Reachable", "900")), 60.0)

    assert kinds(signals) == [(RECOVERED, "PJSIP/2001"), (UNREGISTERED, "PJSIP/1001")]
    assert watch.lines["PJSIP/1001"].state == "unregistered"
    assert watch.lines["PJSIP/1001"].last_change_at == 50.0
    assert again == []


def test_an_event_newer_than_the_listing_wins_over_it() -> None:
    # The listing was asked for before trunk 2001 registered and went unreachable; its answer
    # (no contact for 2001) is handled after those events: it must not say "unregistered".
    watch = LineWatch()
    mark = watch.line_events
    signals = watch.feed(contact_status("2001", "NonQualified"), 1.0)
    signals += watch.feed(contact_status("2001", "Unreachable"), 1.1)
    signals += watch.reconcile_contacts(listing(), 1.2, asked_at_mark=mark)

    assert kinds(signals) == [(UNREACHABLE, "PJSIP/2001")]
    assert watch.lines["PJSIP/2001"].state == "unreachable"
