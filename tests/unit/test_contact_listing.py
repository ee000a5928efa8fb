"""A trunk's state at login: its static contact, which PJSIPShowContacts does not list, read
from PJSIPShowEndpoints and PJSIPShowEndpoint, and what the line table makes of it.

The events are shaped as Asterisk 22 writes them (res_pjsip's pjsip_configuration.c and
location.c), with the shipped carrier's names (endpoint ``carrier``, AOR ``carrier-aor``) and
its static contact as lab2_h's ContactStatus events show it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from app.live.listing import list_lines
from telephony.ami.actions import ActionHeaders
from telephony.ami.errors import ActionTimeout
from telephony.ami.replies import Reply
from telephony.lines.contacts import ContactReading, endpoints_with_contacts, read_contacts
from telephony.lines.watch import RECOVERED, UNREACHABLE, UNREGISTERED, LineWatch

CARRIER_URI = "sip:127.0.0.1:25090"


def endpoint_list(name: str, contacts: str, state: str) -> dict[str, str]:
    return {
        "Event": "EndpointList",
        "ObjectType": "endpoint",
        "ObjectName": name,
        "Transport": "transport-udp",
        "Aor": name,
        "Auths": "",
        "OutboundAuths": "",
        "Contacts": contacts,
        "DeviceState": state,
        "ActiveChannels": "",
    }


def contact_detail(status: str, rtt: str) -> dict[str, str]:
    """A static contact's ContactStatusDetail: no ViaAddress, no CallID."""
    return {
        "Event": "ContactStatusDetail",
        "AOR": "carrier-aor",
        "URI": CARRIER_URI,
        "UserAgent": "",
        "RegExpire": "0",
        "Status": status,
        "RoundtripUsec": rtt,
        "EndpointName": "carrier",
        "ID": "carrier-aor@@1b2c",
    }


ENDPOINTS = [
    endpoint_list("1001", "1001/sip:1001@127.0.0.1:5071,", "Not in use"),
    endpoint_list("1002", "", "Unavailable"),  # not registered: no contact at all
    endpoint_list("carrier", f"carrier-aor/{CARRIER_URI},", "Not in use"),
]
PHONE = {"Event": "ContactList", "Endpoint": "1001", "Status": "Reachable", "RoundtripUsec": "751"}


def test_the_endpoints_listing_names_those_with_a_contact_static_ones_too() -> None:
    assert endpoints_with_contacts(ENDPOINTS) == ["1001", "carrier"]


def test_a_static_contacts_detail_reads_like_a_listed_contact() -> None:
    reachable = read_contacts([{"Event": "EndpointDetail"}, contact_detail("Reachable", "714")])
    unqualified = read_contacts([contact_detail("Unknown", "N/A")])

    assert reachable == {"PJSIP/carrier": ContactReading("PJSIP/carrier", "Reachable", 0.714)}
    assert unqualified["PJSIP/carrier"].status == "Unknown"
    assert unqualified["PJSIP/carrier"].roundtrip_ms is None


class FakeAsterisk:
    """Answers the listing actions as Asterisk would; ``answers`` by action name."""

    def __init__(self, answers: Mapping[str, Reply]) -> None:
        self.answers = dict(answers)
        self.asked: list[ActionHeaders] = []

    async def send(
        self, action: ActionHeaders, *, answer_within: float = 10.0, as_list: bool | None = None
    ) -> Reply:
        self.asked.append(action)
        name = str(action["Action"])
        if name not in self.answers:
            raise ActionTimeout(f"{name}: no answer")
        return self.answers[name]


def listed(*events: Mapping[str, str]) -> Reply:
    return Reply.of([{"Response": "Success", "EventList": "start"}, *events])


def refused(message: str) -> Reply:
    return Reply.of([{"Response": "Error", "Message": message}])


def lines_of(pbx: FakeAsterisk) -> dict[str, ContactReading]:
    listing = asyncio.run(list_lines(pbx))
    assert listing is not None
    return listing.readings


def test_the_trunks_static_contact_is_read_from_its_endpoint() -> None:
    pbx = FakeAsterisk(
        {
            "PJSIPShowContacts": listed(PHONE),
            "PJSIPShowEndpoints": listed(*ENDPOINTS),
            "PJSIPShowEndpoint": listed(contact_detail("Reachable", "714")),
        }
    )
    readings = lines_of(pbx)

    assert readings["PJSIP/carrier"] == ContactReading("PJSIP/carrier", "Reachable", 0.714)
    assert readings["PJSIP/1001"].reachable
    assert "PJSIP/1002" not in readings  # no contact: unregistered, as before
    # Only the endpoint the contact listing left out is asked about, by its id.
    details = [a for a in pbx.asked if a["Action"] == "PJSIPShowEndpoint"]
    assert details == [{"Action": "PJSIPShowEndpoint", "Endpoint": "carrier"}]


def test_a_pbx_with_no_registered_phone_still_lists_its_trunk() -> None:
    # Asterisk answers PJSIPShowContacts with an error when it has nothing to list.
    pbx = FakeAsterisk(
        {
            "PJSIPShowContacts": refused("No Contacts found"),
            "PJSIPShowEndpoints": listed(ENDPOINTS[2]),
            "PJSIPShowEndpoint": listed(contact_detail("Unreachable", "0")),
        }
    )
    assert lines_of(pbx)["PJSIP/carrier"].status == "Unreachable"


def test_a_refused_contact_listing_changes_nothing() -> None:
    pbx = FakeAsterisk({"PJSIPShowContacts": refused("Permission denied")})
    assert asyncio.run(list_lines(pbx)) is None


def test_a_detail_that_never_came_leaves_the_trunk_as_it_was() -> None:
    pbx = FakeAsterisk(
        {"PJSIPShowContacts": listed(PHONE), "PJSIPShowEndpoints": listed(*ENDPOINTS)}
    )
    listing = asyncio.run(list_lines(pbx))
    assert listing is not None
    watch = LineWatch()
    watch.feed(
        {"Event": "ContactStatus", "EndpointName": "carrier", "ContactStatus": "Reachable"}, 1.0
    )

    signals = watch.reconcile_contacts(listing.readings, 2.0, unread=listing.unread)

    assert listing.unread == frozenset({"PJSIP/carrier"})
    assert signals == []
    assert watch.lines["PJSIP/carrier"].state == "reachable"  # not "unregistered"


@pytest.mark.parametrize(
    ("status", "state", "signal"),
    [("Reachable", "reachable", None), ("Unreachable", "unreachable", UNREACHABLE)],
)
def test_the_trunk_shows_its_true_state_right_after_login(
    status: str, state: str, signal: str | None
) -> None:
    watch = LineWatch()
    readings = read_contacts([PHONE, contact_detail(status, "714")])

    signals = watch.reconcile_contacts(readings, 5.0)

    assert watch.lines["PJSIP/carrier"].state == state
    assert [s.fault for s in signals if s.location == "PJSIP/carrier"] == (
        [signal] if signal else []
    )


def test_a_trunk_seen_before_a_reconnect_is_not_unregistered_by_it() -> None:
    # Before: PJSIPShowContacts alone, which lacks the static contact, made it "unregistered".
    watch = LineWatch()
    watch.feed(
        {"Event": "ContactStatus", "EndpointName": "carrier", "ContactStatus": "Unreachable"},
        1.0,
    )
    readings = read_contacts([PHONE, contact_detail("Reachable", "900")])

    signals = watch.reconcile_contacts(readings, 50.0)

    assert [(s.fault, s.location) for s in signals] == [(RECOVERED, "PJSIP/carrier")]
    assert UNREGISTERED not in {s.fault for s in signals}


# ------------------------------------------------------------ an AMI user without `system`
SHIPPED_COMMANDS = Reply.of(
    [
        {
            "Response": "Success",
            "Ping": "Keepalive command. (Priv: <none>)",
            "Originate": "Originate a call. (Priv: originate,all)",
            "DeviceStateList": "List the current known device states. (Priv: call,reporting,all)",
        }
    ]
)


def device(name: str, state: str) -> dict[str, str]:
    """res_manager_devicestate.c's rows: no Privilege header, Device and State only."""
    return {"Event": "DeviceStateChange", "Device": name, "State": state}


def test_a_user_without_system_reads_the_lines_from_device_states() -> None:
    pbx = FakeAsterisk(
        {
            "ListCommands": SHIPPED_COMMANDS,
            "DeviceStateList": listed(
                device("PJSIP/1001", "INUSE"),
                device("PJSIP/1002", "UNAVAILABLE"),
                device("PJSIP/carrier", "NOT_INUSE"),
                device("Queue:support_avail", "NOT_INUSE"),  # not a PJSIP endpoint
                device("PJSIP/9999", "INVALID"),
            ),
        }
    )
    readings = lines_of(pbx)

    assert readings == {
        "PJSIP/1001": ContactReading("PJSIP/1001", "Reachable", None),
        "PJSIP/1002": ContactReading("PJSIP/1002", "Unreachable", None),
        "PJSIP/carrier": ContactReading("PJSIP/carrier", "Reachable", None),
    }
    # No action the user may not send: each refusal is a security event in Asterisk's log.
    assert [a["Action"] for a in pbx.asked] == ["ListCommands", "DeviceStateList"]


def test_a_user_with_neither_source_leaves_the_lines_as_they_were() -> None:
    only_ping = Reply.of([{"Response": "Success", "Ping": "Keepalive command. (Priv: <none>)"}])
    pbx = FakeAsterisk({"ListCommands": only_ping})
    assert asyncio.run(list_lines(pbx)) is None
    assert [a["Action"] for a in pbx.asked] == ["ListCommands"]
