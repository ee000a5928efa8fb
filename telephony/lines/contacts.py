"""PJSIP contacts as the PBX lists them (PJSIPShowContacts): is a phone registered, does it
answer qualify, how far away is it. The agent's shift-start check reads this.

Pure: takes the listing's events as plain dicts. A phone that is not registered has no
contact, so it is simply absent from the listing. So is a static contact (a trunk's
``contact =`` in its AOR): PJSIPShowContacts lists only the contacts a REGISTER made.
PJSIPShowEndpoints names every endpoint with its contacts, static ones too, and
PJSIPShowEndpoint gives each of an endpoint's contacts with its qualify status
(ContactStatusDetail): that is how a trunk's state is learnt without waiting for a change.

Those three need the AMI write class ``system``, which the shipped AMI user does not have
(it would also let the user read configs, load modules and run shell commands). What a
``reporting`` user can read is DeviceStateList: a PJSIP endpoint's device state, which
chan_pjsip derives from its contacts (UNAVAILABLE while none of them is available: none
registered, or none answers qualify). ``read_device_states`` turns that into readings the
way Asterisk's own PeerStatus words it (Reachable, Unreachable), without a round trip.
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


# ast_devstate_str's words (main/devicestate.c) that say nothing of the contacts.
_NO_DEVICE_STATE = frozenset({"UNKNOWN", "INVALID"})
_OFFLINE = "UNAVAILABLE"


def read_device_states(events: Iterable[Mapping[str, str]]) -> dict[str, ContactReading]:
    """DeviceStateList's DeviceStateChange events for PJSIP endpoints, as contact readings.

    ``UNAVAILABLE`` is an endpoint with no available contact (Asterisk's PeerStatus says
    ``Unreachable`` for it, registered or not); any state of use (``NOT_INUSE``, ``INUSE``,
    ``RINGING``, ...) means a contact is available: ``Reachable``. No round trip is known.
    """
    readings: dict[str, ContactReading] = {}
    for event in events:
        device, state = event.get("Device", ""), event.get("State", "").upper()
        if event.get("Event") != "DeviceStateChange" or not device.startswith("PJSIP/"):
            continue
        if "/" in device[6:] or state in _NO_DEVICE_STATE or not state:
            continue
        status = "Unreachable" if state == _OFFLINE else REACHABLE
        readings[device] = ContactReading(device, status, None)
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
