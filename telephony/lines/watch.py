"""Line-fault signals from AMI: pure detection, no I/O, time passed in.

Sources of signals:
- ContactStatus / PeerStatus: a phone or trunk stops answering qualify (Unreachable), loses
  its registration (ContactStatus Removed), and comes back (Reachable);
- Registry: an outbound registration to a carrier is rejected or fails;
- finished calls: a leg the channel driver hung up (media timeout), a fault cause on the leg
  that ended the call, and clusters of drops on one trunk or endpoint.

A location's state only changes on a new signal, so the two events Asterisk sends for one
fault (PeerStatus and ContactStatus) make one signal, not two.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from telephony.calls.causes import is_fault
from telephony.calls.model import AmiHeaders, CallEnded, Outcome

UNREACHABLE = "unreachable"
UNREGISTERED = "unregistered"
RECOVERED = "recovered"
REGISTRATION_REJECTED = "registration_rejected"
REGISTRATION_FAILED = "registration_failed"
MEDIA_TIMEOUT = "media_timeout"
NETWORK_CAUSE = "network_cause"
DROP_CLUSTER = "drop_cluster"

_FAULT_STATES = {UNREACHABLE, UNREGISTERED, REGISTRATION_REJECTED, REGISTRATION_FAILED}


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

    drop_cluster_size: int = 3  # this many dropped calls on one location...
    drop_cluster_window: float = 600.0  # ...within this many seconds is a cluster


Handler = Callable[[AmiHeaders, float | None], list[FaultSignal]]


class LineWatch:
    def __init__(self, rules: WatchRules | None = None) -> None:
        self.rules = rules or WatchRules()
        self._state: dict[str, str] = {}  # location -> current fault state; absent when fine
        self._drops: dict[str, deque[float]] = {}
        self._clustered: set[str] = set()
        self._handlers: dict[str, Handler] = {
            "ContactStatus": self._on_contact_status,
            "PeerStatus": self._on_peer_status,
            "Registry": self._on_registry,
        }

    @property
    def faulted(self) -> dict[str, str]:
        """Locations in a fault state now, with that state."""
        return dict(self._state)

    def handles(self, event_name: str) -> bool:
        return event_name in self._handlers

    def feed(self, event: AmiHeaders, at: float | None) -> list[FaultSignal]:
        handler = self._handlers.get(event.get("Event", ""))
        return handler(event, at) if handler else []

    def call_ended(self, ended: CallEnded) -> list[FaultSignal]:
        """Faults a finished call reveals: media timeouts, fault causes, drop clusters."""
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
        if ended.record.outcome is Outcome.DROPPED and at is not None:
            for endpoint in dict.fromkeys(leg.endpoint for leg in ended.legs):
                signals += self._count_drop(endpoint, at)
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
        return [FaultSignal(DROP_CLUSTER, location, at, len(window))]

    def _on_contact_status(self, event: AmiHeaders, at: float | None) -> list[FaultSignal]:
        endpoint = event.get("EndpointName") or event.get("AOR")
        if not endpoint:
            return []
        status = event.get("ContactStatus", "")
        location = f"PJSIP/{endpoint}"
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
        if self._state.pop(location, None) in _FAULT_STATES:
            return [FaultSignal(RECOVERED, location, at)]
        return []
