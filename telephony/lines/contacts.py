"""PJSIP contacts as the PBX lists them (PJSIPShowContacts): is a phone registered, does it
answer qualify, how far away is it. The agent's shift-start check reads this.

Pure: takes the listing's events as plain dicts. A phone that is not registered has no
contact, so it is simply absent from the listing. So is a static contact (a trunk's
``contact =`` in its AOR): PJSIPShowContacts lists only the contacts a REGISTER made.
PJSIPShowEndpoints names every endpoint with its contacts, static ones too, and
PJSIPShowEndpoint gives each of an endpoint's contacts with its qualify status
(ContactStatusDetail): that is how a trunk's state is learnt without waiting for a change.
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


# Asterisk answers an empty listing with an error, not with an empty list.
NO_CONTACTS = "No Contacts found"
NO_ENDPOINTS = "No endpoints found"
# The events that describe one contact, and the header naming its endpoint.
_CONTACT_EVENTS = {"ContactList": "Endpoint", "ContactStatusDetail": "EndpointName"}


def read_contacts(events: Iterable[Mapping[str, str]]) -> dict[str, ContactReading]:
    """The listing by endpoint; of several contacts of one endpoint, a reachable one wins.

    Reads PJSIPShowContacts' ContactList events and PJSIPShowEndpoint's ContactStatusDetail
    events alike: both say a contact's Status and RoundtripUsec.
    """
    readings: dict[str, ContactReading] = {}
    for event in events:
        endpoint = event.get(_CONTACT_EVENTS.get(event.get("Event", ""), ""), "")
        if not endpoint:
            continue
        reading = ContactReading(f"PJSIP/{endpoint}", event.get("Status", "Unknown"), _ms(event))
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


def endpoints_with_contacts(events: Iterable[Mapping[str, str]]) -> list[str]:
    """Endpoint ids that PJSIPShowEndpoints shows with at least one contact, in its order.

    ``Contacts`` holds ``aor/uri,`` per contact (one such header per AOR); an endpoint with
    none has it empty.
    """
    found: list[str] = []
    for event in events:
        name = event.get("ObjectName", "")
        if event.get("Event") != "EndpointList" or not name:
            continue
        contacts = event.get("Contacts", "").replace("\n", ",").split(",")
        if any(contact.strip() for contact in contacts) and name not in found:
            found.append(name)
    return found
