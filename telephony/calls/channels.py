"""Channel events: a channel appears (Newchannel), is dialled (DialBegin, DialEnd), comes up
(Newstate), is asked to end (HangupRequest, SoftHangupRequest) and ends (Hangup)."""

from __future__ import annotations

from telephony.calls.book import CallBook, Handler
from telephony.calls.headers import UP, cause, number
from telephony.calls.model import AmiHeaders, Call, CallRinging, Channel, HangupRequest
from telephony.calls.views import customer

DRIVER_SOFT_HANGUP = "1"  # AST_SOFTHANGUP_DEV: the channel driver gave up (no RTP, for one)
DRIVER_GAVE_UP_CAUSE = 44  # the Hangup cause of a leg the driver gave up on


def on_newchannel(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    if event.get("Uniqueid", "") in book.owner:
        return
    if not (event.get("Linkedid") and event.get("Uniqueid") and event.get("Channel")):
        book.anomalies += 1
        return
    call = book.call_for(event["Linkedid"])
    channel = book.add_channel(call, event, "", at)
    if channel is not None:
        channel.caller_num = number(event.get("CallerIDNum"))
        channel.exten = event.get("Exten") or None


def on_newstate(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    found = book.channel_of(event, at)
    if found is not None and event.get("ChannelState") == UP:
        found[0].was_up = True


def on_dial_begin(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    dest, call = book.lookup(event.get("DestUniqueid"))
    if dest is None or call is None:
        linkedid = event.get("DestLinkedid") or event.get("Linkedid")
        if not (linkedid and event.get("DestUniqueid") and event.get("DestChannel")):
            book.anomalies += 1
            return
        call = book.call_for(linkedid)
        dest = book.add_channel(call, event, "Dest", at)
        if dest is None:
            return
    dest.dial_string = event.get("DialString")
    dest.dialled_by = event.get("Uniqueid")
    dest.originated = dest.dialled_by is None  # an AMI Originate: no caller channel
    if book.trunks.inferred:
        _infer_customer(call, dest)
    if dest.uniqueid != call.customer_leg:
        if dest.endpoint not in call.rung:
            call.rung.append(dest.endpoint)
        book.out.append(
            CallRinging(call.call_id, at, dest.endpoint, dest.name, customer(call), call.queue)
        )


def _infer_customer(call: Call, dest: Channel) -> None:
    """Without trunk patterns: a leg an Originate placed first is an agent's, and the
    customer's leg is the first one it dials."""
    if dest.originated and call.customer_leg == dest.uniqueid:
        call.customer_leg = None
        return
    origin = call.channels.get(call.origin or "")
    if (
        origin is not None
        and origin.originated
        and dest.dialled_by == origin.uniqueid
        and call.customer_leg is None
    ):
        call.customer_leg = dest.uniqueid


def on_dial_end(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    _, call = book.lookup(event.get("DestUniqueid"))
    if call is None:
        _, call = book.lookup(event.get("Uniqueid"))
    if call is not None:
        call.last_dial_status = event.get("DialStatus")


def on_hangup_request(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    found = book.channel_of(event, at)
    if found is not None and found[0].request is None:
        found[0].request = HangupRequest(False, book.seq, at)


def on_soft_hangup_request(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    # Only Cause 1 matters: the other values are Asterisk's internal flags, not Q.850. Even
    # Cause 1 is the driver giving up only if the leg then hangs up with 44 (on_hangup):
    # Asterisk sends it to the leg an attended transfer replaces too, which ends with 16.
    if event.get("Cause") != DRIVER_SOFT_HANGUP:
        return
    found = book.channel_of(event, at)
    if found is not None and found[0].driver_request is None:
        found[0].driver_request = HangupRequest(True, book.seq, at)


def on_hangup(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    found = book.channel_of(event, at)
    if found is None:
        return
    channel, call = found
    if channel.hung_up:
        return
    if event.get("ChannelState") == UP:
        channel.was_up = True
    channel.hangup_cause = cause(event.get("Cause"))
    _confirm_driver_request(channel)
    book.hang_up(call, channel, at)
    call.ended_at = at
    if at is None:
        call.times_known = False
    if all(leg.hung_up for leg in call.channels.values()):
        book.end(call, at)


def _confirm_driver_request(channel: Channel) -> None:
    """A leg asked to end by its driver that hangs up with 44: the driver gave up on it, and
    that was its request to end, in its place among the requests (it may precede a BYE)."""
    pending = channel.driver_request
    if pending is None or channel.hangup_cause != DRIVER_GAVE_UP_CAUSE:
        return
    channel.driver_hangup = True
    if channel.request is None or channel.request.seq > pending.seq:
        channel.request = pending


HANDLERS: dict[str, Handler] = {
    "Newchannel": on_newchannel,
    "Newstate": on_newstate,
    "DialBegin": on_dial_begin,
    "DialEnd": on_dial_end,
    "HangupRequest": on_hangup_request,
    "SoftHangupRequest": on_soft_hangup_request,
    "Hangup": on_hangup,
}
