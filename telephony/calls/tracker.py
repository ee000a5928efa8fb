"""The call tracker: AMI events in, call updates out. Pure and synchronous; time comes in.

The model, for the next reader:

- Asterisk reports channels, one per leg, keyed by Uniqueid. Each carries a Linkedid: the
  Uniqueid of the channel that started the call. Channels sharing a Linkedid are one call.
- A call's customer leg is its first channel on a trunk endpoint (TrunkPlan); all the other
  legs are agent legs. With no trunk patterns the leg that started the call is the customer's,
  unless an AMI Originate placed it (its DialBegin has no caller): then the first leg it dials
  is the customer's.
- Bridges let channels talk. A call is answered the first moment its customer leg and an agent
  leg are in one bridge; a queue or an IVR answering the customer's channel is not an answer.
- Transfers keep one call. A blind transfer redirects the customer's channel to a new Dial
  under the same Linkedid. An attended transfer joins the consultation call (its own Linkedid)
  to the customer's call; Asterisk may also move a channel to an older Linkedid once it is
  bridged, and then the channel takes its whole call along. A merged call ends with the call
  it merged into (CallEnded.merged), so whoever saw it as a call of its own learns it is over.
- A call ends when its last channel hangs up: it is classified (outcome.py) and leaves memory.

Handlers are a table keyed by the event name: an event nobody needs costs one dict miss.
Each family of events has its module (channels, bridges, transfers, holds, labels); they all
work on one CallBook (book.py), the tracker's memory; views.py says what people see of a call.
"""

from __future__ import annotations

from collections.abc import Iterable

from telephony.calls import bridges, channels, holds, labels, transfers
from telephony.calls.book import CallBook, Handler
from telephony.calls.headers import UP
from telephony.calls.model import AmiHeaders, Call, CallUpdate, LiveCall
from telephony.calls.trunks import TrunkPlan
from telephony.calls.views import live_view

_FAMILIES = (channels, bridges, holds, labels, transfers)


class CallTracker:
    def __init__(self, trunks: TrunkPlan | None = None) -> None:
        self.trunks = trunks or TrunkPlan()
        self._book = CallBook(self.trunks)
        self._handlers: dict[str, Handler] = {
            name: handler for family in _FAMILIES for name, handler in family.HANDLERS.items()
        }

    @property
    def anomalies(self) -> int:
        """Events that could not be made sense of; counted, never raised."""
        return self._book.anomalies

    @property
    def live_calls(self) -> list[Call]:
        return list(self._book.calls.values())

    def handles(self, event_name: str) -> bool:
        return event_name in self._handlers

    def snapshot(self, call_id: str) -> LiveCall | None:
        """A call in progress as people see it; None once it has ended."""
        call = self._book.call(call_id)
        return None if call is None else live_view(call)

    def feed(self, event: AmiHeaders, at: float | None) -> list[CallUpdate]:
        """Take one AMI event (its headers and its time); return what it changed."""
        handler = self._handlers.get(event.get("Event", ""))
        if handler is None:
            return []
        book = self._book
        book.seq += 1
        book.out = []
        try:
            handler(book, event, at)
        except (KeyError, ValueError):  # a header the PBX should have sent was not usable
            book.anomalies += 1
        return book.out

    def reconcile(self, live: Iterable[AmiHeaders], at: float | None) -> list[CallUpdate]:
        """Align the picture with the PBX's list of live channels (CoreShowChannel events).

        Called after every (re)connect: calls whose channels all vanished during the gap end
        now with ended_by "unknown" and ended_in_gap set; calls that began during the gap are
        picked up, answered if their customer already talks to an agent.
        """
        book = self._book
        book.out = []
        current = {e["Uniqueid"]: e for e in live if e.get("Uniqueid") and e.get("Channel")}
        for call in list(book.calls.values()):
            book.close_vanished(call, current, at)
        for uniqueid, entry in current.items():
            if uniqueid not in book.owner:
                book.adopt(entry, at)
        for uniqueid, entry in current.items():
            bridge = entry.get("BridgeId")
            channel, owner = book.lookup(uniqueid)
            if channel is not None and owner is not None:
                if entry.get("ChannelState") == UP:
                    channel.was_up = True
                if bridge and channel.bridge != bridge:
                    book.enter_bridge(owner, channel, bridge, at)
        return book.out
