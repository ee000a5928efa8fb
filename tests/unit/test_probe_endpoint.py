"""The line probe's own endpoint on the PBX (CALLASSIST_PROBE_USERNAME, `callassist-probe`
as shipped): neither a customer's line nor an agent's phone. Its contact lapsing after a
check opens no incident, and its calls are line checks; on the lab's recordings of two line
checks (lab2_g) and of the probe's registration expiring 120 s later (lab2_g2)."""

from __future__ import annotations

from app.incidents.rules import ActiveIncident, OpenIncident, decide
from app.settings import Settings
from telephony.calls.model import CallEnded
from telephony.calls.trunks import TrunkPlan
from telephony.capture import read_capture
from telephony.lines.watch import FaultSignal
from telephony.switchboard import Signal, Switchboard
from tests.conftest import CAPTURES, LAB_TRUNKS

PROBE = "PJSIP/callassist-probe"
PLAN = Settings(trunks=LAB_TRUNKS).trunk_plan  # the probe as shipped, the lab's trunk
LEVELS = Settings().incident_level_rules


def replayed(name: str, board: Switchboard) -> list[Signal]:
    signals: list[Signal] = []
    for message in read_capture(CAPTURES / f"{name}.ami"):
        signals += board.feed(message.headers, message.at)
    return signals


def test_the_probe_endpoint_is_the_probe_accounts_username() -> None:
    assert Settings().probe_endpoint == PROBE
    renamed = Settings(probe_username="linecheck-7").trunk_plan
    assert renamed.is_probe("PJSIP/linecheck-7") and not renamed.is_probe(PROBE)
    assert PLAN.is_probe(PROBE)
    assert not PLAN.is_probe("PJSIP/1001") and not PLAN.is_trunk(PROBE)
    assert TrunkPlan.parse(LAB_TRUNKS).probes == frozenset()  # replay knows no probe


def test_the_probes_registration_lapsing_opens_no_incident() -> None:
    faults = [
        s
        for s in replayed("lab2_g2_probe_registration_expires", Switchboard(PLAN))
        if isinstance(s, FaultSignal)
    ]

    # The watch reports what the PBX said (the replay contract lists both)...
    assert [(f.fault, f.location) for f in faults] == [
        ("unreachable", PROBE),
        ("unregistered", PROBE),
    ]
    # ...and no incident comes of it: not a device fault, nothing to join.
    for fault in faults:
        assert decide(fault, trunks=PLAN, levels=LEVELS, active=None) is None
        stray = ActiveIncident(1, "device_fault", "IV", recovered=False)
        assert decide(fault, trunks=PLAN, levels=LEVELS, active=stray) is None


def test_the_same_lapse_on_an_agents_phone_is_still_a_device_fault() -> None:
    lapse = FaultSignal("unregistered", "PJSIP/1001", 1.0)
    decision = decide(lapse, trunks=PLAN, levels=LEVELS, active=None)
    assert isinstance(decision, OpenIncident) and decision.kind == "device_fault"


def test_the_probes_calls_are_line_checks_and_a_customers_call_is_not() -> None:
    board = Switchboard(PLAN)
    checks = [
        s for s in replayed("lab2_g_linecheck_probe_call", board) if isinstance(s, CallEnded)
    ]
    calls = [
        s for s in replayed("normal_inbound_caller_hangup", board) if isinstance(s, CallEnded)
    ]

    assert len(checks) == 2 and all(board.is_line_check(check) for check in checks)
    assert len(calls) == 1 and not board.is_line_check(calls[0])
