"""Transfer events: a transfer keeps one call. A blind transfer only counts (the customer's
channel dials on under its Linkedid); an attended one merges the consultation call into the
customer's."""

from __future__ import annotations

from telephony.calls.book import CallBook, Handler
from telephony.calls.model import AmiHeaders, Call, CallTransferred
from telephony.calls.trunks import endpoint_of


def on_blind_transfer(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    if event.get("Result") != "Success":
        return
    call = _transferred_call(book, event)
    if call is not None:
        call.transfers += 1
        target = event.get("Extension") or None
        book.out.append(CallTransferred(call.call_id, at, "blind", target))


def on_attended_transfer(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    if event.get("Result") != "Success":
        return
    call = _transferred_call(book, event)
    if call is None:
        return
    for role in ("OrigTransferer", "SecondTransferer", "TransferTarget"):
        other = book.call(event.get(f"{role}Linkedid", ""))
        if other is not None and other is not call:
            call = book.join(call.call_id, other, at)
    call.transfers += 1
    target_channel = event.get("TransferTargetChannel") or event.get("SecondTransfererChannel")
    target = endpoint_of(target_channel) if target_channel else None
    book.out.append(CallTransferred(call.call_id, at, "attended", target))


def _transferred_call(book: CallBook, event: AmiHeaders) -> Call | None:
    for header in ("TransfereeLinkedid", "OrigTransfererLinkedid", "TransfererLinkedid"):
        linkedid = event.get(header)
        if linkedid:
            call = book.call(linkedid)
            if call is not None:
                return call
    book.anomalies += 1
    return None


HANDLERS: dict[str, Handler] = {
    "BlindTransfer": on_blind_transfer,
    "AttendedTransfer": on_attended_transfer,
}
