"""PJSIPShowEndpoints and PJSIPShowEndpoint as Asterisk 22 answers them (res_pjsip's
pjsip_configuration.c and location.c).

DeviceStateList (res_manager_devicestate.c) is here too: the endpoints' device states.

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

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from telephony.simulator import messages
from telephony.simulator.contacts import (
    AVAILABLE,
    QUALIFY_FREQUENCY,
    QUALIFY_TIMEOUT,
    Contact,
    ContactTable,
)
from telephony.simulator.messages import Action, Field, error, header

if TYPE_CHECKING:
    from telephony.simulator.session import AmiSession

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


# ast_state_chan2dev (main/devicestate.c): a channel's state as its device's, by number.
_CHANNEL_TO_DEVICE = {"5": "RINGING", "7": "BUSY", "9": "RINGING"}


def device_states(
    table: ContactTable, channels: Iterable[Mapping[str, str]]
) -> list[tuple[str, str]]:
    """DeviceStateList's rows for the PJSIP endpoints: (``PJSIP/<id>``, ast_devstate_str).

    chan_pjsip_devicestate: ``UNAVAILABLE`` while no contact of the endpoint is available
    (none registered, or none answers qualify), ``NOT_INUSE`` once one is; the endpoint's
    channels, if any, decide instead (``INUSE``, ``RINGING``...). Asterisk lists only the
    device state *cache*: an endpoint is in it once its state was published, i.e. once it
    went online or had a channel. One offline since Asterisk started is not listed.
    """
    busy: dict[str, set[str]] = {}
    for channel in channels:
        name = channel.get("Channel", "")
        if name.startswith("PJSIP/"):
            device = name.rpartition("-")[0] or name
            state = _CHANNEL_TO_DEVICE.get(channel.get("ChannelState", ""), "INUSE")
            busy.setdefault(device, set()).add(state)
    rows: list[tuple[str, str]] = []
    for name in sorted(set(table.published) | {d.removeprefix("PJSIP/") for d in busy}):
        device = f"PJSIP/{name}"
        states = busy.get(device)
        if states:
            rows.append((device, _aggregate(states)))
        else:
            online = any(c.status in AVAILABLE for c in table.of(name))
            rows.append((device, "NOT_INUSE" if online else "UNAVAILABLE"))
    return rows


def _aggregate(states: set[str]) -> str:
    """ast_devstate_aggregate_result, for the states a channel can give."""
    if "RINGING" in states:
        return "RINGINUSE" if states - {"RINGING"} else "RINGING"
    return "INUSE" if "INUSE" in states else "BUSY"


def device_state(contacts: list[Contact]) -> str:
    """ast_devstate2str of the endpoint's state: Unavailable with no contact that answers."""
    return "Not in use" if any(c.status in AVAILABLE for c in contacts) else "Unavailable"


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
