"""What the PBX says of its lines after a login, read over the AMI link.

Two kinds of contact: the ones phones made by registering, which PJSIPShowContacts lists,
and static ones (a trunk's ``contact =`` in its AOR), which it does not. Those only the
endpoints show: PJSIPShowEndpoints names every endpoint with its contacts, and
PJSIPShowEndpoint gives each contact of one endpoint with its qualify status. Without them
a trunk would stay ``unknown`` on the IT board until its first ContactStatus change, and
one seen before a reconnect would read as unregistered after it.

All three need the write class ``system``, which the shipped AMI user does not have: with
it the user could also read the generated secrets (GetConfig), load modules, and run shell
commands (Originate of the System application). The shipped user reads DeviceStateList
(``reporting``) instead: each PJSIP endpoint, static contacts included, as available or not.
That loses the qualify round trip, and cannot tell an unregistered phone from one that stops
answering qualify (both read as unreachable, as Asterisk's PeerStatus words it); an endpoint
offline since Asterisk started is not in Asterisk's device state cache, so a known one reads
as unregistered. ContactStatus events, which need no action, still say each change as it
happens. ListCommands (no class needed) says which source the user may read, so no refused
action lands in Asterisk's security log at every login.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from telephony.ami.actions import (
    ActionHeaders,
    device_state_list,
    list_commands,
    pjsip_show_contacts,
    pjsip_show_endpoint,
    pjsip_show_endpoints,
)
from telephony.ami.errors import AmiError
from telephony.ami.replies import Reply
from telephony.lines.contacts import (
    NO_CONTACTS,
    NO_ENDPOINTS,
    ContactReading,
    endpoints_with_contacts,
    read_contacts,
    read_device_states,
)

LISTING_WITHIN = 5.0  # seconds for the PBX to answer each action
MAX_DETAILS = 50  # static-contact endpoints asked about one by one after a login
log = logging.getLogger("callassist.pipeline")
_NOT_ACTIONS = ("Response", "ActionID", "Message")  # ListCommands' headers that name none


class Asker(Protocol):
    async def send(
        self, action: ActionHeaders, *, answer_within: float = 10.0, as_list: bool | None = None
    ) -> Reply: ...


@dataclass(frozen=True, slots=True)
class LineListing:
    readings: dict[str, ContactReading]  # by endpoint: PJSIP/carrier
    unread: frozenset[str] = field(default=frozenset())  # a contact, but no status came


async def list_lines(link: Asker) -> LineListing | None:
    """Every contact the PBX has, static ones too; None when it did not list its contacts
    (refused, or no answer): line states then stay as last seen."""
    permitted = await permitted_actions(link)
    if permitted is None or "pjsipshowcontacts" in permitted:
        listing = await _from_contacts(link)
        if listing is not None or permitted is not None:
            return listing
    if permitted is None or "devicestatelist" in permitted:
        return await _from_device_states(link)
    log.warning(
        "the AMI user may read neither DeviceStateList nor PJSIPShowContacts: "
        "line states stay as last seen until their next ContactStatus"
    )
    return None


async def permitted_actions(link: Asker) -> set[str] | None:
    """The actions the AMI user may send, lower case (ListCommands); None: no answer."""
    try:
        reply = await link.send(list_commands(), answer_within=LISTING_WITHIN, as_list=False)
    except AmiError:
        return None
    if reply.response != "Success":
        return None
    return {name.lower() for name in reply.headers if name not in _NOT_ACTIONS}


async def _from_device_states(link: Asker) -> LineListing | None:
    states = await _listed(link, device_state_list(), None)
    return None if states is None else LineListing(read_device_states(states))


async def _from_contacts(link: Asker) -> LineListing | None:
    contacts = await _listed(link, pjsip_show_contacts(), NO_CONTACTS)
    if contacts is None:
        return None
    readings = read_contacts(contacts)
    endpoints = await _listed(link, pjsip_show_endpoints(), NO_ENDPOINTS)
    if endpoints is None:
        return LineListing(readings)
    static = [e for e in endpoints_with_contacts(endpoints) if f"PJSIP/{e}" not in readings]
    unread = {f"PJSIP/{endpoint}" for endpoint in static[MAX_DETAILS:]}
    for endpoint in static[:MAX_DETAILS]:
        detail = await _listed(link, pjsip_show_endpoint(endpoint), None)
        reading = read_contacts(detail or ()).get(f"PJSIP/{endpoint}")
        if reading is None:
            unread.add(f"PJSIP/{endpoint}")
        else:
            readings[reading.endpoint] = reading
    return LineListing(readings, frozenset(unread))


async def _listed(
    link: Asker, action: dict[str, str], empty: str | None
) -> tuple[Mapping[str, str], ...] | None:
    """The listing's events; () when the PBX says it has nothing to list (``empty``, its
    error for that); None when it refused or did not answer."""
    name = action["Action"]
    try:
        # as_list None: the answer says whether a list follows (EventList: start). An error
        # comes alone, and waiting for a list after it would only run out the time.
        reply = await link.send(action, answer_within=LISTING_WITHIN, as_list=None)
    except AmiError as error:
        log.warning("%s not read: %s", name, error)
        return None
    if reply.response == "Success":
        return reply.events
    if empty is not None and reply.message.strip() == empty:
        return ()
    log.warning("the PBX refused %s (%s): line states stay as last seen", name, reply.message)
    return None
