"""The shift-start check's PBX side: ask Asterisk for the agent's phone contact.

The question goes over the AMI link (PJSIPShowContacts) rather than from the line watch's
memory, because ContactStatus events only come on a change: a phone registered before the
service started has never been seen, and the check must tell the truth at login.
"""

from __future__ import annotations

import dataclasses

from app.live.no_pbx import PbxLink, pbx_configured
from app.shift_checks.store import Equipment
from telephony.ami.actions import pjsip_show_contacts
from telephony.ami.link import AmiError
from telephony.lines.contacts import read_contacts

ANSWER_WITHIN = 5.0


async def read_equipment(link: PbxLink, endpoint: str | None) -> Equipment:
    if not pbx_configured(link):
        return Equipment(link_up=False, link_status="not configured")
    status = str(link.snapshot().status)
    unknown = Equipment(link_up=status == "connected", link_status=status)
    if not unknown.link_up or endpoint is None:
        return unknown
    try:
        reply = await link.send(pjsip_show_contacts(), answer_within=ANSWER_WITHIN, as_list=True)
    except AmiError:
        return unknown
    if reply.response != "Success":
        return unknown
    contact = read_contacts(reply.events).get(endpoint)
    if contact is None:  # not registered: a phone with no contact is not in the listing
        return dataclasses.replace(unknown, registered=False, reachable=False)
    return dataclasses.replace(
        unknown,
        registered=True,
        reachable=contact.reachable,
        contact_status=contact.status,
        contact_roundtrip_ms=contact.roundtrip_ms,
    )
