"""Hold events: a leg put on hold and taken off it; the time on hold goes into the record."""

from __future__ import annotations

from telephony.calls.book import CallBook, Handler, release_hold
from telephony.calls.model import AmiHeaders, CallHeld, CallUnheld


def on_hold(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    found = book.channel_of(event, at)
    if found is None or found[0].on_hold:
        return
    channel, call = found
    channel.on_hold, channel.hold_since = True, at
    book.out.append(CallHeld(call.call_id, at, channel.endpoint))


def on_unhold(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    found = book.channel_of(event, at)
    if found is None or not found[0].on_hold:
        return  # an Unhold with no Hold before it (Asterisk sends one before a transfer)
    channel, call = found
    release_hold(call, channel, at)
    book.out.append(CallUnheld(call.call_id, at, channel.endpoint))


HANDLERS: dict[str, Handler] = {
    "Hold": on_hold,
    "Unhold": on_unhold,
}
