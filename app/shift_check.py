"""The shift-start check's PBX side: ask Asterisk for the agent's phone contact.

The question goes over the AMI link (PJSIPShowContacts) rather than from the line watch's
memory, because ContactStatus events only come on a change: a phone registered before the
service started has never been seen, and the check must tell the truth at login.
"""

from __future__ import annotations

from app.services.shift_checks import Equipment
from telephony.ami.actions import pjsip_show_contacts
from telephony.ami.link import AmiError, AmiLink
from telephony.lines.contacts import read_contacts

ANSWER_WITHIN = 5.0


async def read_equipment(link: AmiLink | None, endpoint: str | None) -> Equipment:
    if link is None:
        return Equipment(None, None, None, None, link_up=False, link_status="not configured")
    status = str(link.snapshot().status)
    up = status == "connected"
    if not up or endpoint is None:
        return Equipment(None, None, None, None, link_up=up, link_status=status)
    try:
        replies = await link.send(pjsip_show_contacts(), answer_within=ANSWER_WITHIN, as_list=True)
    except AmiError:
        return Equipment(None, None, None, None, link_up=up, link_status=status)
    listing = [dict(reply.items()) for reply in replies]
    if not listing or listing[0].get("Response") != "Success":
        return Equipment(None, None, None, None, link_up=up, link_status=status)
    contacts = read_contacts(listing)
    contact = contacts.get(endpoint)
    if contact is None:
        return Equipment(False, False, None, None, link_up=up, link_status=status)
    return Equipment(
        True, contact.reachable, contact.status, contact.roundtrip_ms, link_up=up,
        link_status=status,
    )
