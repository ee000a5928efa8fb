"""Line-fault signals from AMI: pure detection, no I/O, time passed in.

Sources of signals:
- ContactStatus / PeerStatus: a phone or trunk stops answering qualify (Unreachable), loses
  its registration (ContactStatus Removed), and comes back (Reachable);
- Registry: an outbound registration to a carrier is rejected or fails;
- finished calls: a leg the channel driver hung up (media timeout), a fault cause on the leg
  that ended the call, and clusters of drops on one trunk: a drop is counted where the customer
  came in (the call's trunk), never also at the agent's phone, which only carried the call;
- RTCPSent / RTCPReceived: poor media on a channel (loss, jitter, round trip, MES), once per
  channel: the first report over a threshold says it; the rest of the call would repeat it.

A location's state only changes on a new signal, so the two events Asterisk sends for one
fault (PeerStatus and ContactStatus) make one signal, not two.

The watch also keeps each endpoint's line status (reachable, unreachable, unregistered,
unknown; the qualify round trip; when the state last changed) for the IT board. ContactStatus
only comes on a change, so the service re-reads the PBX's contact listing after each login
and reconciles the table with it (``reconcile_contacts``), as the tracker does with channels.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from telephony.calls.causes import is_fault
from telephony.calls.model import AmiHeaders, CallEnded, Outcome
from telephony.calls.trunks import endpoint_of
from telephony.lines.contacts import ContactReading

UNREACHABLE = "unreachable"
UNREGISTERED = "unregistered"
RECOVERED = "recovered"
REGISTRATION_REJECTED = "registration_rejected"
REGISTRATION_FAILED = "registration_failed"
MEDIA_TIMEOUT = "media_timeout"
NETWORK_CAUSE = "network_cause"
DROP_CLUSTER = "drop_cluster"
POOR_MEDIA = "poor_media"

# A line's state on the IT board.
REACHABLE = "reachable"
UNKNOWN = "unknown"
_CONTACT_STATES = {
    "Reachable": REACHABLE,
    "Unreachable": UNREACHABLE,
    "Removed": UNREGISTERED,
    "Unknown": UNKNOWN,
}
_PEER_STATES = {"Reachable": REACHABLE, "Unreachable": UNREACHABLE, "Unregistered": UNREGISTERED}
# RTCP's interarrival jitter is in RTP timestamp units: 8 per millisecond for the 8 kHz
# codecs a call centre's trunks carry (ulaw, alaw, G.729).
RTP_UNITS_PER_MS = 8.0
MAX_REPORT_BLOCKS = 31  # RTCP's report count is 5 bits
MAX_WATCHED_CHANNELS = 100_000  # channels whose media was already judged; hangups free them

FAULT_STATES = {UNREACHABLE, UNREGISTERED, REGISTRATION_REJECTED, REGISTRATION_FAILED}


@dataclass(frozen=True, slots=True)
class FaultSignal:
    fault: str
    location: str
    at: float | None
    detail: int | str | None = None

    def contract(self) -> dict[str, object]:
        return {
            "fault": self.fault,
            "location": self.location,
            "at": self.at,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class WatchRules:
    """Thresholds; the service fills them from settings."""

    drop_cluster_size: int = 3  # this many dropped calls on one trunk...
    drop_cluster_window: float = 600.0  # ...within this many seconds is a cluster
    # Poor media: any one measure over its threshold.
    max_loss_percent: float = 5.0
    max_jitter_ms: float = 60.0
    max_rtt_ms: float = 500.0
    min_mes: float = 60.0  # Asterisk's media experience score, 0-100


@dataclass(frozen=True, slots=True)
class LineStatus:
    """One endpoint as the IT board shows it."""

    endpoint: str
    state: str  # reachable, unreachable, unregistered, unknown
    roundtrip_ms: float | None
    last_change_at: float | None  # when the state last changed


@dataclass(frozen=True, slots=True)
class MediaReport:
    """The worst of one RTCP report's measures; None where the report does not say."""

    loss_percent: float | None = None
    jitter_ms: float | None = None
    rtt_ms: float | None = None
    mes: float | None = None

    def over(self, rules: WatchRules) -> bool:
        return (
            _above(self.loss_percent, rules.max_loss_percent)
            or _above(self.jitter_ms, rules.max_jitter_ms)
            or _above(self.rtt_ms, rules.max_rtt_ms)
            or (self.mes is not None and self.mes < rules.min_mes)
        )

    def describe(self) -> str:
        """In words for the IT board: ``loss 12.5%, jitter 80 ms, MES 45``."""
        parts = []
        if self.loss_percent is not None:
            parts.append(f"loss {self.loss_percent:.1f}%")
        if self.jitter_ms is not None:
            parts.append(f"jitter {self.jitter_ms:.0f} ms")
        if self.rtt_ms is not None:
            parts.append(f"RTT {self.rtt_ms:.0f} ms")
        if self.mes is not None:
            parts.append(f"MES {self.mes:g}")
        return ", ".join(parts)


Handler = Callable[[AmiHeaders, float | None], list[FaultSignal]]


class LineWatch:
    def __init__(self, rules: WatchRules | None = None) -> None:
        self.rules = rules or WatchRules()
        self._state: dict[str, str] = {}  # location -> current fault state; absent when fine
        self._drops: dict[str, deque[float]] = {}
        self._clustered: set[str] = set()
        self._media_judged: set[str] = set()  # channels already signalled for poor media
        self._lines: dict[str, LineStatus] = {}
        self._line_changes: dict[str, LineStatus] = {}  # not yet taken by the service
        self._line_events = 0  # ContactStatus/PeerStatus events that touched the table
        self._touched: dict[str, int] = {}  # endpoint -> the event count when it was touched
        self._handlers: dict[str, Handler] = {
            "ContactStatus": self._on_contact_status,
            "PeerStatus": self._on_peer_status,
            "Registry": self._on_registry,
            "RTCPSent": self._on_rtcp,
            "RTCPReceived": self._on_rtcp,
            "Hangup": self._on_hangup,
        }

    @property
    def faulted(self) -> dict[str, str]:
        """Locations in a fault state now, with that state."""
        return dict(self._state)

    @property
    def lines(self) -> dict[str, LineStatus]:
        """Every endpoint seen, with its line status."""
        return dict(self._lines)

    @property
    def line_events(self) -> int:
        """A mark to take before asking the PBX for its contacts (see reconcile_contacts)."""
        return self._line_events

    def take_line_changes(self) -> list[LineStatus]:
        """Line statuses changed since the last call: what the IT board must be told."""
        changes, self._line_changes = list(self._line_changes.values()), {}
        return changes

    def reconcile_contacts(
        self,
        readings: Mapping[str, ContactReading],
        at: float | None,
        *,
        asked_at_mark: int | None = None,
        unread: Iterable[str] = (),
    ) -> list[FaultSignal]:
        """Bring the table in line with the PBX's contact listing (PJSIPShowContacts, and
        the static contacts of PJSIPShowEndpoint).

        A fault that began or cleared while nobody listened is signalled now; a PJSIP
        endpoint seen before and missing from the listing has no contact: it is unregistered.
        ``asked_at_mark`` is ``line_events`` when the listing was asked for: an endpoint an
        event touched since then is newer than the listing and is left as the event says.
        ``unread`` endpoints have a contact whose status the PBX did not say: left as known.
        """
        signals: list[FaultSignal] = []
        mark = self._line_events if asked_at_mark is None else asked_at_mark
        newer = {e for e, touched in self._touched.items() if touched > mark}
        newer.update(unread)
        for endpoint, reading in readings.items():
            if endpoint in newer:
                continue
            state = _CONTACT_STATES.get(reading.status, UNKNOWN)
            self._set_line(endpoint, state, at, reading.roundtrip_ms)
            if state == UNREACHABLE:
                signals += self._enter(endpoint, UNREACHABLE, at, None)
            elif state == REACHABLE:
                signals += self._recover(endpoint, at)
        for endpoint, line in list(self._lines.items()):
            listed = endpoint in readings or endpoint in newer
            gone = endpoint.startswith("PJSIP/") and not listed
            if gone and line.state != UNREGISTERED:
                self._set_line(endpoint, UNREGISTERED, at, None)
                signals += self._enter(endpoint, UNREGISTERED, at, None)
        return signals

    def handles(self, event_name: str) -> bool:
        return event_name in self._handlers

    def feed(self, event: AmiHeaders, at: float | None) -> list[FaultSignal]:
        handler = self._handlers.get(event.get("Event", ""))
        return handler(event, at) if handler else []

    def call_ended(self, ended: CallEnded) -> list[FaultSignal]:
        """Faults a finished call reveals: media timeouts, fault causes, drop clusters.

        A drop counts towards its trunk's cluster only: the trunk is what carries every
        customer, and an agent whose calls were cut on it did nothing wrong. A call with no
        customer leg (internal, a line check) has no trunk and counts nowhere.
        """
        at = ended.at
        signals = [
            FaultSignal(MEDIA_TIMEOUT, leg.endpoint, at, leg.hangup_cause)
            for leg in ended.legs
            if leg.driver_hangup
        ]
        signals += [
            FaultSignal(NETWORK_CAUSE, leg.endpoint, at, leg.hangup_cause)
            for leg in ended.legs
            if leg.decisive and is_fault(leg.hangup_cause) and not leg.driver_hangup
        ]
        trunk = ended.trunk
        if ended.record.outcome is Outcome.DROPPED and at is not None and trunk is not None:
            signals += self._count_drop(trunk, at)
        return signals

    def _count_drop(self, location: str, at: float) -> list[FaultSignal]:
        window = self._drops.setdefault(location, deque())
        window.append(at)
        while window and window[0] < at - self.rules.drop_cluster_window:
            window.popleft()
        if len(window) < self.rules.drop_cluster_size:
            self._clustered.discard(location)
            if not window:
                del self._drops[location]
            return []
        if location in self._clustered:
            return []
        self._clustered.add(location)
        # What is true of these drops: so many within the window. Not "in a row": completed
        # calls may have come between them.
        said = f"{len(window)} drops in {span(self.rules.drop_cluster_window)}"
        return [FaultSignal(DROP_CLUSTER, location, at, said)]

    def _on_contact_status(self, event: AmiHeaders, at: float | None) -> list[FaultSignal]:
        endpoint = event.get("EndpointName") or event.get("AOR")
        if not endpoint:
            return []
        status = event.get("ContactStatus", "")
        location = f"PJSIP/{endpoint}"
        self._follow_line(location, _CONTACT_STATES.get(status), at, _roundtrip_ms(event))
        if status == "Unreachable":
            return self._enter(location, UNREACHABLE, at, None)
        if status == "Removed":
            return self._enter(location, UNREGISTERED, at, None)
        if status == "Reachable":
            return self._recover(location, at)
        return []

    def _on_peer_status(self, event: AmiHeaders, at: float | None) -> list[FaultSignal]:
        location = event.get("Peer")
        status = event.get("PeerStatus", "")
        if not location:
            return []
        self._follow_line(location, _PEER_STATES.get(status), at, None)
        if status == "Unreachable":
            return self._enter(location, UNREACHABLE, at, None)
        if status == "Reachable":
            return self._recover(location, at)
        return []

    def _on_registry(self, event: AmiHeaders, at: float | None) -> list[FaultSignal]:
        server = event.get("Domain") or event.get("Username")
        if not server:
            return []
        location = f"{event.get('ChannelType', 'PJSIP').upper()}/{server}"
        status = event.get("Status", "")
        cause = event.get("Cause") or None
        if status == "Rejected":
            return self._enter(location, REGISTRATION_REJECTED, at, cause)
        if status == "Failed":
            return self._enter(location, REGISTRATION_FAILED, at, cause)
        if status == "Registered":
            return self._recover(location, at)
        return []

    def _enter(
        self, location: str, state: str, at: float | None, detail: str | None
    ) -> list[FaultSignal]:
        if self._state.get(location) == state:
            return []
        self._state[location] = state
        return [FaultSignal(state, location, at, detail)]

    def _recover(self, location: str, at: float | None) -> list[FaultSignal]:
        if self._state.pop(location, None) in FAULT_STATES:
            return [FaultSignal(RECOVERED, location, at)]
        return []

    def _on_rtcp(self, event: AmiHeaders, at: float | None) -> list[FaultSignal]:
        channel = event.get("Channel")
        if not channel:
            return []
        key = event.get("Uniqueid") or channel
        if key in self._media_judged:
            return []
        report = media_report(event)
        if not report.over(self.rules):
            return []
        if len(self._media_judged) >= MAX_WATCHED_CHANNELS:
            self._media_judged.clear()  # hangups were missed (a gap); never grow without end
        self._media_judged.add(key)
        return [FaultSignal(POOR_MEDIA, endpoint_of(channel), at, report.describe())]

    def _on_hangup(self, event: AmiHeaders, at: float | None) -> list[FaultSignal]:
        self._media_judged.discard(event.get("Uniqueid") or event.get("Channel", ""))
        return []

    def _follow_line(
        self, endpoint: str, state: str | None, at: float | None, roundtrip_ms: float | None
    ) -> None:
        """A ContactStatus/PeerStatus seen. None is a status that only says the endpoint has
        a contact (Created, Updated, NonQualified, Registered): the state stays, unless the
        endpoint was unregistered or new, when it is registered but of unknown reach."""
        self._line_events += 1
        self._touched[endpoint] = self._line_events
        known = self._lines.get(endpoint)
        if state is None:
            state = UNKNOWN if known is None or known.state == UNREGISTERED else known.state
        if state != REACHABLE:
            roundtrip_ms = None
        elif roundtrip_ms is None and known is not None:
            roundtrip_ms = known.roundtrip_ms  # PeerStatus carries no round trip
        self._set_line(endpoint, state, at, roundtrip_ms)

    def _set_line(
        self, endpoint: str, state: str, at: float | None, roundtrip_ms: float | None
    ) -> None:
        known = self._lines.get(endpoint)
        changed_at = at if known is None or known.state != state else known.last_change_at
        line = LineStatus(endpoint, state, roundtrip_ms, changed_at)
        if line != known:
            self._lines[endpoint] = line
            self._line_changes[endpoint] = line


def media_report(event: AmiHeaders) -> MediaReport:
    """The worst measures of an RTCPSent/RTCPReceived event; unreadable values are left out.

    FractionLost is a fraction of 256; IAJitter is in RTP timestamp units; RTT (only on
    RTCPReceived) is in seconds; MES 0 is no measurement yet.
    """
    losses: list[float] = []
    jitters: list[float] = []
    count = _number(event.get("ReportCount")) or 0
    for index in range(min(int(count), MAX_REPORT_BLOCKS)):
        lost = _number(event.get(f"Report{index}FractionLost"))
        if lost is not None and 0 <= lost <= 255:
            losses.append(lost * 100 / 256)
        units = _number(event.get(f"Report{index}IAJitter"))
        if units is not None and units >= 0:
            jitters.append(units / RTP_UNITS_PER_MS)
    rtt = _number(event.get("RTT"))
    mes = _number(event.get("MES"))
    return MediaReport(
        loss_percent=max(losses, default=None),
        jitter_ms=max(jitters, default=None),
        rtt_ms=rtt * 1000 if rtt is not None and rtt >= 0 else None,
        mes=mes if mes is not None and 0 < mes <= 100 else None,
    )


def span(seconds: float) -> str:
    """A window in words: ``10 minutes``, ``1 hour``, ``90 seconds``."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def _number(text: str | None) -> float | None:
    """PBX input: a number, or None for anything else (never raises)."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _roundtrip_ms(event: AmiHeaders) -> float | None:
    usec = _number(event.get("RoundtripUsec"))
    return usec / 1000 if usec is not None and usec > 0 else None


def _above(value: float | None, limit: float) -> bool:
    return value is not None and value > limit
