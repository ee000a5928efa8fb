"""The AMI simulator over real TCP, seen from a raw socket client.

Each test checks what a client of the simulator (the AMI link, the demo) would notice on the
wire: the exact bytes Asterisk 22 sends, which events reach which session, and how the
connection behaves when it is cut, stalled or closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from telephony.ami.wire import parse_message
from telephony.capture import read_capture
from telephony.simulator import AmiServer
from tests.integration.ami_client import READ_TIMEOUT, Client, core_show_channels

CAPTURE = Path(__file__).parents[1] / "fixtures" / "ami" / "normal_inbound_caller_hangup.ami"


Connect = Callable[..., Awaitable[Client]]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[AmiServer]:
    ami = AmiServer()
    await ami.start()
    try:
        yield ami
    finally:
        await ami.close()


@pytest_asyncio.fixture
async def connect(server: AmiServer) -> AsyncIterator[Connect]:
    """Open clients to ``server`` (banner already read); all are closed after the test."""
    clients: list[Client] = []

    async def open_client(*, receive_buffer: int | None = None) -> Client:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
        client = Client(*await asyncio.open_connection(sock=sock))
        clients.append(client)
        async with asyncio.timeout(READ_TIMEOUT):
            assert await client.reader.readline() == b"Asterisk Call Manager/11.0.0\r\n"
        return client

    yield open_client
    for client in clients:
        await client.close()


def channel_event(event: str, uniqueid: str, channel: str, **extra: str) -> dict[str, str]:
    """A call-class event with Asterisk 22's channel snapshot block."""
    state = extra.pop("ChannelState", "4")
    return {
        "Event": event,
        "Privilege": "call,all",
        "Channel": channel,
        "ChannelState": state,
        "ChannelStateDesc": {"4": "Ring", "5": "Ringing", "6": "Up"}[state],
        "CallerIDNum": "+15551230100",
        "CallerIDName": "Jane Customer",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Language": "en",
        "AccountCode": "",
        "Context": "from-trunk",
        "Exten": "1001",
        "Priority": "1",
        "Uniqueid": uniqueid,
        "Linkedid": "1795478681.0",
        **extra,
    }


def var_set(uniqueid: str, channel: str) -> dict[str, str]:
    event = channel_event("VarSet", uniqueid, channel, Variable="SIPDOMAIN", Value="127.0.0.1")
    event["Privilege"] = "dialplan,all"
    return event


MARK = {"Event": "UserEvent", "UserEvent": "mark"}  # no Privilege: every session gets it


def events(messages: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(m["Event"], m.get("Channel", "")) for m in messages]


# -- connecting and logging in --------------------------------------------------------------


@pytest.mark.asyncio
async def test_login_is_accepted_then_fully_booted_is_sent(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.send(Action="Login", ActionID="l-1", Username="callassist", Secret="secret")

    assert await client.raw() == (
        b"Response: Success\r\nActionID: l-1\r\nMessage: Authentication accepted\r\n\r\n"
    )
    assert await client.raw() == (
        b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 1000\r\nLastReload: 1000\r\n"
        b"Status: Fully Booted\r\n\r\n"
    )
    await server.wait_logged_in()
    assert server.logins == 1
    assert server.sessions[0].logged_in


@pytest.mark.asyncio
async def test_login_without_system_events_gets_no_fully_booted(connect: Connect) -> None:
    client = await connect()
    await client.login(events="call,agent")
    await client.send(Action="Ping", ActionID="p-1")

    assert (await client.message())["ActionID"] == "p-1"


@pytest.mark.asyncio
async def test_wrong_secret_is_rejected_and_the_connection_closed(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.send(Action="Login", ActionID="l-1", Username="callassist", Secret="wrong")

    assert await client.raw() == (
        b"Response: Error\r\nActionID: l-1\r\nMessage: Authentication failed\r\n\r\n"
    )
    assert await client.closed_by_server()
    assert server.logins == 0


@pytest.mark.asyncio
async def test_md5_challenge_login(server: AmiServer, connect: Connect) -> None:
    client = await connect()
    await client.send(Action="Challenge", AuthType="MD5", ActionID="c-1")
    challenge = (await client.message())["Challenge"]
    key = hashlib.md5((challenge + "secret").encode()).hexdigest()  # AMI's scheme
    await client.send(Action="Login", AuthType="MD5", Username="callassist", Key=key)

    assert (await client.message())["Message"] == "Authentication accepted"
    await server.wait_logged_in()


@pytest.mark.asyncio
async def test_actions_before_login_are_denied_but_the_session_stays(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.send(Action="CoreShowChannels", ActionID="x-1")

    assert await client.raw() == (
        b"Response: Error\r\nActionID: x-1\r\nMessage: Permission denied\r\n\r\n"
    )
    await client.login()
    assert server.logins == 1


@pytest.mark.asyncio
async def test_logoff_says_goodbye_and_closes(server: AmiServer, connect: Connect) -> None:
    client = await connect()
    await client.login()
    await client.send(Action="Logoff", ActionID="bye")

    assert await client.raw() == (
        b"Response: Goodbye\r\nActionID: bye\r\nMessage: Thanks for all the fish.\r\n\r\n"
    )
    assert await client.closed_by_server()


@pytest.mark.asyncio
async def test_unknown_action_gets_asterisks_error(connect: Connect) -> None:
    client = await connect()
    await client.login()
    await client.send(Action="Frobnicate", ActionID="f-1")

    reply = await client.message()
    assert reply["Response"] == "Error"
    assert reply["ActionID"] == "f-1"
    assert reply["Message"].startswith("Invalid/unknown command: Frobnicate.")


@pytest.mark.asyncio
async def test_every_action_is_recorded_in_order(server: AmiServer, connect: Connect) -> None:
    client = await connect()
    await client.login()
    await client.send(Action="Ping", ActionID="p-1")
    await client.send(Action="Ping", ActionID="p-2")

    pings = await server.wait_for_action("ping", count=2)
    assert [p["ActionID"] for p in pings] == ["p-1", "p-2"]
    assert [a["Action"] for a in server.actions] == ["Login", "Ping", "Ping"]


@pytest.mark.asyncio
async def test_waiting_for_an_action_that_never_comes_says_what_was_awaited(
    server: AmiServer,
) -> None:
    with pytest.raises(TimeoutError, match="Originate"):
        await server.wait_for_action("Originate", timeout=0.05)


# -- keepalive ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ping_is_answered_with_pong_and_a_timestamp(connect: Connect) -> None:
    client = await connect()
    await client.login()
    await client.send(Action="Ping", ActionID="p-1")

    raw = await client.raw()
    assert re.fullmatch(
        rb"Response: Success\r\nActionID: p-1\r\nPing: Pong\r\nTimestamp: \d+\.\d{6}\r\n\r\n",
        raw,
    )
    assert abs(float((parsed(raw))["Timestamp"]) - time.time()) < 5


def parsed(raw: bytes) -> dict[str, str]:
    parsed, _ = parse_message(raw[:-4])
    assert parsed is not None
    return parsed


@pytest.mark.asyncio
async def test_unanswered_pings_leave_the_link_silent(server: AmiServer, connect: Connect) -> None:
    client = await connect()
    await client.login()
    server.answer_pings = False
    await client.send(Action="Ping", ActionID="lost")
    await server.wait_for_action("Ping")

    assert await client.quiet_for(0.2)
    server.answer_pings = True
    await client.send(Action="Ping", ActionID="answered")
    assert (await client.message())["ActionID"] == "answered"


# -- which events reach a session -----------------------------------------------------------


@pytest.mark.asyncio
async def test_include_filter_lets_only_matching_events_through(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login()
    await client.send(Action="Filter", Operation="Add", Filter="Event: Newchannel", ActionID="f")
    assert await client.raw() == (
        b"Response: Success\r\nActionID: f\r\nMessage: Filter Added Successfully\r\n\r\n"
    )

    await server.emit(var_set("1.0", "PJSIP/2001-00000000"))
    await server.emit(channel_event("Newchannel", "1.0", "PJSIP/2001-00000000"))

    assert (await client.message())["Event"] == "Newchannel"
    assert server.sessions[0].filters == ["Event: Newchannel"]


@pytest.mark.asyncio
async def test_exclude_filter_drops_matching_events(server: AmiServer, connect: Connect) -> None:
    client = await connect()
    await client.login()
    await client.send(Action="Filter", Operation="Add", Filter="!Event: VarSet")
    await client.message()

    await server.emit(var_set("1.0", "PJSIP/2001-00000000"))
    await server.emit(MARK)

    assert events(await client.until("UserEvent")) == [("UserEvent", "")]


@pytest.mark.asyncio
async def test_include_then_exclude_filters_apply_in_asterisks_order(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login()
    await client.send(Action="Filter", Operation="Add", Filter="Event: (Newchannel|UserEvent)")
    await client.send(Action="Filter", Operation="Add", Filter="!Channel: Local/")
    await client.message()
    await client.message()

    await server.emit(channel_event("Newchannel", "1.0", "Local/1001@agents-00000000;1"))
    await server.emit(channel_event("Newchannel", "1.1", "PJSIP/2001-00000000"))
    await server.emit(var_set("1.1", "PJSIP/2001-00000000"))
    await server.emit(MARK)

    assert events(await client.until("UserEvent")) == [
        ("Newchannel", "PJSIP/2001-00000000"),
        ("UserEvent", ""),
    ]


@pytest.mark.asyncio
async def test_a_filter_that_does_not_compile_is_refused(connect: Connect) -> None:
    client = await connect()
    await client.login()
    await client.send(Action="Filter", Operation="Add", Filter="Event: (", ActionID="bad")

    reply = await client.message()
    assert (reply["Response"], reply["ActionID"]) == ("Error", "bad")
    assert reply["Message"].startswith("Filter did not compile")


@pytest.mark.asyncio
async def test_event_class_mask_from_login_and_events_action(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login(events="call")
    assert server.sessions[0].event_mask == {"call"}

    await server.emit(var_set("1.0", "PJSIP/2001-00000000"))  # dialplan class
    await server.emit(channel_event("Newchannel", "1.0", "PJSIP/2001-00000000"))
    await server.emit(MARK)
    assert events(await client.until("UserEvent")) == [
        ("Newchannel", "PJSIP/2001-00000000"),
        ("UserEvent", ""),
    ]

    await client.send(Action="Events", EventMask="dialplan", ActionID="e-1")
    assert await client.raw() == b"Response: Success\r\nActionID: e-1\r\nEvents: On\r\n\r\n"
    await server.emit(channel_event("Newstate", "1.0", "PJSIP/2001-00000000"))
    await server.emit(var_set("1.0", "PJSIP/2001-00000000"))
    await server.emit(MARK)
    assert events(await client.until("UserEvent")) == [
        ("VarSet", "PJSIP/2001-00000000"),
        ("UserEvent", ""),
    ]

    await client.send(Action="Events", EventMask="off", ActionID="e-2")
    assert await client.raw() == b"Response: Success\r\nActionID: e-2\r\nEvents: Off\r\n\r\n"
    await server.emit(var_set("1.0", "PJSIP/2001-00000000"))
    await server.emit(MARK)
    assert events(await client.until("UserEvent")) == [("UserEvent", "")]


@pytest.mark.asyncio
async def test_a_login_with_events_off_gets_none_until_the_events_action_nor_after(
    server: AmiServer, connect: Connect
) -> None:
    """manager.c: ``Events: off`` at the Login leaves the session's mask empty (and sends no
    FullyBooted); an event the mask refuses is dropped at once, never kept for later. The
    login counts for ``wait_logged_in`` once the Events action has turned events on."""
    client = await connect()
    await client.login(events="off")
    await server.emit(channel_event("Newchannel", "1.0", "PJSIP/2001-00000000"))
    await server.emit(MARK)
    assert events(await client.until("UserEvent")) == [("UserEvent", "")]
    assert server.logins == 0

    await client.send(Action="Events", EventMask="call", ActionID="e-1")
    assert await client.raw() == b"Response: Success\r\nActionID: e-1\r\nEvents: On\r\n\r\n"
    await server.wait_logged_in()
    await server.emit(channel_event("Newstate", "1.0", "PJSIP/2001-00000000", ChannelState="6"))
    await server.emit(MARK)
    assert events(await client.until("UserEvent")) == [
        ("Newstate", "PJSIP/2001-00000000"),
        ("UserEvent", ""),
    ]


@pytest.mark.asyncio
async def test_a_numeric_event_mask_is_a_bitmask_of_classes(
    server: AmiServer, connect: Connect
) -> None:
    """strings_to_mask reads digits before words: ``1`` is EVENT_FLAG_SYSTEM, not ``on``."""
    client = await connect()
    await client.login(events="off")
    await client.send(Action="Events", EventMask="1", ActionID="e-1")
    assert (await client.message())["Events"] == "On"
    await server.emit(channel_event("Newchannel", "1.0", "PJSIP/2001-00000000"))
    await server.emit({"Event": "Reload", "Privilege": "system,all", "Module": "manager"})
    await server.emit(MARK)
    assert events(await client.until("UserEvent")) == [("Reload", ""), ("UserEvent", "")]


@pytest.mark.asyncio
async def test_core_status_dates_the_start_as_asterisk_does(
    server: AmiServer, connect: Connect
) -> None:
    """manager.c action_corestatus, field for field; a lower uptime is a later start."""
    client = await connect()
    await client.login()
    await client.send(Action="CoreStatus", ActionID="s-1")
    started = time.localtime(server.started_at)
    day, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
    expected = (
        f"Response: Success\r\nActionID: s-1\r\nCoreStartupDate: {day}\r\n"
        f"CoreStartupTime: {clock}\r\nCoreReloadDate: {day}\r\nCoreReloadTime: {clock}\r\n"
        "CoreCurrentCalls: 0\r\nCoreProcessedCalls: 0\r\n\r\n"
    )
    assert await client.raw() == expected.encode()
    before = server.started_at
    server.uptime = 2
    assert server.started_at - before == pytest.approx(998)


@pytest.mark.asyncio
async def test_events_go_only_to_logged_in_sessions(server: AmiServer, connect: Connect) -> None:
    anonymous = await connect()
    member = await connect()
    await member.login()

    await server.emit(MARK)

    assert (await member.message())["Event"] == "UserEvent"
    assert await anonymous.quiet_for(0.1)


@pytest.mark.asyncio
async def test_timestampevents_adds_timestamp_after_privilege() -> None:
    stamped = AmiServer(timestampevents=True)
    await stamped.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", stamped.port)
        client = Client(reader, writer)
        await reader.readline()
        await client.login()
        await stamped.emit(channel_event("Newchannel", "1.0", "PJSIP/2001-00000000"))
        lines = (await client.raw()).split(b"\r\n")
        await client.close()
    finally:
        await stamped.close()

    assert lines[:2] == [b"Event: Newchannel", b"Privilege: call,all"]
    assert re.fullmatch(rb"Timestamp: \d+\.\d{6}", lines[2])


# -- the live channel list ------------------------------------------------------------------


CORE_SHOW_FIELDS = [
    "Event",
    "ActionID",
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
    "Application",
    "ApplicationData",
    "Duration",
    "BridgeId",
]


@pytest.mark.asyncio
async def test_core_show_channels_follows_the_emitted_events(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login(events="off")
    customer, agent = "PJSIP/2001-00000000", "PJSIP/1001-00000001"
    await server.emit(channel_event("Newchannel", "1.0", customer))
    await server.emit(channel_event("Newchannel", "1.1", agent, Context="from-agents"))
    await server.emit(
        channel_event("Newexten", "1.0", customer, Application="Dial", AppData="PJSIP/1001,30")
    )
    await server.emit(channel_event("Newstate", "1.1", agent, ChannelState="6"))
    await server.emit(
        channel_event("BridgeEnter", "1.1", agent, ChannelState="6", BridgeUniqueid="br-1")
    )

    listed = {row["Uniqueid"]: row for row in await core_show_channels(client, "c-1")}
    assert list(listed["1.1"]) == CORE_SHOW_FIELDS
    assert (listed["1.1"]["ChannelStateDesc"], listed["1.1"]["BridgeId"]) == ("Up", "br-1")
    assert (listed["1.0"]["Application"], listed["1.0"]["ApplicationData"]) == (
        "Dial",
        "PJSIP/1001,30",
    )
    assert re.fullmatch(r"\d\d:\d\d:\d\d", listed["1.0"]["Duration"])

    await server.emit(
        channel_event("BridgeLeave", "1.1", agent, ChannelState="6", BridgeUniqueid="br-1")
    )
    await server.emit(channel_event("Hangup", "1.0", customer, Cause="16"))

    listed_after = await core_show_channels(client, "c-2")
    assert [(row["Channel"], row["BridgeId"]) for row in listed_after] == [(agent, "")]
    assert list(server.live_channels) == ["1.1"]


@pytest.mark.asyncio
async def test_status_lists_one_channel_or_says_there_is_none(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login(events="off")
    await server.emit(channel_event("Newchannel", "1.0", "PJSIP/2001-00000000"))

    await client.send(Action="Status", Channel="pjsip/2001-00000000", ActionID="s-1")
    listed = await client.until("StatusComplete")
    assert listed[0]["Message"] == "Channel status will follow"
    assert [(m["Event"], m.get("Channel")) for m in listed[1:]] == [
        ("Status", "PJSIP/2001-00000000"),
        ("StatusComplete", None),
    ]
    assert listed[-1]["ListItems"] == "1"

    await client.send(Action="Status", Channel="PJSIP/9999-00000000", ActionID="s-2")
    assert (await client.message())["Message"] == "No such channel"


@pytest.mark.asyncio
async def test_hangup_action_ends_a_live_channel_and_refuses_an_unknown_one(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login(events="call")
    await server.emit(channel_event("Newchannel", "1.0", "PJSIP/2001-00000000"))
    await client.message()

    await client.send(Action="Hangup", Channel="PJSIP/2001-00000000", ActionID="h-1")
    assert (await client.message())["Message"] == "Channel Hungup"
    hangup = await client.message()
    assert (hangup["Event"], hangup["Cause"], hangup["Cause-txt"]) == (
        "Hangup",
        "16",
        "Normal Clearing",
    )
    assert server.live_channels == {}

    await client.send(Action="Hangup", Channel="PJSIP/2001-00000000", ActionID="h-2")
    assert await client.raw() == (
        b"Response: Error\r\nActionID: h-2\r\nMessage: No such channel\r\n\r\n"
    )


@pytest.mark.asyncio
async def test_originate_is_queued_and_handed_to_the_hook(
    server: AmiServer, connect: Connect
) -> None:
    handed: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def on_originate(action: dict[str, str]) -> None:
        await handed.put(action)

    server.on_originate = on_originate
    client = await connect()
    await client.login()
    await client.send(
        Action="Originate",
        ActionID="cb-1",
        Channel="PJSIP/1001",
        Context="callbacks",
        Exten="+15551230100",
        Priority="1",
        Async="true",
    )

    assert await client.raw() == (
        b"Response: Success\r\nActionID: cb-1\r\nMessage: Originate successfully queued\r\n\r\n"
    )
    async with asyncio.timeout(READ_TIMEOUT):
        assert (await handed.get())["Exten"] == "+15551230100"


@pytest.mark.asyncio
async def test_originate_can_be_left_unanswered(server: AmiServer, connect: Connect) -> None:
    server.answer_originates = False
    client = await connect()
    await client.login()
    await client.send(Action="Originate", ActionID="cb-1", Channel="PJSIP/1001", Async="true")
    await server.wait_for_action("Originate")

    assert await client.quiet_for(0.2)


# -- the wire under stress ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_chunked_emit_arrives_in_pieces_that_join_to_the_event(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login()
    event = channel_event("Newchannel", "1.0", "PJSIP/2001-00000000", CallerIDName="José Ørsted")
    whole = "".join(f"{key}: {value}\r\n" for key, value in event.items()).encode() + b"\r\n"
    split_at = whole.index("é".encode()) + 1  # between the two bytes of é

    reads: list[bytes] = []

    async def read_all() -> None:
        while sum(map(len, reads)) < len(whole):
            reads.append(await client.reader.read(65536))

    reading = asyncio.create_task(read_all())
    await server.emit(event, chunks=[split_at])
    async with asyncio.timeout(READ_TIMEOUT):
        await reading

    assert reads[0] == whole[:split_at]
    assert b"".join(reads) == whole


@pytest.mark.asyncio
async def test_a_reply_waits_until_a_split_event_is_whole(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login()
    event = channel_event("Newchannel", "1.0", "PJSIP/2001-00000000")

    emitting = asyncio.create_task(server.emit(event, chunks=[1] * 40))
    async with asyncio.timeout(READ_TIMEOUT):
        first_byte = await client.reader.readexactly(1)
    await client.send(Action="Ping", ActionID="during")
    await server.wait_for_action("Ping")
    await emitting

    whole = parsed(first_byte + await client.raw())
    assert whole == event
    assert (await client.message())["ActionID"] == "during"


@pytest.mark.asyncio
async def test_send_raw_reaches_every_connected_session(
    server: AmiServer, connect: Connect
) -> None:
    anonymous = await connect()
    member = await connect()
    await member.login()

    await server.send_raw(b"\x00garbage\r\n\r\n")

    for client in (anonymous, member):
        async with asyncio.timeout(READ_TIMEOUT):
            assert await client.reader.readexactly(12) == b"\x00garbage\r\n\r\n"


@pytest.mark.asyncio
async def test_drop_sessions_cuts_clients_and_keeps_listening(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login()

    await server.drop_sessions()

    assert await client.closed_by_server()
    assert server.sessions == []
    again = await connect()
    await again.login()
    await server.wait_logged_in(count=2)


@pytest.mark.asyncio
async def test_close_ends_every_session_and_stops_listening(
    server: AmiServer, connect: Connect
) -> None:
    client = await connect()
    await client.login()

    await server.close()

    assert await client.closed_by_server()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)
    await server.close()  # a second close is harmless


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("write_timeout", "max_write_buffer", "longest_emit"),
    [(0.2, 4 * 1024 * 1024, 1.5), (30.0, 32 * 1024, 1.0)],
    ids=["write-timeout", "buffer-limit"],
)
async def test_a_client_that_stops_reading_is_cut_off_without_stalling_others(
    server: AmiServer,
    connect: Connect,
    write_timeout: float,
    max_write_buffer: int,
    longest_emit: float,
) -> None:
    server.write_timeout = write_timeout
    server.max_write_buffer = max_write_buffer
    stalled = await connect(receive_buffer=4096)
    await stalled.login()
    healthy = await connect()
    await healthy.login()
    received = 0

    async def keep_reading() -> None:
        nonlocal received
        while data := await healthy.reader.read(65536):
            received += len(data)

    reader = asyncio.create_task(keep_reading())
    big = {"Event": "UserEvent", "UserEvent": "bulk", "Data": "x" * 16_000}
    emitted = 0
    slowest = 0.0
    while len(server.sessions) == 2 and emitted < 4000:
        started = time.monotonic()
        await server.emit(big)
        slowest = max(slowest, time.monotonic() - started)
        emitted += 1
    await asyncio.sleep(0.2)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader

    assert len(server.sessions) == 1
    assert slowest < longest_emit
    assert received >= emitted * 16_000  # the healthy client got every event
    assert await stalled.closed_by_server()


# -- recorded captures ----------------------------------------------------------------------


def capture_traffic(path: Path) -> list[bytes]:
    """The capture's events as recorded, without responses and the recorder's login."""
    data = path.read_bytes()
    frames = data.split(b"\r\n", 1)[1].split(b"\r\n\r\n")[:-1]
    wanted = [f + b"\r\n\r\n" for f in frames if f.startswith(b"Event: ")]
    while wanted[0].startswith((b"Event: FullyBooted", b"Event: SuccessfulAuth")):
        wanted.pop(0)
    return wanted


@pytest.mark.asyncio
async def test_play_capture_streams_the_recorded_events_byte_for_byte(
    server: AmiServer, connect: Connect
) -> None:
    expected = capture_traffic(CAPTURE)
    client = await connect()
    await client.login()

    received: list[bytes] = []

    async def read_events() -> None:
        while len(received) < len(expected):
            received.append(await client.raw())

    reading = asyncio.create_task(read_events())
    sent = await server.play_capture(CAPTURE)
    async with asyncio.timeout(READ_TIMEOUT):
        await reading

    recorded_names = [m.headers["Event"] for m in read_capture(CAPTURE) if "Event" in m.headers][
        2:
    ]  # after the recorder's FullyBooted and SuccessfulAuth
    assert sent == len(recorded_names) == 87
    assert [parsed(r)["Event"] for r in received] == recorded_names
    assert received == expected
    assert server.live_channels == {}  # every channel of the call hung up


@pytest.mark.asyncio
async def test_play_capture_keeps_the_recorded_pace(server: AmiServer) -> None:
    speed = 50.0
    times = [m.at for m in read_capture(CAPTURE) if "Event" in m.headers][2:]
    assert times[0] is not None
    assert times[-1] is not None
    recorded_span = times[-1] - times[0]

    started = time.monotonic()
    await server.play_capture(CAPTURE, speed=speed)
    elapsed = time.monotonic() - started

    assert recorded_span / speed * 0.9 <= elapsed < recorded_span / speed + 2.0
