"""The shift-start check's PBX side: ask Asterisk for the agent's phone contact.

The question goes over the AMI link (PJSIPShowContacts) rather than from the line watch's
memory, because ContactStatus events only come on a change: a phone registered before the
service started has never been seen, and the check must tell the truth at login.

The shipped AMI user has no write class ``system``, which PJSIPShowContacts needs; it reads
DeviceStateList (``reporting``) instead: the phone's device state, ``UNAVAILABLE`` while
it has no available contact ("Unavailable (not registered)", as main/devicestate.c words
it), with no round trip. A user that may send PJSIPShowContacts gets the full reading.
"""

from __future__ import annotations

import dataclasses

from app.live.listing import permitted_actions
from app.live.no_pbx import PbxLink, pbx_configured
from app.shift_checks.store import Equipment
from telephony.ami.actions import device_state_list, pjsip_show_contacts
from telephony.ami.link import AmiError
from telephony.lines.contacts import read_contacts, read_device_states

ANSWER_WITHIN = 5.0


async def read_equipment(link: PbxLink, endpoint: str | None) -> Equipment:
    if not pbx_configured(link):
        return Equipment(link_up=False, link_status="not configured")
    status = str(link.snapshot().status)
    unknown = Equipment(link_up=status == "connected", link_status=status)
    if not unknown.link_up or endpoint is None:
        return unknown
    permitted = await permitted_actions(link)
    by_state = permitted is not None and "pjsipshowcontacts" not in permitted
    action = device_state_list() if by_state else pjsip_show_contacts()
    try:
        reply = await link.send(action, answer_within=ANSWER_WITHIN, as_list=True)
    except AmiError:
        return unknown
    if reply.response != "Success":
        return unknown
    read = read_device_states if by_state else read_contacts
    contact = read(reply.events).get(endpoint)
    if by_state and contact is not None and not contact.reachable:
        contact = None  # UNAVAILABLE: no contact Asterisk could call
    if contact is None:  # not registered: a phone with no contact is not in the listing
        return dataclasses.replace(unknown, registered=False, reachable=False)
    return dataclasses.replace(
        unknown,
        registered=True,
        reachable=contact.reachable,
        contact_status=contact.status,
        contact_roundtrip_ms=contact.roundtrip_ms,
    )
