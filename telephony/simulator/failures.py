"""Callbacks that do not get through, cut from the recorded answered callback.

The lab recorded one Originate, answered at both ends (``originate_callback``). A callback
desk also has to cope with the agent not picking up and with the customer's line failing, and
those were not recorded; here they are derived from the recording, so every header block is
still the one Asterisk 22 sent for that channel at that moment. What Asterisk 22 does in each
case, and so what is emitted:

The agent's phone rings out (the Originate's ``Timeout``, 30 s by default). The core dialler
(main/dial.c ``handle_timeout_trip``) hangs the ringing channel up itself, with cause 19 since
Asterisk 22.8 (asterisk/asterisk#1660), and publishes no DialEnd; no HangupRequest either,
since the far end asked for nothing. ``fast_originate`` then reports ``Response: Failure``
with ``Reason: 3`` (the channel was ringing), the requested ``Channel`` (there is no channel
any more) and the action's ``ChannelId`` as ``Uniqueid``. No customer leg is ever made.

The customer's line fails with cause N (a carrier's final response to the INVITE: 486, 603,
503 ...). chan_pjsip queues a hangup with cause N (``HangupRequest``, ``TechCause`` the SIP
code); app_dial reads it, copies N to the agent's channel and publishes ``DialEnd`` with
``ast_hangup_cause_to_dial_status(N)``: 17 BUSY, 34 CONGESTION, 3/20 CHANUNAVAIL, anything
else NOANSWER. Dial's own ``DIALSTATUS`` counts causes differently (``handle_cause``): 17
BUSY, 34 CONGESTION, 16/19 leave it at NOANSWER, anything else is CHANUNAVAIL (so a rejected
call, 21, ends DialEnd NOANSWER and DIALSTATUS CHANUNAVAIL). The agent's dialplan then runs
``Hangup()``, which keeps cause N, exactly as the lab's ``direct_agent_busy`` capture shows for
a Dial that failed: SoftHangupRequest 16, the dialled leg's Hangup, two Cdr records (the Dial
and the Hangup application), the caller's Hangup with the same cause and TechCause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from telephony.calls.causes import CAUSES, CauseSource
from telephony.calls.trunks import endpoint_of
from telephony.simulator.channels import SNAPSHOT_FIELDS
from telephony.simulator.templates import PlayedEvent

NO_ANSWER = 19  # AST_CAUSE_NO_ANSWER, what a ring-out hangs the agent's channel up with
RINGING_REASON = "3"  # OriginateResponse Reason: AST_CONTROL_RINGING, the phone rang out
DEFAULT_RING_SECONDS = 30.0  # action_originate's default Timeout (30000 ms)
APPLICATION_HANGUP = "16"  # SoftHangupRequest Cause of the Hangup() application
STEP = 0.001  # between events Asterisk sends in one burst, as in the recordings

# Causes for which the customer's phone rings before the line gives up, and for how long.
RINGING_CAUSES: Mapping[int, float] = {19: 20.0, 21: 4.0}
# How long the others take to fail: a busy signal or an unreachable network answer at once.
QUIET_FAILURE_SECONDS: Mapping[int, float] = {17: 0.6, 18: 6.0}
DEFAULT_FAILURE_SECONDS = 0.3
# The SIP final response chan_pjsip turns into each cause (the inverse of its
# hangup_sip2cause); a cause with none came as a carrier's 503 with a Q.850 Reason header.
SIP_RESPONSE: Mapping[int, str] = {
    1: "404",
    3: "420",
    17: "486",
    18: "408",
    19: "480",
    20: "480",
    21: "603",
    22: "410",
    27: "502",
    28: "484",
    29: "501",
    34: "503",
    41: "409",
    58: "488",
    102: "504",
}
DEFAULT_SIP_RESPONSE = "503"
CDR_TIME = "%Y-%m-%d %H:%M:%S"
_CDR_DISPOSITION = {"BUSY": "BUSY", "NOANSWER": "NO ANSWER"}  # anything else: FAILED


def check_customer_cause(cause: int) -> None:
    """A cause a customer leg that was never answered can end with."""
    if cause not in CAUSES or cause in (0, 16):
        raise ValueError(
            f"customer_cause must be a Q.850 cause a failed call ends with (17 busy, 19 no "
            f"answer, 21 rejected, 34/38/41/42/44 network ...), not {cause}"
        )


def dial_end_status(cause: int) -> str:
    """DialEnd's DialStatus for a dialled channel that hung up with ``cause``
    (main/dial.c ``ast_hangup_cause_to_dial_status``)."""
    if cause == 17:
        return "BUSY"
    if cause == 34:
        return "CONGESTION"
    if cause in (3, 20):
        return "CHANUNAVAIL"
    return "NOANSWER"


def dial_status(cause: int) -> str:
    """The DIALSTATUS app_dial leaves for a single destination that failed with ``cause``."""
    if cause == 17:
        return "BUSY"
    if cause == 34:
        return "CONGESTION"
    if cause in (16, 19):
        return "NOANSWER"
    return "CHANUNAVAIL"


def failure_seconds(cause: int) -> float:
    """How long after the customer is dialled the line gives up with ``cause``."""
    if cause in RINGING_CAUSES:
        return RINGING_CAUSES[cause]
    if cause in QUIET_FAILURE_SECONDS:
        return QUIET_FAILURE_SECONDS[cause]
    if CAUSES[cause].source is CauseSource.PERSON:
        return 1.0
    return DEFAULT_FAILURE_SECONDS


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What the answered callback offers to build the failures from."""

    events: Sequence[PlayedEvent]
    agent: str  # the agent channel's Uniqueid (the Originate's ChannelId, the Linkedid)

    def index(self, name: str, **headers: str) -> int:
        for position, event in enumerate(self.events):
            if event.headers.get("Event") == name and all(
                event.headers.get(key) == value for key, value in headers.items()
            ):
                return position
        raise ValueError(f"the recorded callback holds no {name} {headers}")

    def last(self, name: str, **headers: str) -> dict[str, str]:
        for event in reversed(self.events):
            if event.headers.get("Event") == name and all(
                event.headers.get(key) == value for key, value in headers.items()
            ):
                return dict(event.headers)
        raise ValueError(f"the recorded callback holds no {name} {headers}")

    @property
    def agent_endpoint(self) -> str:
        return endpoint_of(
            self.events[self.index("Newchannel", Uniqueid=self.agent)].headers["Channel"]
        )

    @property
    def customer(self) -> str:
        for event in self.events:
            headers = event.headers
            if headers.get("Event") == "Newchannel" and headers.get("Uniqueid") != self.agent:
                return headers["Uniqueid"]
        raise ValueError("the recorded callback holds no customer leg")

    def answered_at(self, uniqueid: str) -> int:
        """Position of the Newstate that answers the channel."""
        return self.index("Newstate", Uniqueid=uniqueid, ChannelState="6")


def agent_not_answering(
    events: Sequence[PlayedEvent],
    *,
    agent: str,
    requested: str,
    channel_id: str,
    ring_seconds: float,
) -> list[PlayedEvent]:
    """The callback when the agent's phone rings for ``ring_seconds`` and nobody answers.

    ``agent`` is the agent channel's Uniqueid; the failed OriginateResponse names no channel
    (it is gone) but the action's ``Channel`` (``requested``) and ``ChannelId``.
    """
    recorded = _Recorded(events, agent)
    ringing = list(events[: recorded.answered_at(agent)])
    dialled = events[recorded.index("DialBegin", DestUniqueid=agent)].offset
    at = dialled + ring_seconds
    snapshot = _snapshot(_last_about(ringing, agent))
    endpoint = recorded.agent_endpoint
    response = recorded.last("OriginateResponse")
    response.update(
        Response="Failure", Channel=requested, Reason=RINGING_REASON, Uniqueid=channel_id
    )
    return [
        *ringing,
        PlayedEvent(at, _hangup(snapshot, NO_ANSWER)),
        PlayedEvent(at + STEP, _device_state(recorded, endpoint)),
        PlayedEvent(at + STEP, _member_status(recorded, endpoint)),
        PlayedEvent(at + 2 * STEP, response),
    ]


def customer_leg_failing(
    events: Sequence[PlayedEvent], *, agent: str, cause: int
) -> list[PlayedEvent]:
    """The callback when the agent answers and the customer's line fails with ``cause``."""
    check_customer_cause(cause)
    recorded = _Recorded(events, agent)
    customer = recorded.customer
    dial = recorded.index("DialBegin", DestUniqueid=customer)
    kept = list(events[: dial + 1])
    if cause in RINGING_CAUSES:
        kept += events[dial + 1 : recorded.answered_at(customer)]
    at = events[dial].offset + failure_seconds(cause)
    tail = _dial_failed(recorded, kept, cause, seconds=at - events[0].offset)
    return [*kept, *(PlayedEvent(at + steps * STEP, headers) for steps, headers in tail)]


def _dial_failed(
    recorded: _Recorded, kept: Sequence[PlayedEvent], cause: int, *, seconds: float
) -> list[tuple[int, dict[str, str]]]:
    """From the far end's final response to the agent's channel gone, each event with how
    many STEPs after the response it comes (the order of ``direct_agent_busy``)."""
    customer = recorded.customer
    trunk = endpoint_of(recorded.last("Newchannel", Uniqueid=customer)["Channel"])
    endpoint = recorded.agent_endpoint
    far_end = _snapshot(_last_about(kept, customer))
    caller = _snapshot(_last_about(kept, recorded.agent))
    hung_up = {**caller, "Priority": str(int(caller.get("Priority") or "0") + 1)}
    sip = SIP_RESPONSE.get(cause, DEFAULT_SIP_RESPONSE)
    status = dial_status(cause)
    tail = [
        (0, _channel_event("HangupRequest", far_end, Cause=str(cause), TechCause=sip)),
        (1, _dial_end(caller, far_end, dial_end_status(cause))),
        (1, _channel_event("VarSet", caller, "dialplan,all", Variable="DIALSTATUS", Value=status)),
        (1, _hangup_application(recorded, hung_up)),
        (2, _channel_event("SoftHangupRequest", hung_up, Cause=APPLICATION_HANGUP)),
        (2, _hangup(far_end, cause, sip)),
    ]
    if cause in RINGING_CAUSES:  # the trunk's device state went RINGING: it comes back
        tail.append((3, _device_state(recorded, trunk)))
    tail += [(3, cdr) for cdr in _cdrs(recorded, customer, seconds, status)]
    return [
        *tail,
        (3, _hangup(hung_up, cause, sip)),
        (4, _device_state(recorded, endpoint)),
        (4, _member_status(recorded, endpoint)),
    ]


# -- header blocks ----------------------------------------------------------------------------


def _last_about(events: Sequence[PlayedEvent], uniqueid: str) -> dict[str, str]:
    """The newest event carrying the channel's own snapshot block."""
    for event in reversed(events):
        if event.headers.get("Uniqueid") == uniqueid and "ChannelState" in event.headers:
            return event.headers
    raise ValueError(f"no event about channel {uniqueid}")


def _snapshot(headers: Mapping[str, str]) -> dict[str, str]:
    return {key: headers[key] for key in SNAPSHOT_FIELDS if key in headers}


def _channel_event(
    name: str, snapshot: Mapping[str, str], privilege: str = "call,all", **extra: str
) -> dict[str, str]:
    return {"Event": name, "Privilege": privilege, **snapshot, **extra}


def _hangup(
    snapshot: Mapping[str, str], cause: int, tech_cause: str | None = None
) -> dict[str, str]:
    headers = _channel_event(
        "Hangup", snapshot, Cause=str(cause), **{"Cause-txt": CAUSES[cause].text}
    )
    if tech_cause is not None:
        headers["TechCause"] = tech_cause
    return headers


def _dial_end(caller: Mapping[str, str], dialled: Mapping[str, str], status: str) -> dict[str, str]:
    dest = {f"Dest{key}": value for key, value in dialled.items()}
    return {"Event": "DialEnd", "Privilege": "call,all", **caller, **dest, "DialStatus": status}


def _hangup_application(recorded: _Recorded, snapshot: Mapping[str, str]) -> dict[str, str]:
    """The agent's dialplan goes on to ``Hangup()`` once Dial fails."""
    dial = recorded.last("Newexten", Uniqueid=recorded.agent, Application="Dial")
    return _channel_event(
        "Newexten",
        snapshot,
        "dialplan,all",
        Extension=dial.get("Extension", snapshot.get("Exten", "")),
        Application="Hangup",
        AppData="",
    )


def _device_state(recorded: _Recorded, device: str) -> dict[str, str]:
    return {**recorded.last("DeviceStateChange", Device=device), "State": "NOT_INUSE"}


def _member_status(recorded: _Recorded, interface: str) -> dict[str, str]:
    """The agent is free again: QueueMemberStatus Status 1 (AST_DEVICE_NOT_INUSE)."""
    return {**recorded.last("QueueMemberStatus", Interface=interface), "Status": "1"}


def _cdrs(recorded: _Recorded, customer: str, seconds: float, status: str) -> list[dict[str, str]]:
    """The Dial's record (the agent answered, the customer never did) and the Hangup
    application's, as Asterisk writes them for a Dial that failed."""
    cdr = recorded.last("Cdr")
    start = datetime.strptime(cdr["StartTime"], CDR_TIME)
    end = start + timedelta(seconds=seconds)
    answer = datetime.strptime(cdr["AnswerTime"], CDR_TIME) if cdr.get("AnswerTime") else None
    disposition = _CDR_DISPOSITION.get(status, "FAILED")
    dialled = {
        **cdr,
        "DestinationChannel": recorded.last("Newchannel", Uniqueid=customer)["Channel"],
        "EndTime": end.strftime(CDR_TIME),
        "Duration": str(int((end - start).total_seconds())),
        "BillableSeconds": str(int((end - answer).total_seconds())) if answer else "0",
        "Disposition": disposition,
    }
    application = {
        **cdr,
        "DestinationChannel": "",
        "LastApplication": "Hangup",
        "LastData": "",
        "StartTime": end.strftime(CDR_TIME),
        "AnswerTime": "",
        "EndTime": end.strftime(CDR_TIME),
        "Duration": "0",
        "BillableSeconds": "0",
        "Disposition": disposition,
    }
    return [dialled, application]
