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

from collections.abc import Iterable, Mapping

from telephony.calls import bridges, channels, holds, labels, transfers
from telephony.calls.book import CallBook, Handler
from telephony.calls.headers import UP, duration
from telephony.calls.model import AmiHeaders, Call, CallUpdate, KnownCall, LiveCall
from telephony.calls.trunks import TrunkPlan
from telephony.calls.views import live_view

_FAMILIES = (channels, bridges, holds, labels, transfers)
MAX_WAITING = 10_000  # events kept while the channel list is read; the oldest go first


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
        book.out = []
        if book.resyncing and _about_unknown_channel(book, event):
            if len(book.waiting) >= MAX_WAITING:
                book.waiting.pop(0)
                book.anomalies += 1
            book.waiting.append((event, at))
            return []
        self._apply(handler, event, at)
        return book.out

    def _apply(self, handler: Handler, event: AmiHeaders, at: float | None) -> None:
        book = self._book
        book.seq += 1
        try:
            handler(book, event, at)
        except (KeyError, ValueError):  # a header the PBX should have sent was not usable
            book.anomalies += 1

    def expect_resync(self) -> None:
        """The link is logging in (again): its list of live channels is on its way.

        Until it comes, an event about a channel not known yet (one that began while nobody
        listened) waits instead of being dropped, and is applied once the list has made the
        channel known: a customer who hangs up while the list is read is seen doing so.
        """
        book = self._book
        book.resyncing = True
        book.through_gap |= set(book.calls)  # calls live before it: some events are unseen

    def reconcile(
        self,
        live: Iterable[AmiHeaders],
        at: float | None,
        known: Mapping[str, KnownCall] | None = None,
    ) -> list[CallUpdate]:
        """Align the picture with the PBX's list of live channels (CoreShowChannel events).

        Called after every (re)connect: calls whose channels all vanished during the gap end
        now with ended_by "unknown" and ended_in_gap set; calls that began during the gap
        (or before a restart) are taken up, each on one clock: a call ``known`` from before
        a restart keeps what was known (book.restore), and its times go on from its own
        stored start plus the age the PBX gives its first channel, not from our clock.
        """
        book = self._book
        book.out = []
        current = {e["Uniqueid"]: e for e in live if e.get("Uniqueid") and e.get("Channel")}
        for call in list(book.calls.values()):
            call.events_missed = call.events_missed or call.call_id in book.through_gap
            book.close_vanished(call, current, at)
        clocks = self._take_up(current, at, known or {})
        for uniqueid, entry in current.items():
            bridge = entry.get("BridgeId")
            channel, owner = book.lookup(uniqueid)
            if channel is not None and owner is not None:
                if entry.get("ChannelState") == UP:
                    channel.was_up = True
                if bridge and channel.bridge != bridge:
                    book.enter_bridge(owner, channel, bridge, clocks.get(owner.call_id, at))
        self._apply_waiting()
        return book.out

    def _take_up(
        self, current: Mapping[str, AmiHeaders], at: float | None, known: Mapping[str, KnownCall]
    ) -> dict[str, float | None]:
        """Adopt the listed channels we do not know, call by call; each call's clock."""
        book = self._book
        by_call: dict[str, list[AmiHeaders]] = {}
        for uniqueid, entry in current.items():
            if uniqueid not in book.owner:
                by_call.setdefault(entry.get("Linkedid") or uniqueid, []).append(entry)
        clocks: dict[str, float | None] = {}
        for linkedid, entries in by_call.items():
            before = known.get(linkedid)
            clock = _call_clock(linkedid, entries, at, before)
            for entry in entries:
                book.adopt(entry, clock)
            call = book.call(linkedid)
            if call is not None:
                if before is not None:
                    book.restore(call, before)
                clocks[call.call_id] = clock
        return clocks

    def _apply_waiting(self) -> None:
        book = self._book
        waiting, book.waiting, book.resyncing = book.waiting, [], False
        book.through_gap = set()
        for event, event_at in waiting:
            handler = self._handlers[event.get("Event", "")]
            self._apply(handler, event, event_at)


def _about_unknown_channel(book: CallBook, event: AmiHeaders) -> bool:
    uniqueid = event.get("Uniqueid")
    return bool(uniqueid) and uniqueid not in book.owner and event.get("Event") != "Newchannel"


def _call_clock(
    linkedid: str, entries: list[AmiHeaders], at: float | None, known: KnownCall | None
) -> float | None:
    """Now, on the clock the call's stored times were taken on: its stored start plus the
    age the PBX gives the channel that started it (whole seconds). Our own clock when
    nothing was stored, or the first channel is gone."""
    if known is None or known.started_at is None or at is None:
        return at
    origin = next((e for e in entries if e.get("Uniqueid") == linkedid), None)
    if origin is None:
        return at
    return known.started_at + duration(origin.get("Duration"))
