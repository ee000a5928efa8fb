"""PJSIPShowEndpoints and PJSIPShowEndpoint as Asterisk 22 answers them (res_pjsip's
pjsip_configuration.c and location.c).

These list what PJSIPShowContacts leaves out: an endpoint's static contact (a trunk's
``contact =``). EndpointList names each endpoint with ``Contacts: <aor>/<uri>,`` per
contact; PJSIPShowEndpoint's ContactStatusDetail gives each contact's qualify status, with
``Status: Unknown`` and ``RoundtripUsec: N/A`` until it answered a qualify.

Fields follow Asterisk's order. EndpointDetail and AorDetail carry only the fields a
client of this simulator could need (Asterisk writes every sorcery field of the object);
ActiveChannels is empty, as Asterisk 22 writes it (its active_channels_to_str returns early
whenever the endpoint has a snapshot).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telephony.simulator import messages
from telephony.simulator.contacts import QUALIFY_FREQUENCY, QUALIFY_TIMEOUT, Contact
from telephony.simulator.messages import Action, Field, error, header

if TYPE_CHECKING:
    from telephony.simulator.session import AmiSession

# Contact statuses under which Asterisk offers calls to the endpoint (its device state is not
# Unavailable): a qualified, answering contact, or one that is not qualified at all.
_AVAILABLE = frozenset({"Reachable", "NonQualified"})
_TRANSPORT = "transport-udp"


async def show_endpoints(session: AmiSession, action: Action) -> bool:
    """Every endpoint, one EndpointList event each (ami_show_endpoints)."""
    table = session.server.contacts
    names = table.endpoints
    if not names:
        session.send(error(action, "No endpoints found"))
        return True
    rows = [
        messages.list_item("EndpointList", action, _list_fields(name, table.of(name)))
        for name in names
    ]
    intro = "A listing of Endpoints follows, presented as EndpointList events"
    session.send(messages.event_list(action, intro, "EndpointListComplete", rows))
    return True


async def show_endpoint(session: AmiSession, action: Action) -> bool:
    """One endpoint: its EndpointDetail, its AOR, each contact's ContactStatusDetail."""
    wanted = header(action, "Endpoint")
    if not wanted:
        session.send(error(action, "PJSIPShowEndpoint requires an endpoint name"))
        return True
    name = wanted[6:] if wanted.lower().startswith("pjsip/") else wanted
    table = session.server.contacts
    if name not in table.endpoints:
        session.send(error(action, f"Unable to retrieve endpoint {name}"))
        return True
    contacts = table.of(name)
    rows = [
        messages.list_item("EndpointDetail", action, _detail_fields(name, contacts)),
        messages.list_item("AorDetail", action, _aor_fields(name, contacts)),
        *(
            messages.list_item("ContactStatusDetail", action, contact_status_fields(c))
            for c in contacts
        ),
    ]
    intro = "Following are Events for each object associated with the Endpoint"
    session.send(messages.event_list(action, intro, "EndpointDetailComplete", rows))
    return True


def device_state(contacts: list[Contact]) -> str:
    """ast_devstate2str of the endpoint's state: Unavailable with no contact that answers."""
    return "Not in use" if any(c.status in _AVAILABLE for c in contacts) else "Unavailable"


def contact_status_fields(contact: Contact) -> list[Field]:
    """ast_sip_format_contact_ami: ViaAddress and CallID only when the contact has them (a
    static contact has neither); RoundtripUsec N/A unless the contact is Reachable."""
    via_addr, via_port = contact.via
    optional: list[Field] = []
    if not contact.static:
        optional = [("ViaAddress", f"{via_addr}:{via_port}"), ("CallID", contact.call_id)]
    rtt = str(contact.roundtrip_usec) if contact.status == "Reachable" else "N/A"
    return [
        ("AOR", contact.aor_name),
        ("URI", contact.uri),
        ("UserAgent", contact.user_agent),
        ("RegExpire", str(contact.expiration_time)),
        *optional,
        ("Status", contact.status),
        ("RoundtripUsec", rtt),
        ("EndpointName", contact.endpoint),
        ("ID", contact.object_name),
        ("AuthenticateQualify", "0"),
        ("OutboundProxy", ""),
        ("Path", ""),
        ("QualifyFrequency", str(QUALIFY_FREQUENCY)),
        ("QualifyTimeout", f"{QUALIFY_TIMEOUT:.3f}"),
    ]


def _aor(name: str, contacts: list[Contact]) -> str:
    return contacts[0].aor_name if contacts else name


def _list_fields(name: str, contacts: list[Contact]) -> list[Field]:
    static = any(c.static for c in contacts)
    return [
        ("ObjectType", "endpoint"),
        ("ObjectName", name),
        ("Transport", _TRANSPORT),
        ("Aor", _aor(name, contacts)),
        ("Auths", "" if static else f"{name}-auth"),
        ("OutboundAuths", ""),
        ("Contacts", "".join(f"{c.aor_name}/{c.uri}," for c in contacts)),
        ("DeviceState", device_state(contacts)),
        ("ActiveChannels", ""),
    ]


def _detail_fields(name: str, contacts: list[Contact]) -> list[Field]:
    return [
        ("ObjectType", "endpoint"),
        ("ObjectName", name),
        ("Aors", _aor(name, contacts)),
        ("Transport", _TRANSPORT),
        ("DeviceState", device_state(contacts)),
        ("ActiveChannels", ""),
    ]


def _aor_fields(name: str, contacts: list[Contact]) -> list[Field]:
    static = [c.uri for c in contacts if c.static]
    return [
        ("ObjectType", "aor"),
        ("ObjectName", _aor(name, contacts)),
        ("Contact", ",".join(static)),
        ("QualifyFrequency", str(QUALIFY_FREQUENCY)),
        ("QualifyTimeout", f"{QUALIFY_TIMEOUT:f}"),
        ("TotalContacts", str(len(contacts))),
        ("ContactsRegistered", str(len(contacts) - len(static))),
        ("EndpointName", name),
        ("Contacts", "".join(f"{c.aor_name}/{c.uri}," for c in contacts)),
    ]
