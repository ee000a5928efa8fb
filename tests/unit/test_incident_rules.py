"""Incident rules: which signal opens which incident at which level, joins, recoveries, the
workflow's moves and the reminder, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.incidents.rules import (
    DEFAULT_LEVELS,
    ActiveIncident,
    Heading,
    IllegalMove,
    JoinIncident,
    MarkRecovered,
    OpenIncident,
    allowed_moves,
    decide,
    next_status,
    reminder_due,
    should_remind,
)
from app.settings import Settings
from telephony.calls.trunks import TrunkPlan
from telephony.lines.watch import FaultSignal

TRUNKS = TrunkPlan.parse("PJSIP/2001,PJSIP/carrier-*")
LEVELS = Settings().incident_level_rules  # the shipped rules, as the service reads them
REGISTRY = "PJSIP/sip:sip.carrier.example"
CLUSTER = "3 drops in 10 minutes"  # as the line watch says it


def opened(signal: FaultSignal, levels: dict[str, str] = LEVELS) -> OpenIncident:
    decision = decide(signal, trunks=TRUNKS, levels=levels, active=None)
    assert isinstance(decision, OpenIncident), decision
    return decision


@pytest.mark.parametrize(
    ("signal", "kind", "level"),
    [
        (FaultSignal("unreachable", "PJSIP/2001", 1.0), "trunk_down", "I"),
        (FaultSignal("unregistered", "PJSIP/carrier-east", 1.0), "trunk_down", "I"),
        (FaultSignal("registration_rejected", REGISTRY, 1.0, "403"), "registration_failed", "I"),
        (FaultSignal("registration_failed", REGISTRY, 1.0), "registration_failed", "I"),
        (FaultSignal("drop_cluster", "PJSIP/2001", 1.0, CLUSTER), "drop_cluster", "II"),
        (FaultSignal("probe_failed", "probe:*77", 1.0, "timeout"), "probe_failed", "II"),
        (FaultSignal("poor_media", "PJSIP/2001", 1.0, "loss 12.5%"), "poor_media", "III"),
        (FaultSignal("unreachable", "PJSIP/1001", 1.0), "device_fault", "IV"),
        (FaultSignal("unregistered", "PJSIP/1002", 1.0), "device_fault", "IV"),
    ],
)
def test_each_signal_opens_the_right_kind_at_the_right_level(
    signal: FaultSignal, kind: str, level: str
) -> None:
    decision = opened(signal)
    assert (decision.kind, decision.level, decision.location) == (kind, level, signal.location)
    assert decision.at == signal.at
    assert decision.detail == {"fault": signal.fault, "detail": signal.detail}


def test_the_summary_says_what_and_where() -> None:
    assert opened(FaultSignal("unreachable", "PJSIP/2001", 1.0)).summary == (
        "Trunk PJSIP/2001 is unreachable"
    )
    media = opened(FaultSignal("poor_media", "PJSIP/2001", 1.0, "loss 12.5%, MES 45"))
    assert media.summary == "Poor media on PJSIP/2001: loss 12.5%, MES 45"
    assert "check the phone" in opened(FaultSignal("unreachable", "PJSIP/1001", 1.0)).summary
    drops = opened(FaultSignal("drop_cluster", "PJSIP/2001", 1.0, CLUSTER))
    assert drops.summary == "3 drops in 10 minutes on PJSIP/2001"  # not "in a row"


def test_levels_come_from_the_settings_and_fall_back_to_the_shipped_ones() -> None:
    levels = Settings(incident_levels="device_fault=II").incident_level_rules
    assert opened(FaultSignal("unreachable", "PJSIP/1001", 1.0), levels).level == "II"
    assert opened(FaultSignal("unreachable", "PJSIP/2001", 1.0), levels).level == "I"
    assert DEFAULT_LEVELS["trunk_down"] == "I"


@pytest.mark.parametrize("fault", ["media_timeout", "network_cause", "recovered", "mystery"])
def test_signals_that_only_feed_drop_clusters_open_nothing(fault: str) -> None:
    signal = FaultSignal(fault, "PJSIP/2001", 1.0, 44)
    assert decide(signal, trunks=TRUNKS, levels=LEVELS, active=None) is None


def joined(signal: FaultSignal, active: ActiveIncident) -> JoinIncident:
    decision = decide(signal, trunks=TRUNKS, levels=LEVELS, active=active)
    assert isinstance(decision, JoinIncident), decision
    return decision


def test_a_repeat_at_the_same_location_joins_the_open_incident() -> None:
    active = ActiveIncident(7, "trunk_down", "I", recovered=False)
    for fault in ("unreachable", "drop_cluster", "media_timeout", "poor_media"):
        decision = joined(FaultSignal(fault, "PJSIP/2001", 9.0), active)
        assert (decision.incident_id, decision.at) == (7, 9.0)
        assert decision.detail == {"fault": fault, "detail": None}
        assert not (decision.escalated or decision.relapsed)


def test_a_less_urgent_fault_while_the_first_lasts_leaves_the_incident_as_it_says() -> None:
    # Drops on a trunk that is down: "Trunk ... is unreachable" is still the truth.
    active = ActiveIncident(7, "trunk_down", "I", recovered=False)
    for fault, detail in (("drop_cluster", CLUSTER), ("poor_media", "loss 12.5%")):
        assert joined(FaultSignal(fault, "PJSIP/2001", 9.0, detail), active).heading is None
    assert joined(FaultSignal("media_timeout", "PJSIP/2001", 9.0, 44), active).heading is None


def test_the_latest_word_of_the_same_kind_becomes_the_summary() -> None:
    active = ActiveIncident(7, "trunk_down", "I", recovered=False)
    decision = joined(FaultSignal("unregistered", "PJSIP/2001", 9.0), active)
    assert decision.heading == Heading("trunk_down", "I", "Trunk PJSIP/2001 is unregistered")


def test_a_more_urgent_signal_escalates_the_incident_with_its_own_summary() -> None:
    active = ActiveIncident(3, "poor_media", "III", recovered=False)
    decision = joined(FaultSignal("unreachable", "PJSIP/2001", 9.0), active)
    assert decision.escalated and not decision.relapsed
    assert decision.heading == Heading("trunk_down", "I", "Trunk PJSIP/2001 is unreachable")


def test_an_escalated_device_fault_is_no_longer_titled_as_the_phone() -> None:
    # The lab: a device_fault became a level II drop cluster still titled "Agent phone ...".
    active = ActiveIncident(4, "device_fault", "IV", recovered=False)
    decision = joined(FaultSignal("drop_cluster", "PJSIP/1001", 9.0, CLUSTER), active)
    assert decision.heading == Heading("drop_cluster", "II", "3 drops in 10 minutes on PJSIP/1001")


def test_the_fault_coming_back_after_recovery_is_a_relapse_of_the_same_incident() -> None:
    active = ActiveIncident(3, "trunk_down", "I", recovered=True)
    back = joined(FaultSignal("unreachable", "PJSIP/2001", 9.0), active)
    one_call = joined(FaultSignal("media_timeout", "PJSIP/2001", 9.0), active)
    assert back.relapsed
    assert back.heading == Heading("trunk_down", "I", "Trunk PJSIP/2001 is unreachable")
    assert not one_call.relapsed and one_call.heading is None


def test_another_fault_after_recovery_never_reopens_the_incident_under_its_old_summary() -> None:
    # The lab: drops on the carrier after it was reachable again showed "Trunk PJSIP/carrier
    # is unreachable". The incident now says what is wrong now, at that kind's level.
    active = ActiveIncident(3, "trunk_down", "I", recovered=True)
    decision = joined(FaultSignal("drop_cluster", "PJSIP/carrier-east", 9.0, CLUSTER), active)
    assert decision.relapsed and not decision.escalated
    assert decision.heading == Heading(
        "drop_cluster", "II", "3 drops in 10 minutes on PJSIP/carrier-east"
    )


def test_recovered_marks_the_active_incident_once() -> None:
    signal = FaultSignal("recovered", "PJSIP/2001", 12.0)
    active = ActiveIncident(5, "trunk_down", "I", recovered=False)
    already = ActiveIncident(5, "trunk_down", "I", recovered=True)

    assert decide(signal, trunks=TRUNKS, levels=LEVELS, active=active) == MarkRecovered(5, 12.0)
    assert decide(signal, trunks=TRUNKS, levels=LEVELS, active=already) is None


# -- the workflow ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "move", "after"),
    [
        ("open", "acknowledge", "acknowledged"),
        ("open", "resolve", "resolved"),
        ("acknowledged", "progress", "acknowledged"),
        ("acknowledged", "resolve", "resolved"),
        ("resolved", "review", "reviewed"),
    ],
)
def test_the_procedures_moves(status: str, move: str, after: str) -> None:
    assert next_status(status, move) == after


@pytest.mark.parametrize(
    ("status", "move", "allowed"),
    [
        ("open", "review", ("acknowledge", "resolve")),
        ("open", "progress", ("acknowledge", "resolve")),
        ("acknowledged", "acknowledge", ("progress", "resolve")),
        ("resolved", "resolve", ("review",)),
        ("reviewed", "progress", ()),
    ],
)
def test_an_illegal_move_names_the_allowed_ones(
    status: str, move: str, allowed: tuple[str, ...]
) -> None:
    with pytest.raises(IllegalMove) as refused:
        next_status(status, move)
    assert refused.value.allowed == allowed == allowed_moves(status)
    assert move in str(refused.value)


# -- reminders ------------------------------------------------------------------------------

PERIOD = 15 * 60.0


@dataclass
class Row:
    level: str = "I"
    status: str = "open"
    opened_at: float = 1000.0
    acknowledged_at: float | None = None
    last_progress_at: float | None = None
    reminded_at: float | None = None


def test_a_level_i_incident_nobody_acknowledged_is_due_after_the_period() -> None:
    assert not reminder_due(Row(), 1000.0 + PERIOD - 1, PERIOD)
    assert reminder_due(Row(), 1000.0 + PERIOD, PERIOD)


def test_acknowledgement_and_progress_restart_the_period() -> None:
    acknowledged = Row(status="acknowledged", acknowledged_at=1500.0)
    progressed = Row(status="acknowledged", acknowledged_at=1500.0, last_progress_at=2000.0)
    assert not reminder_due(acknowledged, 1500.0 + PERIOD - 1, PERIOD)
    assert reminder_due(acknowledged, 1500.0 + PERIOD, PERIOD)
    assert not reminder_due(progressed, 1500.0 + PERIOD, PERIOD)


@pytest.mark.parametrize(
    "row", [Row(level="III"), Row(level="IV"), Row(status="resolved"), Row(status="reviewed")]
)
def test_lower_levels_and_resolved_incidents_are_never_reminded(row: Row) -> None:
    assert not reminder_due(row, 1e9, PERIOD)


def test_one_reminder_per_period() -> None:
    due_at = 1000.0 + PERIOD
    assert should_remind(Row(), due_at, PERIOD)
    assert not should_remind(Row(reminded_at=due_at), due_at + 60, PERIOD)
    assert should_remind(Row(reminded_at=due_at), due_at + PERIOD, PERIOD)
