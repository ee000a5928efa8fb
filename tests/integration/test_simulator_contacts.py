"""The simulator's PJSIP contacts over real TCP, read by the service's own AMI link.

What an agent's shift-start check relies on: ``PJSIPShowContacts`` lists the registered
phones the way Asterisk 22 does, an unregistered phone is simply absent, a phone that stops
answering qualify is listed Unreachable, and every change goes out as a ``ContactStatus``
event shaped like the lab's (line_fault_unreachable.ami).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping

import pytest
import pytest_asyncio

from telephony.ami.link import AmiLink, LinkConfig, LinkEvent, LinkStatus
from telephony.simulator import AmiServer, Traffic
from tests.integration.event_client import EventClient
from tests.integration.test_ami_link import until

pytestmark = pytest.mark.asyncio
LIST_MESSAGE = (
    "A listing of Contacts follows, presentation of each contact will be sent as an event"
)
# Field names of a ContactList event, in Asterisk 22's order, after Event and ActionID.
CONTACT_LIST_FIELDS = [
    "ObjectType",
    "ObjectName",
    "ViaAddr",
    "QualifyTimeout",
    "CallId",
    "RegServer",
    "PruneOnBoot",
    "Path",
    "Endpoint",
    "ViaPort",
    "AuthenticateQualify",
    "Uri",
    "QualifyFrequency",
    "UserAgent",
    "ExpirationTime",
    "OutboundProxy",
    "Status",
    "RoundtripUsec",
]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[AmiServer]:
    pbx = AmiServer()
    await pbx.start()
    try:
        yield pbx
    finally:
        await pbx.close()


@pytest_asyncio.fixture
async def link(server: AmiServer) -> AsyncIterator[AmiLink]:
    config = LinkConfig(
        port=server.port, username="callassist", secret="secret", connect_timeout=1.0
    )
    ami = AmiLink(config, rng=lambda: 1.0)
    ami.start()
    try:
        await until(lambda: ami.state.status is LinkStatus.CONNECTED, "the link to log in")
        yield ami
    finally:
        ami.close()
        await ami.wait_closed()


async def show_contacts(link: AmiLink, action_id: str) -> list[dict[str, str]]:
    answer = await link.send(
        {"Action": "PJSIPShowContacts", "ActionID": action_id}, answer_within=3.0, as_list=True
    )
    return [dict(message) for message in answer.messages]


def by_endpoint(messages: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {m["Endpoint"]: m for m in messages if m.get("Event") == "ContactList"}


async def next_event(link: AmiLink, name: str, limit: float = 3.0) -> Mapping[str, str]:
    async with asyncio.timeout(limit):
        while True:
            item = await link.get()
            if isinstance(item, LinkEvent) and item.headers.get("Event") == name:
                return item.headers


async def test_the_listing_shows_registered_phones_their_status_and_not_the_others(
    server: AmiServer, link: AmiLink
) -> None:
    Traffic(server, agents=["PJSIP/1001", "PJSIP/1002"], rng=random.Random(1))
    await server.set_contact("PJSIP/1002", "Unreachable")

    messages = await show_contacts(link, "shift-check-7")

    response, *rows, complete = messages
    assert response["Response"] == "Success"
    assert response["EventList"] == "start"
    assert response["Message"] == LIST_MESSAGE
    assert all(m["ActionID"] == "shift-check-7" for m in messages)
    contacts = by_endpoint(rows)
    assert set(contacts) == {"1001", "1002"}  # PJSIP/1003 never registered: not listed
    assert contacts["1001"]["Status"] == "Reachable"
    assert int(contacts["1001"]["RoundtripUsec"]) > 0
    assert contacts["1002"]["Status"] == "Unreachable"
    assert contacts["1002"]["RoundtripUsec"] == "0"
    assert contacts["1002"]["Uri"] == "sip:1002@127.0.0.1:5072"  # the lab phone's contact
    assert contacts["1002"]["ObjectType"] == "contact"
    assert contacts["1002"]["ObjectName"].startswith("1002;@")
    assert complete["Event"] == "ContactListComplete"
    assert complete["EventList"] == "Complete"
    assert complete["ListItems"] == "2"


async def test_contact_list_events_carry_asterisks_fields_in_its_order(
    server: AmiServer,
) -> None:
    await server.set_contact("1003")
    client = EventClient(server)
    await client.connect()
    try:
        assert client._writer is not None
        client._writer.write(b"Action: PJSIPShowContacts\r\nActionID: order-1\r\n\r\n")
        await client.wait_for(
            lambda events: any(e["Event"] == "ContactListComplete" for e in events)
        )
    finally:
        await client.close()

    row = next(e for e in client.events if e["Event"] == "ContactList")
    assert list(row) == ["Event", "ActionID", *CONTACT_LIST_FIELDS]
    assert row["Endpoint"] == "1003"
    assert row["ViaAddr"] == "127.0.0.1"
    assert row["QualifyFrequency"] == "5"
    assert row["QualifyTimeout"] == "2.000000"
    assert int(row["ExpirationTime"]) > 1.7e9


async def test_with_no_phone_registered_the_listing_is_empty_and_complete(
    server: AmiServer, link: AmiLink
) -> None:
    messages = await show_contacts(link, "empty-1")

    assert [m.get("Event") for m in messages[1:]] == ["ContactListComplete"]
    assert messages[-1]["ListItems"] == "0"


async def test_a_change_goes_out_as_contact_status_and_a_removal_unlists_the_phone(
    server: AmiServer, link: AmiLink
) -> None:
    Traffic(server, agents=["PJSIP/1001", "PJSIP/1002"], rng=random.Random(1))

    await server.set_contact("PJSIP/1002", "Unreachable")
    unreachable = await next_event(link, "ContactStatus")
    await server.set_contact("PJSIP/1002", "Unreachable", roundtrip_usec=0)  # no change
    await server.set_contact("PJSIP/1002", "Reachable", roundtrip_usec=1583)
    reachable = await next_event(link, "ContactStatus")
    await server.remove_contact("PJSIP/1002")
    removed = await next_event(link, "ContactStatus")

    assert {k: v for k, v in unreachable.items() if k != "Timestamp"} == {
        "Event": "ContactStatus",
        "Privilege": "system,all",
        "URI": "sip:1002@127.0.0.1:5072",
        "ContactStatus": "Unreachable",
        "AOR": "1002",
        "EndpointName": "1002",
        "RoundtripUsec": "0",
    }
    assert (reachable["ContactStatus"], reachable["RoundtripUsec"]) == ("Reachable", "1583")
    assert (removed["ContactStatus"], removed["RoundtripUsec"]) == ("Removed", "0")
    assert set(by_endpoint(await show_contacts(link, "after-removal"))) == {"1001"}


async def test_a_new_registration_says_non_qualified_then_its_status(
    server: AmiServer, link: AmiLink
) -> None:
    await server.set_contact("PJSIP/1007", "Reachable")

    first = await next_event(link, "ContactStatus")
    second = await next_event(link, "ContactStatus")

    assert (first["ContactStatus"], second["ContactStatus"]) == ("NonQualified", "Reachable")
    assert by_endpoint(await show_contacts(link, "new-1"))["1007"]["Status"] == "Reachable"


async def test_a_played_line_fault_makes_the_agent_unreachable_in_the_listing_too(
    server: AmiServer, link: AmiLink
) -> None:
    traffic = Traffic(server, agents=["PJSIP/7101"], rng=random.Random(4), speed=40.0)

    playing = asyncio.create_task(
        traffic.place("agent_phone_unreachable", agents=["PJSIP/7101"])
    )
    fault = await next_event(link, "ContactStatus")
    during = by_endpoint(await show_contacts(link, "during-fault"))
    await asyncio.wait_for(playing, 5.0)
    after = by_endpoint(await show_contacts(link, "after-fault"))

    assert (fault["EndpointName"], fault["ContactStatus"]) == ("7101", "Unreachable")
    assert during["7101"]["Status"] == "Unreachable"
    assert after["7101"]["Status"] == "Reachable"
    assert after["7101"]["RoundtripUsec"] == "751"  # what the recorded qualify measured


async def test_contacts_are_refused_for_bad_endpoints_and_statuses(server: AmiServer) -> None:
    with pytest.raises(ValueError, match="contact status"):
        await server.set_contact("PJSIP/1001", "Busy")
    with pytest.raises(ValueError, match="only PJSIP"):
        await server.set_contact("SIP/1001")
    assert len(server.contacts) == 0


# ------------------------------------------------------------------ a trunk's static contact
CARRIER_URI = "sip:127.0.0.1:25090"  # the carrier's contact in lab2_h
ENDPOINT_LIST_FIELDS = [
    "ObjectType",
    "ObjectName",
    "Transport",
    "Aor",
    "Auths",
    "OutboundAuths",
    "Contacts",
    "DeviceState",
    "ActiveChannels",
]


async def ask(link: AmiLink, action: dict[str, str]) -> list[dict[str, str]]:
    answer = await link.send(action, answer_within=3.0)  # an error comes alone
    return [dict(message) for message in answer.messages]


async def test_a_static_contact_is_not_among_the_contacts_but_in_the_endpoints(
    server: AmiServer, link: AmiLink
) -> None:
    Traffic(server, agents=["PJSIP/1001"], rng=random.Random(1))
    server.contacts.add_static("PJSIP/carrier", CARRIER_URI)

    contacts = by_endpoint(await show_contacts(link, "c-1"))
    response, *rows, complete = await ask(
        link, {"Action": "PJSIPShowEndpoints", "ActionID": "e-1"}
    )

    assert set(contacts) == {"1001"}  # as Asterisk: only what a REGISTER made
    assert response["Message"] == (
        "A listing of Endpoints follows, presented as EndpointList events"
    )
    assert [list(row)[2:] for row in rows] == [ENDPOINT_LIST_FIELDS] * 2
    endpoints = {row["ObjectName"]: row for row in rows}
    assert endpoints["carrier"]["Contacts"] == f"carrier-aor/{CARRIER_URI},"
    assert endpoints["carrier"]["DeviceState"] == "Not in use"
    assert endpoints["1001"]["Contacts"] == "1001/sip:1001@127.0.0.1:5071,"
    assert (complete["Event"], complete["ListItems"]) == ("EndpointListComplete", "2")


async def test_the_endpoints_detail_gives_the_static_contacts_qualify_status(
    server: AmiServer, link: AmiLink
) -> None:
    server.contacts.add_static("PJSIP/carrier", CARRIER_URI)
    await server.set_contact("PJSIP/carrier", "Unreachable")
    went_down = await next_event(link, "ContactStatus")
    await server.remove_contact("PJSIP/carrier")  # configuration: nothing to remove

    _, *rows, complete = await ask(
        link, {"Action": "PJSIPShowEndpoint", "Endpoint": "carrier", "ActionID": "d-1"}
    )
    unknown = await ask(link, {"Action": "PJSIPShowEndpoint", "Endpoint": "nobody"})

    assert (went_down["AOR"], went_down["URI"]) == ("carrier-aor", CARRIER_URI)
    assert [row["Event"] for row in rows] == ["EndpointDetail", "AorDetail", "ContactStatusDetail"]
    detail = rows[-1]
    assert (detail["AOR"], detail["URI"], detail["EndpointName"]) == (
        "carrier-aor",
        CARRIER_URI,
        "carrier",
    )
    assert (detail["Status"], detail["RoundtripUsec"]) == ("Unreachable", "N/A")
    assert "CallID" not in detail  # a static contact was never registered
    assert rows[0]["DeviceState"] == "Unavailable"
    assert (complete["Event"], complete["ListItems"]) == ("EndpointDetailComplete", "3")
    assert (unknown[0]["Response"], unknown[0]["Message"]) == (
        "Error",
        "Unable to retrieve endpoint nobody",
    )
