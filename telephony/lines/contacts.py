"""PJSIP contacts as the PBX lists them (PJSIPShowContacts): is a phone registered, does it
answer qualify, how far away is it. The agent's shift-start check reads this.

Pure: takes the listing's events as plain dicts. A phone that is not registered has no
contact, so it is simply absent from the listing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

REACHABLE = "Reachable"


@dataclass(frozen=True, slots=True)
class ContactReading:
    endpoint: str  # as the rest of callassist names it: PJSIP/1001
    status: str  # Reachable, Unreachable, Unknown, NonQualified, ...
    roundtrip_ms: float | None

    @property
    def reachable(self) -> bool:
        return self.status == REACHABLE


def read_contacts(events: Iterable[Mapping[str, str]]) -> dict[str, ContactReading]:
    """The listing by endpoint; of several contacts of one endpoint, a reachable one wins."""
    readings: dict[str, ContactReading] = {}
    for event in events:
        if event.get("Event") != "ContactList" or not event.get("Endpoint"):
            continue
        reading = ContactReading(
            f"PJSIP/{event['Endpoint']}", event.get("Status", "Unknown"), _ms(event)
        )
        known = readings.get(reading.endpoint)
        if known is None or (reading.reachable and not known.reachable):
            readings[reading.endpoint] = reading
    return readings


def _ms(event: Mapping[str, str]) -> float | None:
    """RoundtripUsec in milliseconds; Asterisk sends N/A or 0 before the first qualify."""
    try:
        usec = float(event.get("RoundtripUsec", ""))
    except ValueError:
        return None
    return usec / 1000 if usec > 0 else None
