"""Which real capture each traffic scenario replays, and how often a centre sees each.

Every scenario is a recorded call from the lab (shared/ami/MANIFEST.md), so what the demo and
the integration tests play is what Asterisk 22 really sends; one is derived from a recording
(``queue_abandoned_all_busy``, see ``templates.without_agent_legs``), for the moment when no
agent is free.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from telephony.capture import read_capture
from telephony.simulator.templates import (
    CallTemplate,
    Party,
    build_template,
    call_traffic,
    first_call_id,
    one_call,
    without_agent_legs,
)

# Where the recorded streams live in a source checkout. The demo needs them at run time; a
# wheel would have to ship them as package data.
DEFAULT_CAPTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ami"

ORIGINATE = "originate_callback"  # what answers an Originate (see telephony.simulator.originate)
ALL_BUSY = "queue_abandoned_all_busy"


@dataclass(frozen=True, slots=True)
class Scenario:
    capture: str  # file stem in the captures directory
    first_call_only: bool = False  # the capture holds many calls; play its first
    no_agent_legs: bool = False  # derived: the agent legs removed
    customer: Party | None = None  # when the recorded caller ID is not the customer


SCENARIOS: Mapping[str, Scenario] = {
    "answered_customer_hangs_up": Scenario("normal_inbound_caller_hangup"),
    "answered_agent_hangs_up": Scenario("normal_inbound_agent_hangup"),
    "queue_answered": Scenario("queue_answered_agent_complete"),
    "queue_second_agent_answers": Scenario("queue_ringnoanswer_then_answer"),
    "queue_abandoned": Scenario("abandoned_in_queue"),
    ALL_BUSY: Scenario("abandoned_in_queue", no_agent_legs=True),
    "missed_customer_cancels": Scenario("direct_missed_cancel"),
    "agent_busy": Scenario("direct_agent_busy"),
    "dropped_media_timeout": Scenario("dropped_mid_call_network"),
    "dropped_network_cause": Scenario("dropped_mid_call_cause"),
    "agent_hangup_fault_cause": Scenario("agent_hangup_with_cause"),
    "transfer_and_hold": Scenario("transfer_and_hold"),
    "ivr_caller_hangs_up": Scenario("burst_load", first_call_only=True),
    "pbx_hangup_cause38": Scenario("pbx_hangup_cause38"),
    "agent_phone_unreachable": Scenario("line_fault_unreachable"),
    "agent_reregisters": Scenario("registration_unregister_reregister"),
    # The PBX dials the customer: the number is the DialString, the name the Originate's.
    ORIGINATE: Scenario(ORIGINATE, customer=("2001", "Callback 2001")),
}

# Weighted like a working centre: most calls answered and finished by a person, some through
# the queue, a few abandoned or missed, the odd drop, and rarely a phone dropping off the LAN.
DEFAULT_MIX: Mapping[str, float] = {
    "answered_customer_hangs_up": 30.0,
    "answered_agent_hangs_up": 15.0,
    "queue_answered": 15.0,
    "queue_second_agent_answers": 5.0,
    "transfer_and_hold": 5.0,
    "ivr_caller_hangs_up": 8.0,
    "queue_abandoned": 5.0,
    "missed_customer_cancels": 4.0,
    "agent_busy": 2.0,
    "dropped_media_timeout": 2.0,
    "dropped_network_cause": 2.0,
    "agent_hangup_fault_cause": 1.0,
    "pbx_hangup_cause38": 1.0,
    "agent_reregisters": 0.5,
    "agent_phone_unreachable": 0.5,
}


def load_template(name: str, captures: Path = DEFAULT_CAPTURES) -> CallTemplate:
    """The template of a scenario; read from disk once per process (blocking: call it from
    a thread in async code)."""
    if name not in SCENARIOS:
        raise KeyError(f"no scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    return _load(name, captures.resolve())


@functools.cache
def _load(name: str, captures: Path) -> CallTemplate:
    scenario = SCENARIOS[name]
    events = call_traffic(read_capture(captures / f"{scenario.capture}.ami"))
    if scenario.first_call_only:
        linkedid = first_call_id(events)
        if linkedid is None:
            raise ValueError(f"{name}: {scenario.capture} holds no call")
        events = one_call(events, linkedid)
    template = build_template(name, scenario.capture, events, customer=scenario.customer)
    return without_agent_legs(template, name) if scenario.no_agent_legs else template
