"""The simulator's PJSIP contacts: which agent phones are registered, and how they qualify.

An agent's shift-start check asks the PBX (``PJSIPShowContacts``) whether the agent's phone
is registered and answering qualify; the line watcher follows ``ContactStatus`` events. Both
must tell the same story, so the table is kept the way the channel table is: from the
``ContactStatus`` events the server emits (a played capture's, a test's, ``set_contact``'s),
and ``PJSIPShowContacts`` answers from it. A phone that is not registered has no contact at
all: the listing simply lacks it, as Asterisk's does.

Contacts look like the lab's (shared/ami/MANIFEST.md): one dynamic contact per endpoint, AOR
named as the endpoint, ``sip:<ext>@127.0.0.1:<port>``, qualified every 5 s with a 2 s timeout.

A trunk has a static contact instead (``add_static``: the shipped carrier's AOR
``carrier-aor`` with ``contact = sip:<host:port>``, as in lab2_h): it qualifies and sends
ContactStatus like any other, but PJSIPShowContacts does not list it, as Asterisk's does not
(only sorcery-stored contacts, the ones a REGISTER made, are listed there). The endpoints'
listings (PJSIPShowEndpoints, PJSIPShowEndpoint; telephony/simulator/endpoints.py) show both.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from telephony.simulator.messages import Field

# What a contact's status can be set to; a ContactStatus event may also say Created, Updated
# or Removed (the last one takes the contact away).
STATUSES = ("Reachable", "Unreachable", "Unknown", "NonQualified")
REMOVED = "Removed"
# Contact statuses under which Asterisk offers calls to the endpoint (its device state is not
# Unavailable): a qualified, answering contact, or one that is not qualified at all.
AVAILABLE = frozenset({"Reachable", "NonQualified"})
# What the lab's phones measured when healthy (line_fault_unreachable.ami: 751 us).
DEFAULT_ROUNDTRIP_USEC = 751
LAB_HOST = "127.0.0.1"
FIRST_PORT = 5071  # the lab's phones: 1001 on 5071, 1002 on 5072 (the capture's contact)
QUALIFY_FREQUENCY = 5
QUALIFY_TIMEOUT = 2.0
DEFAULT_EXPIRATION = 3600  # seconds a registration lasts (Asterisk's default_expiration)
_TECH = "PJSIP/"


@dataclass(frozen=True, slots=True)
class Contact:
    endpoint: str  # the endpoint id, e.g. "1001" (the AOR has the same name)
    uri: str
    status: str
    roundtrip_usec: int
    expiration_time: int  # epoch seconds
    call_id: str
    user_agent: str = ""
    aor: str = ""  # the AOR's name when it is not the endpoint's (a trunk's carrier-aor)
    static: bool = False  # configured in the AOR (``contact =``), not made by a REGISTER

    @property
    def aor_name(self) -> str:
        return self.aor or self.endpoint

    @property
    def object_name(self) -> str:
        """``<aor>;@<hash>`` for a contact a REGISTER made, ``<aor>@@<hash>`` for a static
        one: how Asterisk names them."""
        digest = hashlib.md5(self.uri.encode("utf-8"), usedforsecurity=False).hexdigest()
        return f"{self.aor_name}{'@@' if self.static else ';@'}{digest}"

    @property
    def via(self) -> tuple[str, str]:
        """(address, port) the REGISTER came from: the URI's host and port on the lab LAN."""
        host_port = self.uri.partition("@")[2].partition(";")[0]
        host, _, port = host_port.rpartition(":")
        return (host, port) if host else (host_port, "")


def endpoint_id(endpoint: str) -> str:
    """``PJSIP/1001`` or ``1001`` -> ``1001``; contacts only exist for PJSIP endpoints."""
    if "/" in endpoint and not endpoint.startswith(_TECH):
        raise ValueError(f"only PJSIP endpoints have contacts, not {endpoint!r}")
    ident = endpoint.removeprefix(_TECH)
    if not ident or any(c in ident for c in ",/@ ;"):
        raise ValueError(f"a PJSIP endpoint looks like PJSIP/1001 or 1001, not {endpoint!r}")
    return ident


def check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"contact status must be one of {', '.join(STATUSES)}, not {status!r}")


def default_roundtrip(status: str) -> int:
    """Asterisk reports 0 us for a contact that did not answer its last qualify."""
    return DEFAULT_ROUNDTRIP_USEC if status == "Reachable" else 0


class ContactTable:
    """Endpoint id -> its contact. Times come in (``now``, epoch seconds); no clock here."""

    def __init__(self) -> None:
        self._contacts: dict[str, Contact] = {}
        self._static: dict[str, Contact] = {}  # endpoint id -> its static contact
        self._ports: dict[str, int] = {}  # an endpoint keeps its port across registrations
        self._next_port = itertools.count(FIRST_PORT)
        self._call_ids = itertools.count(1)
        # Endpoints whose device state Asterisk published: each went online at some point
        # (pjsip_configuration.c publishes on a change, and an endpoint starts offline).
        self.published: set[str] = set()

    def __iter__(self) -> Iterator[Contact]:
        """The contacts REGISTERs made, in endpoint order, as PJSIPShowContacts lists them
        (its contacts are sorted by id); static contacts are not among them."""
        return iter(sorted(self._contacts.values(), key=lambda c: c.object_name))

    def __len__(self) -> int:
        return len(self._contacts)

    def get(self, endpoint: str) -> Contact | None:
        ident = endpoint_id(endpoint)
        return self._contacts.get(ident) or self._static.get(ident)

    @property
    def endpoints(self) -> list[str]:
        """Every endpoint id the PBX knows: those that ever registered, and the trunks."""
        return sorted(set(self._ports) | set(self._static))

    def of(self, endpoint: str) -> list[Contact]:
        """The endpoint's contacts, static and registered."""
        ident = endpoint_id(endpoint)
        found = [self._static.get(ident), self._contacts.get(ident)]
        return [contact for contact in found if contact is not None]

    def add_static(
        self, endpoint: str, uri: str, *, aor: str | None = None, status: str = "Reachable"
    ) -> Contact:
        """Configure a trunk's static contact (no event: it was there before anyone looked).
        ``aor`` defaults to ``<endpoint>-aor``, as the shipped pjsip.conf names the carrier's."""
        check_status(status)
        ident = endpoint_id(endpoint)
        contact = Contact(
            endpoint=ident,
            uri=uri,
            status=status,
            roundtrip_usec=default_roundtrip(status),
            expiration_time=0,
            call_id="",
            aor=aor or f"{ident}-aor",
            static=True,
        )
        self._store(contact)
        return contact

    def fresh(self, endpoint: str, *, now: float) -> Contact:
        """The contact a new REGISTER from this endpoint would create (not stored)."""
        ident = endpoint_id(endpoint)
        port = self._ports.setdefault(ident, next(self._next_port))
        return Contact(
            endpoint=ident,
            uri=f"sip:{ident}@{LAB_HOST}:{port}",
            status="NonQualified",
            roundtrip_usec=0,
            expiration_time=int(now) + DEFAULT_EXPIRATION,
            call_id=f"{next(self._call_ids)}-{port}@{LAB_HOST}",
        )

    def register(
        self,
        endpoint: str,
        *,
        status: str = "Reachable",
        roundtrip_usec: int | None = None,
        now: float,
    ) -> Contact:
        """Store a contact without any event: a phone registered before anyone looked."""
        check_status(status)
        current = self.get(endpoint) or self.fresh(endpoint, now=now)
        rtt = default_roundtrip(status) if roundtrip_usec is None else roundtrip_usec
        contact = replace(current, status=status, roundtrip_usec=rtt)
        self._store(contact)
        return contact

    def remove(self, endpoint: str) -> Contact | None:
        """Take a registered contact away; a static one stays (it is configuration)."""
        return self._contacts.pop(endpoint_id(endpoint), None)

    def _store(self, contact: Contact) -> None:
        (self._static if contact.static else self._contacts)[contact.endpoint] = contact
        if contact.status in AVAILABLE:
            self.published.add(contact.endpoint)

    def observe(self, headers: Mapping[str, str], now: float) -> None:
        """Follow one emitted event: a ContactStatus changes, creates or removes a contact."""
        if headers.get("Event") != "ContactStatus":
            return
        name = headers.get("EndpointName") or headers.get("AOR") or ""
        status = headers.get("ContactStatus", "")
        try:
            ident = endpoint_id(name)
        except ValueError:
            return  # not an endpoint this table can hold; the PBX's business, not ours
        if status == REMOVED:
            self._contacts.pop(ident, None)
            return
        current = self.get(ident) or self.fresh(ident, now=now)
        uri = headers.get("URI") or current.uri
        rtt = _usec(headers.get("RoundtripUsec", ""), current.roundtrip_usec)
        known = status if status in STATUSES else current.status  # Created/Updated: no change
        self._store(replace(current, uri=uri, status=known, roundtrip_usec=rtt))


def contact_status_event(contact: Contact, status: str, roundtrip_usec: int) -> dict[str, str]:
    """A ContactStatus event as Asterisk 22 sends it (line_fault_unreachable.ami)."""
    return {
        "Event": "ContactStatus",
        "Privilege": "system,all",
        "URI": contact.uri,
        "ContactStatus": status,
        "AOR": contact.aor_name,
        "EndpointName": contact.endpoint,
        "RoundtripUsec": str(roundtrip_usec),
    }


def contact_list_fields(contact: Contact) -> list[Field]:
    """One ContactList event's fields after Event/ActionID, in Asterisk 22's order: the
    contact object's fields as sorcery lists them, then Status and RoundtripUsec (``N/A``
    while the contact's status is Unknown, as res_pjsip writes it)."""
    via_addr, via_port = contact.via
    roundtrip = "N/A" if contact.status == "Unknown" else str(contact.roundtrip_usec)
    return [
        ("ObjectType", "contact"),
        ("ObjectName", contact.object_name),
        ("ViaAddr", via_addr),
        ("QualifyTimeout", f"{QUALIFY_TIMEOUT:f}"),
        ("CallId", contact.call_id),
        ("RegServer", ""),
        ("PruneOnBoot", "false"),
        ("Path", ""),
        ("Endpoint", contact.endpoint),
        ("ViaPort", via_port),
        ("AuthenticateQualify", "false"),
        ("Uri", contact.uri),
        ("QualifyFrequency", str(QUALIFY_FREQUENCY)),
        ("UserAgent", contact.user_agent),
        ("ExpirationTime", str(contact.expiration_time)),
        ("OutboundProxy", ""),
        ("Status", contact.status),
        ("RoundtripUsec", roundtrip),
    ]


def _usec(text: str, default: int) -> int:
    """PBX input: a number, or anything else (``N/A``), which keeps what was known."""
    return int(text) if text.isdigit() else default
