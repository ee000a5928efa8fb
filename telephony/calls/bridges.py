"""Bridge events: channels entering and leaving the bridges that let them talk. A call is
answered in CallBook.enter_bridge, the first moment its customer and an agent share one."""

from __future__ import annotations

from telephony.calls.book import CallBook, Handler
from telephony.calls.headers import UP
from telephony.calls.model import AmiHeaders


def on_bridge_enter(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    found = book.channel_of(event, at)
    bridge = event.get("BridgeUniqueid")
    if found is None or not bridge:
        return
    channel, call = found
    if event.get("ChannelState") == UP:
        channel.was_up = True
    book.enter_bridge(call, channel, bridge, at)


def on_bridge_leave(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    found = book.channel_of(event, at)
    if found is not None:
        book.leave_bridge(found[0])


def on_bridge_destroy(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    book.bridges.pop(event.get("BridgeUniqueid", ""), None)


HANDLERS: dict[str, Handler] = {
    "BridgeEnter": on_bridge_enter,
    "BridgeLeave": on_bridge_leave,
    "BridgeDestroy": on_bridge_destroy,
}
