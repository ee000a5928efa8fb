"""The AMI link against a real TCP AMI server (the project's simulator), never mocks.

Each test is one of panoramisk 1.4's traps, or one promise the link makes to the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from telephony.ami import actions
from telephony.ami.link import (
    ActionInterrupted,
    AmiLink,
    LinkConfig,
    LinkDown,
    LinkEvent,
    LinkItem,
    LinkLost,
    LinkStatus,
    LiveChannels,
    Reply,
)
from telephony.calls.model import CallAnswered, CallEnded, EndedBy
from telephony.calls.trunks import TrunkPlan
from telephony.simulator.server import AmiServer
from telephony.switchboard import Switchboard

SECRET = "s3cret-Never-Logged"
pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def server() -> AsyncIterator[AmiServer]:
    pbx = AmiServer(username="callassist", secret=SECRET)
    await pbx.start()
    yield pbx
    await pbx.close()


def fast_config(server: AmiServer, **overrides: object) -> LinkConfig:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": "callassist",
        "secret": SECRET,
        "ping_interval": 0.2,
        "ping_timeout": 0.3,
        "backoff_initial": 0.05,
        "backoff_max": 0.4,
        "connect_timeout": 1.0,
        "login_timeout": 1.0,
    }
    settings.update(overrides)
    return LinkConfig(**settings)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def running() -> AsyncIterator[Callable[[LinkConfig], AmiLink]]:
    """Start links on the running loop; close them all at the end."""
    links: list[AmiLink] = []

    def start(config: LinkConfig) -> AmiLink:
        link = AmiLink(config, rng=lambda: 1.0)
        link.start()
        links.append(link)
        return link

    yield start
    for link in links:
        link.close()
        await link.wait_closed()


async def until(predicate: Callable[[], bool], what: str, limit: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def next_event(link: AmiLink, name: str, limit: float = 3.0) -> LinkEvent:
    """The next queued event called ``name``, skipping the others."""
    async with asyncio.timeout(limit):
        while True:
            item = await link.get()
            if isinstance(item, LinkEvent) and item.headers.get("Event") == name:
                return item


async def items_until(link: AmiLink, name: str, limit: float = 3.0) -> list[LinkItem]:
    """Every queued item up to the next event called ``name``, that event last."""
    items: list[LinkItem] = []
    async with asyncio.timeout(limit):
        while event_name(item := await link.get()) != name:
            items.append(item)
    return [*items, item]


def event_name(item: LinkItem) -> str | None:
    return item.headers.get("Event") if isinstance(item, LinkEvent) else None


async def next_item(link: AmiLink, kind: type[LinkItem], limit: float = 3.0) -> LinkItem:
    async with asyncio.timeout(limit):
        while True:
            item = await link.get()
            if isinstance(item, kind):
                return item


def channel(
    uniqueid: str, name: str, linkedid: str, number: str, state: str = "4"
) -> dict[str, str]:
    return {
        "Event": "Newchannel",
        "Privilege": "call,all",
        "Channel": name,
        "ChannelState": state,
        "ChannelStateDesc": "Ring" if state == "4" else "Up",
        "CallerIDNum": number,
        "CallerIDName": "Jane Customer",
        "Uniqueid": uniqueid,
        "Linkedid": linkedid,
    }


def bridge_enter(uniqueid: str, name: str, linkedid: str, bridge: str) -> dict[str, str]:
    return {
        "Event": "BridgeEnter",
        "Privilege": "call,all",
        "BridgeUniqueid": bridge,
        "Channel": name,
        "ChannelState": "6",
        "Uniqueid": uniqueid,
        "Linkedid": linkedid,
    }


def hangup(uniqueid: str, name: str, linkedid: str, cause: str = "16") -> dict[str, str]:
    return {
        "Event": "Hangup",
        "Privilege": "call,all",
        "Channel": name,
        "ChannelState": "6",
        "Uniqueid": uniqueid,
        "Linkedid": linkedid,
        "Cause": cause,
    }


async def answered_call(server: AmiServer, linkedid: str, customer: str, agent: str) -> None:
    """The events of a customer on the trunk talking to an agent, as the captures show them."""
    agent_id = f"{linkedid}1"
    await server.emit(channel(linkedid, customer, linkedid, "+15551230100"))
    await server.emit(channel(agent_id, agent, linkedid, "1001", state="6"))
    await server.emit(bridge_enter(agent_id, agent, linkedid, f"bridge-{linkedid}"))
    await server.emit(bridge_enter(linkedid, customer, linkedid, f"bridge-{linkedid}"))


async def test_login_asks_only_for_the_events_the_product_uses(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    await server.wait_for_action("CoreShowChannels")
    sent = [a["Action"] for a in server.actions]
    assert sent[:7] == [
        "Login",  # events off: no event until the filters are in
        "ListCommands",
        "Filter",
        "Filter",
        "Events",
        "CoreStatus",
        "CoreShowChannels",
    ]
    login, turn_on = server.actions[0], server.actions[4]
    assert login["Events"] == "off"
    assert turn_on["EventMask"] == actions.EVENT_CLASSES
    filters = [a["Filter"] for a in server.actions if a["Action"] == "Filter"]
    assert filters == actions.event_filters(actions.WANTED_EVENTS, actions.WANTED_VARIABLES)
    assert link.state.filters_installed

    noise = {"Event": "VarSet", "Privilege": "dialplan,all", "Variable": "SIPDOMAIN"}
    await server.emit({**noise, "Uniqueid": "1.1", "Value": "127.0.0.1"})
    await server.emit({"Event": "Newexten", "Privilege": "dialplan,all", "Uniqueid": "1.1"})
    recording = {**noise, "Variable": "MIXMONITOR_FILENAME", "Value": "/rec/a.wav"}
    await server.emit({**recording, "Uniqueid": "1.1"})
    *before, delivered = await items_until(link, "VarSet")
    assert isinstance(delivered, LinkEvent)
    assert delivered.headers["Variable"] == "MIXMONITOR_FILENAME"
    # Asterisk sends FullyBooted at a login only when the login's events take `system`.
    assert "FullyBooted" not in [event_name(item) for item in before]
    assert link.state.messages_received >= 3


async def test_a_call_starting_while_the_filters_go_in_never_arrives_in_half(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    """Asterisk applies each Filter as it comes and keeps no event a session refuses. A call
    starts between the first Filter (event names) and the second (the VarSet variables):
    with the events on from the Login, its Newchannel came and its recording's VarSet was
    lost, half a call taken for a whole one. With the events off until the filters are in,
    neither comes (Asterisk never sends them later), and the channel list after the login
    brings the call, before any later event of it."""
    customer = "PJSIP/2001-00000030"
    recording = {
        "Event": "VarSet",
        "Privilege": "dialplan,all",
        "Channel": customer,
        "Uniqueid": "300.1",
        "Linkedid": "300.1",
        "Variable": "MIXMONITOR_FILENAME",
        "Value": "/rec/300.1.wav",
    }

    async def call_starts_after_the_first_filter(action: dict[str, str]) -> None:
        if action["Action"] == "Filter":
            server.on_action = None
            await server.emit(channel("300.1", customer, "300.1", "+15551230100"))
            await server.emit(recording)

    server.on_action = call_starts_after_the_first_filter
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    await server.emit(hangup("300.1", customer, "300.1"))

    items = await items_until(link, "Hangup")
    of_the_call = [
        event_name(item)
        for item in items
        if isinstance(item, LinkEvent) and item.headers.get("Uniqueid") == "300.1"
    ]
    assert of_the_call == ["Hangup"], "events of the call came from before the filters were in"
    (listed,) = [item for item in items if isinstance(item, LiveChannels)]
    assert [entry["Uniqueid"] for entry in listed.channels] == ["300.1"]
    assert items.index(listed) < len(items) - 1


async def test_a_user_without_system_gets_no_filter_action_and_no_warning(
    server: AmiServer,
    running: Callable[[LinkConfig], AmiLink],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The shipped AMI user (write = originate,reporting): Filter needs `system`, so the link
    asks ListCommands (no class needed) and sends none; the filters are manager.conf's, the
    local sieve skips the rest, and nothing claims the user needs `system`."""
    server.write_classes = {"originate", "reporting"}
    caplog.set_level(logging.INFO, logger="callassist.ami")
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")

    sent = [a["Action"] for a in server.actions]
    assert sent[:4] == ["Login", "ListCommands", "Events", "CoreStatus"]
    assert server.actions[0]["Events"] == "off"  # the same on both paths
    assert "Filter" not in sent
    assert not link.state.filters_installed
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    await server.emit({"Event": "Newexten", "Privilege": "dialplan,all", "Uniqueid": "1.1"})
    recording = {"Event": "VarSet", "Privilege": "dialplan,all", "Uniqueid": "1.1"}
    await server.emit({**recording, "Variable": "MIXMONITOR_FILENAME", "Value": "/rec/a.wav"})
    delivered = await next_event(link, "VarSet")
    assert delivered.headers["Variable"] == "MIXMONITOR_FILENAME"


async def test_rejected_password_backs_off_and_close_cancels_the_retry(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    link = running(fast_config(server, secret="wrong", backoff_max=0.8))
    loop = asyncio.get_running_loop()
    attempts: list[float] = []
    seen = 0
    started = loop.time()
    while loop.time() - started < 1.6:
        logins = sum(1 for a in server.actions if a["Action"] == "Login")
        if logins > seen:
            attempts.extend([loop.time()] * (logins - seen))
            seen = logins
        await asyncio.sleep(0.005)
    assert link.state.status is LinkStatus.CREDENTIALS_REJECTED
    assert "rejected the credentials" in (link.state.last_error or "")
    assert link.state.down_since is not None
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    # 0.1, 0.2, 0.4, 0.8 s with the jitter pinned: each wait about doubles, never hammering.
    assert 3 <= len(attempts) <= 5, attempts
    assert all(b > a * 1.5 for a, b in itertools.pairwise(gaps)), gaps
    assert server.logins == 0

    link.close()
    await link.wait_closed()
    before = len(server.actions)
    await asyncio.sleep(1.0)
    assert len(server.actions) == before, "a reconnect was still pending after close()"
    assert link.state.status is LinkStatus.CLOSED


async def test_the_secret_never_reaches_the_logs(
    server: AmiServer,
    running: Callable[[LinkConfig], AmiLink],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    good = running(fast_config(server))
    bad = running(fast_config(server, secret=SECRET + "-wrong"))
    await until(lambda: good.state.status is LinkStatus.CONNECTED, "login")
    await until(lambda: bad.state.status is LinkStatus.CREDENTIALS_REJECTED, "rejection")
    assert SECRET not in caplog.text
    assert SECRET not in repr(good.settings)
    assert SECRET not in str(bad.state)
    with pytest.raises(ValueError) as refused:
        LinkConfig.from_url(f"ami://callassist:{SECRET}@pbx:notaport")
    assert SECRET not in str(refused.value)
    parsed = LinkConfig.from_url(f"ami://callassist:{SECRET}@127.0.0.1:5038")
    assert parsed.secret == SECRET
    assert SECRET not in parsed.address


async def test_a_utf8_name_split_across_tcp_reads_arrives_whole(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    # A byte per write takes seconds, and the Pong waits behind it as on Asterisk.
    link = running(fast_config(server, ping_timeout=10.0))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    event = channel("1795478681.0", "PJSIP/2001-00000000", "1795478681.0", "+8613800138000")
    event["CallerIDName"] = "张三"
    # One byte per TCP write: the reader sees each 3-byte character in pieces.
    await server.emit(event, chunks=[1] * 400)
    received = await next_event(link, "Newchannel", limit=10)
    assert received.headers["CallerIDName"] == "张三"
    assert link.state.malformed_skipped == 0


async def test_events_keep_their_order_and_a_full_queue_never_blocks_the_reader(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    link = running(fast_config(server, queue_size=20))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    await next_item(link, LiveChannels)
    for number in range(100):
        await server.emit(channel(f"9.{number}", f"PJSIP/2001-{number:08x}", f"9.{number}", "1"))
    await until(lambda: link.state.events_dropped == 100 - link.queue.qsize(), "overflow count")
    # The reader kept going: the link is still up and still answers.
    await asyncio.sleep(0.5)
    assert link.state.status is LinkStatus.CONNECTED
    assert server.logins == 1
    kept = [link.queue.get_nowait() for _ in range(link.queue.qsize())]
    numbers = [
        int(item.headers["Uniqueid"].split(".")[1]) for item in kept if isinstance(item, LinkEvent)
    ]
    assert numbers == sorted(numbers) and numbers[0] == 0
    # Once there is room again, the lost events are made good by re-reading the live calls.
    await server.emit(channel("9.100", "PJSIP/2001-00000100", "9.100", "1"))
    assert isinstance(await next_item(link, LiveChannels), LiveChannels)


async def test_an_unanswered_ping_is_noticed_and_the_link_reconnects(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    server.answer_pings = False
    lost = await next_item(link, LinkLost)
    assert isinstance(lost, LinkLost) and "Ping" in lost.reason
    assert "half-open" in (link.state.last_error or "")
    server.answer_pings = True
    await until(lambda: server.logins == 2, "second login")
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "reconnected")
    assert link.state.reconnects >= 1


async def test_after_a_cut_the_calls_that_ended_meanwhile_are_closed_and_new_ones_found(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    link = running(fast_config(server, backoff_initial=0.5, backoff_max=0.5))
    board = Switchboard(TrunkPlan.parse("PJSIP/2001"))
    signals: list[object] = []

    async def consume() -> None:
        while True:
            item = await link.get()
            if isinstance(item, LinkEvent):
                signals.extend(board.feed(item.headers, item.at))
            elif isinstance(item, LiveChannels):
                signals.extend(board.reconcile(item.channels, item.at))

    consumer = asyncio.create_task(consume())
    try:
        await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
        await answered_call(server, "100.1", "PJSIP/2001-00000001", "PJSIP/1001-00000002")
        await until(lambda: any(isinstance(s, CallAnswered) for s in signals), "first call")

        await server.drop_sessions()
        await until(lambda: link.state.status is not LinkStatus.CONNECTED, "the cut")
        # While nobody listens, the first call ends and a second one starts and is answered.
        await server.emit(hangup("100.1", "PJSIP/2001-00000001", "100.1"))
        await server.emit(hangup("100.11", "PJSIP/1001-00000002", "100.1"))
        await answered_call(server, "200.1", "PJSIP/2001-00000003", "PJSIP/1002-00000004")
        assert set(server.live_channels) == {"200.1", "200.11"}

        await until(lambda: server.logins == 2, "reconnect", limit=5)
        await until(lambda: any(isinstance(s, CallEnded) for s in signals), "reconciliation")
    finally:
        consumer.cancel()
    ended = [s for s in signals if isinstance(s, CallEnded)]
    assert [e.call_id for e in ended] == ["100.1"]
    assert ended[0].ended_in_gap and ended[0].record.ended_by is EndedBy.UNKNOWN
    assert ended[0].record.agent == "PJSIP/1001"
    found = [s for s in signals if isinstance(s, CallAnswered) and s.call_id == "200.1"]
    assert [a.agent for a in found] == ["PJSIP/1002"]
    assert [c.call_id for c in board.tracker.live_calls] == ["200.1"]


async def test_an_originate_in_flight_during_a_cut_is_never_sent_again(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    server.answer_originates = False  # the PBX takes it, the link drops before the answer
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    originate = actions.originate(
        channel="PJSIP/1001",
        context="callassist-callback",
        exten="+15551230100",
        caller_id="Callback <2001>",
        channel_id="cb-0001",
        variables={"CALLASSIST_ATTEMPT": "1"},
    )
    pending = asyncio.create_task(link.send(originate))
    await server.wait_for_action("Originate")
    await server.drop_sessions()
    with pytest.raises(ActionInterrupted):
        await pending
    await until(lambda: server.logins == 2, "reconnect")
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "reconnected")
    await asyncio.sleep(0.5)
    assert len([a for a in server.actions if a["Action"] == "Originate"]) == 1


async def test_answers_leave_the_link_as_plain_data_never_as_panoramisk_objects(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")

    pong = await link.send(actions.ping())
    refused = await link.send(actions.show_dialplan("no-such-context"))
    listing = await link.send(actions.core_show_channels(), as_list=True)

    assert isinstance(pong, Reply) and pong.success and pong.response == "Success"
    assert pong.headers["Ping"] == "Pong" and pong.events == ()
    assert (refused.response, refused.success, refused.events) == ("Error", False, ())
    assert refused.message.startswith("Did not find context")
    assert listing.response == "Success" and listing.message == "Channels will follow"
    assert listing.events[-1]["Event"] == "CoreShowChannelsComplete"
    assert listing.messages == (listing.headers, *listing.events)
    assert all(type(headers) is dict for headers in listing.messages)


async def test_nothing_is_sent_while_the_link_is_down_and_no_header_can_smuggle_an_action(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    await server.close()
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.DOWN, "connection refused")
    with pytest.raises(LinkDown):
        await link.send(actions.ping())
    with pytest.raises(ValueError, match="line break"):
        await link.send({"Action": "Hangup", "Channel": "PJSIP/1001\r\nAction: Originate"})


async def test_a_pbx_restart_is_told_from_its_core_status(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    """The login has events off, so no FullyBooted comes with it: CoreStatus (write
    `reporting`, as the shipped user has) dates the PBX's start instead."""
    server.write_classes = {"originate", "reporting"}
    link = running(fast_config(server))
    await until(lambda: link.state.pbx_started is not None, "CoreStatus")
    first = link.state.pbx_started
    await server.drop_sessions()  # a network cut: the PBX keeps running
    await until(lambda: server.logins == 2, "reconnect")
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "reconnected")
    assert link.state.pbx_restarts == 0 and link.state.pbx_started == first
    server.uptime = 2  # the PBX came back from a restart
    await server.drop_sessions()
    await until(lambda: server.logins == 3, "reconnect after restart")
    await until(lambda: link.state.pbx_restarts == 1, "restart noticed")
    assert link.state.pbx_started != first


async def test_asterisk_timestamps_give_the_event_time(
    running: Callable[[LinkConfig], AmiLink],
) -> None:
    pbx = AmiServer(username="callassist", secret=SECRET, timestampevents=True)
    await pbx.start()
    try:
        link = running(fast_config(pbx))
        await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
        await pbx.emit(channel("1.1", "PJSIP/2001-00000001", "1.1", "100"))
        event = await next_event(link, "Newchannel")
        assert event.at == float(event.headers["Timestamp"])
    finally:
        await pbx.close()


async def test_an_endless_frame_is_dropped_and_the_stream_recovers(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    link = running(fast_config(server, max_frame=4096))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    await server.send_raw(b"Event: Junk\r\nData: " + b"x" * 50_000 + b"\r\n\r\n")
    await server.emit(channel("1.1", "PJSIP/2001-00000001", "1.1", "100"))
    assert (await next_event(link, "Newchannel")).headers["Uniqueid"] == "1.1"
    assert link.state.malformed_skipped == 1
    assert link.protocol is not None and len(link.protocol.decoder.framer.unfinished) < 4096
    assert link.state.status is LinkStatus.CONNECTED


async def test_a_channel_name_with_invalid_utf8_is_counted_and_starts_no_call(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    for name in ("Channel", "Uniqueid", "Linkedid"):
        event = channel("9.1", "PJSIP/2001-00000009", "9.1", "+15551230100")
        frame = "".join(f"{key}: {value}\r\n" for key, value in event.items()).encode()
        spoiled = frame.replace(f"{name}: {event[name]}".encode(), f"{name}: ".encode() + b"9\xff1")
        await server.send_raw(spoiled + b"\r\n")
    await server.emit(channel("1.1", "PJSIP/2001-00000001", "1.1", "100"))
    board = Switchboard(TrunkPlan.parse("PJSIP/2001"))
    received = await next_event(link, "Newchannel")
    board.feed(received.headers, received.at)

    assert received.headers["Uniqueid"] == "1.1"  # the three spoiled frames never came out
    assert link.state.malformed_skipped == 3
    assert [call.call_id for call in board.tracker.live_calls] == ["1.1"]


async def test_an_action_whose_caller_left_leaves_no_unretrieved_error_at_close(
    server: AmiServer, running: Callable[[LinkConfig], AmiLink]
) -> None:
    """The service's stop cancels the task that asked the PBX something, then closes the
    link, which fails the action: nobody is left to hear it, and asyncio must not log it."""
    unheard: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unheard.append(context))
    server.answer_originates = False
    link = running(fast_config(server))
    await until(lambda: link.state.status is LinkStatus.CONNECTED, "login")
    originate = actions.originate(
        channel="PJSIP/1001",
        context="callassist-callback",
        exten="+15551230100",
        caller_id="Callback <2001>",
        channel_id="cb-0002",
        variables={},
    )
    asker = asyncio.create_task(link.send(originate))
    await server.wait_for_action("Originate")
    asker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asker
    link.close()
    await link.wait_closed()
    del asker
    gc.collect()
    await asyncio.sleep(0)

    assert [str(context.get("message")) for context in unheard] == []
