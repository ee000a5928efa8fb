"""AMI link -> the pure core -> live messages, record jobs and desk updates: the one
async/core bridge, and the only owner of the core's state.

Everything between taking an item off the link and queueing its messages is synchronous, so
a WebSocket client that subscribes and takes a snapshot in between sees each update exactly
once: either in the snapshot or after it. Publishing comes before storing: the agent's pop
never waits for the database. The desks are handed plain updates (app/live/updates.py) and
never wait either: each works through its own inbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any, Protocol

from app.callbacks.rules import CallbackRules, candidate, customer_of
from app.console.pops import PopLedger
from app.db.engine import Database, DatabaseError
from app.live.hub import Hub
from app.live.listing import list_lines
from app.live.updates import (
    CallSeen,
    Desk,
    FaultSeen,
    LinesChanged,
    LinkLost,
    LiveCallsListed,
    Update,
)
from app.pbxes.ids import DEFAULT_PBX, split_call_id
from app.records.desk import RecordWriter
from app.records.query import Viewer
from app.records.store import (
    CallChange,
    LiveCallsSeen,
    PopsMissed,
    RecordJob,
    known_live_calls,
)
from telephony.ami.actions import ActionHeaders
from telephony.ami.link import LinkEvent, LinkItem, LiveChannels
from telephony.ami.replies import Reply
from telephony.calls.model import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallRinging,
    CallTransferred,
    CallUnheld,
    CallUpdate,
    Direction,
    KnownCall,
    LiveCall,
)
from telephony.calls.originate import OriginateAnswer
from telephony.lines.contacts import ContactReading
from telephony.lines.watch import FaultSignal
from telephony.switchboard import Signal, Switchboard

MESSAGE_TYPES: dict[type[CallUpdate], str] = {
    CallRinging: "call.ringing",
    CallAnswered: "call.answered",
    CallHeld: "call.hold",
    CallUnheld: "call.unhold",
    CallTransferred: "call.transferred",
    CallEnded: "call.ended",
}
POPS = (CallRinging, CallAnswered)  # what the agent's console acknowledges
EVERY_CALL = Viewer("supervisor", None)
log = logging.getLogger("callassist.pipeline")


class PbxLink(Protocol):
    """What the pipeline needs of the AMI link: its items, and an answer to an action."""

    async def get(self) -> LinkItem: ...

    async def send(
        self, action: ActionHeaders, *, answer_within: float = 10.0, as_list: bool | None = None
    ) -> Reply: ...


class Pipeline:
    def __init__(
        self,
        link: PbxLink,
        board: Switchboard,
        hub: Hub,
        writer: RecordWriter,
        pops: PopLedger,
        *,
        desks: Sequence[Desk] = (),
        database: Database | None = None,
        clock: Callable[[], float] = time.time,
        callback_rules: CallbackRules | None = None,
        pbx: str = DEFAULT_PBX,
    ) -> None:
        self.pbx = pbx
        self._link = link
        self._callback_rules = callback_rules or CallbackRules()
        self._contacts_wanted = asyncio.Event()
        self.board = board
        self._hub = hub
        self._writer = writer
        self.pops = pops
        self._desks = tuple(desks)
        self._database = database
        # What was stored of the calls live when the service last stopped, for the first
        # channel list after the start (CallTracker.reconcile); nothing after that.
        self._known: Mapping[str, KnownCall] = {}
        self._clock = clock
        self.outcomes: dict[str, int] = {}  # finished calls by outcome, for the metrics
        self.line_checks = 0  # the line probe's calls seen (its extension only answers)
        # Whether clients still have to be told the link is up: at start, and after each loss.
        # The link also relists its channels every so often while up; that is no news.
        self._link_up_untold = True

    async def run(self) -> None:
        self.board.expect_resync()
        self._known = await self._read_known()
        while True:
            # put_all keeps the jobs it could not queue yet with the writer if cancelled
            await self._writer.put_all(self.handle(await self._link.get()))

    async def _read_known(self) -> Mapping[str, KnownCall]:
        """The stored calls that were live at the last stop, read until the database
        answers: the calls the PBX still carries are taken up with what was known of them."""
        if self._database is None:
            return {}
        database, delay, told = self._database, 0.5, False
        while True:
            try:
                return await database.run(known_live_calls)
            except DatabaseError as error:
                if not told:
                    log.warning("live calls not read from the database (%s); retrying", error)
                    told = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def run_contacts(self) -> None:
        """After every (re)login, the PBX's contact listing: ContactStatus events come only
        on a change, so faults that began while nobody listened show up here."""
        while True:
            await self._contacts_wanted.wait()
            self._contacts_wanted.clear()
            try:
                await self.refresh_contacts()
            except Exception:
                log.exception("line states not re-read from the PBX")

    def handle(self, item: LinkItem) -> list[RecordJob]:
        """Feed one link item to the core; publish what changed; return what to store."""
        jobs: list[RecordJob] = []
        if isinstance(item, LinkEvent):
            signals = self.board.feed(item.headers, item.at)
            received = item.received or item.at
        elif isinstance(item, LiveChannels):
            signals = self.board.reconcile(item.channels, item.at, self._known)
            self._known = {}
            received = item.at
        else:
            down = {"type": "link.down", "at": item.at, "reason": item.reason, "pbx": self.pbx}
            self._hub.publish(down, pbx=self.pbx)
            self._link_up_untold = True
            self.board.expect_resync()
            self._tell(LinkLost(item.at, item.reason))
            return jobs
        for signal in signals:
            jobs.extend(self._publish(signal, received))
        if isinstance(item, LiveChannels):
            # a call merged into a live one is not over: it ends with that call
            calls = self.board.tracker.live_calls
            live = frozenset(i for call in calls for i in (call.call_id, *call.merged))
            jobs.append(LiveCallsSeen(live, item.at))
            self._tell(LiveCallsListed(live, item.at))
            if self._link_up_untold:
                self._publish_link_up(item.at)
                self._link_up_untold = False
            self._contacts_wanted.set()
        self._tell_line_changes()
        return jobs

    async def refresh_contacts(self) -> None:
        """Ask the PBX for its contacts, static ones too, and bring the line watch in line
        with them (app/live/listing.py)."""
        mark = self.board.watch.line_events  # events after this are newer than the listing
        listing = await list_lines(self._link)
        if listing is not None:
            self.contacts_listed(listing.readings, self._clock(), mark, unread=listing.unread)

    def contacts_listed(
        self,
        readings: Mapping[str, ContactReading],
        at: float,
        mark: int,
        *,
        unread: Iterable[str] = (),
    ) -> None:
        """The PBX's contact listing, asked for when the line watch was at ``mark``: the
        faults and line changes it reveals go out like those of any event."""
        watch = self.board.watch
        for signal in watch.reconcile_contacts(readings, at, asked_at_mark=mark, unread=unread):
            self._publish(signal, at)
        self._tell_line_changes()

    def forget(self) -> None:
        """At the end of a term of ownership (app/wiring.py, PbxTerm): the calls and lines
        in the core may change under another owner, so the next term starts empty and takes
        them up from the database and the PBX's channel list, as a start does."""
        self.board = self.board.fresh()
        self._known = {}
        self._link_up_untold = True

    # -- what routes and the WebSocket read ---------------------------------------------------

    @property
    def live_count(self) -> int:
        return len(self.board.tracker.live_calls)

    def endpoint_fault(self, endpoint: str) -> str | None:
        """The fault state an endpoint's line is in now, if any."""
        return self.board.watch.faulted.get(endpoint)

    def live_call(self, call_id: str) -> LiveCall | None:
        return self.board.tracker.snapshot(call_id)

    def live_calls(self, viewer: Viewer) -> list[dict[str, Any]]:
        """The calls in progress this viewer may see, for a WebSocket snapshot."""
        views = []
        for call in self.board.tracker.live_calls:
            live = self.board.tracker.snapshot(call.call_id)
            if live is not None and (viewer.sees_all or viewer.endpoint in live.parties):
                views.append(live_view(live))
        return views

    def all_live_calls(self) -> list[dict[str, Any]]:
        """Every call in progress, each with its parties (who may see it)."""
        return self.live_calls(EVERY_CALL)

    def resend_pops(self, now: float) -> int:
        """Send again the pops no console acknowledged in time; returns how many."""
        due = self.pops.due(now)
        for pop in due:
            self._hub.resend(pop.message, pop.endpoint, pop.resends, pbx=self.pbx)
        return len(due)

    # -- inside -------------------------------------------------------------------------------

    def _tell(self, update: Update) -> None:
        for desk in self._desks:
            desk.take(update)

    def _tell_line_changes(self) -> None:
        changes = self.board.watch.take_line_changes()
        if changes:
            self._tell(LinesChanged(tuple(changes)))

    def _publish_link_up(self, at: float) -> None:
        """The link logged in (first, or again after a loss): every client is told, with the
        calls it may see now, so a console that showed "PBX down" clears it and holds the
        PBX's picture, calls that began or ended meanwhile included (the same calls a new
        snapshot would list)."""
        message = {"type": "link.up", "at": at, "link": "connected", "pbx": self.pbx}
        self._hub.publish_calls(message, self.all_live_calls(), pbx=self.pbx)

    def _publish(self, signal: Signal, received: float) -> list[RecordJob]:
        if isinstance(signal, FaultSignal):
            # The agent whose own phone it is sees it too (check your headset, issue 6).
            fault: dict[str, Any] = {"type": "line.fault", **signal.contract(), "pbx": self.pbx}
            self._hub.publish(fault, [signal.location], pbx=self.pbx)
            self._tell(FaultSeen(signal, received))
            return []
        if isinstance(signal, OriginateAnswer):
            self._tell(signal)
            return []
        if isinstance(signal, CallEnded):
            if self.board.is_line_check(signal):
                self.line_checks += 1  # the probe's call: not a call for QA, agents or metrics
                return []
            return self._publish_end(signal)
        live = self.board.tracker.snapshot(signal.call_id)
        if live is None:
            return []
        self._tell(CallSeen(live))
        view = live_view(live)
        message = {**asdict(signal), "type": MESSAGE_TYPES[type(signal)], "call": view}
        if "customer" in message:  # a pop: a callback's customer is known before it is dialled
            message["customer"] = view["customer"]
        if isinstance(signal, POPS):
            message.update(ack=True, received_at=received)
        message["id"] = self._hub.publish(message, live.parties, pbx=self.pbx)
        if isinstance(signal, POPS):
            listeners = self._hub.listeners(signal.agent, self.pbx)
            self.pops.sent(
                message, signal.call_id, signal.agent, received=received, at=received,
                listeners=listeners,
            )
        return [CallChange(signal, live)]

    def _publish_end(self, signal: CallEnded) -> list[RecordJob]:
        record = {**signal.record.contract(), "ended_in_gap": signal.ended_in_gap}
        outcome = str(signal.record.outcome)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        parties = {leg.endpoint for leg in signal.legs if leg.role == "agent"}
        message: dict[str, Any] = {"type": "call.ended", "call_id": signal.call_id}
        message.update(at=signal.at, record=record, merged=list(signal.merged))
        self._hub.publish(message, parties, pbx=self.pbx)
        # The callback it is owed is decided here and stored with the call's end (app/callbacks/
        # store.py, owe): one transaction, so neither a crash nor an outage can split them.
        owed = candidate(signal, self._callback_rules, signal.at or self._clock())
        jobs: list[RecordJob] = [CallChange(signal, None, owed)]
        self._tell(signal)
        for call_id in (signal.call_id, *signal.merged):
            missed = self.pops.settle(call_id)
            if missed:
                jobs.append(PopsMissed(call_id, tuple(missed), signal.at))
        return jobs


def live_view(live: LiveCall) -> dict[str, Any]:
    view = asdict(live)
    view["direction"] = str(live.direction)
    view["customer"] = customer_of(live)
    view["pbx"] = split_call_id(live.call_id)[0]
    for name in ("agents", "ringing", "parties"):
        view[name] = list(view[name])
    return view


def live_call_of(view: dict[str, Any]) -> LiveCall:
    """The call back from its view (``live_view``), as another instance reads the owner's
    (app/live/relay.py): the view's customer is whom the call is with, which is what
    ``customer_of`` gives for the call rebuilt from it."""
    values: dict[str, Any] = {name: view.get(name) for name in LIVE_FIELDS}
    values["direction"] = Direction(values["direction"])
    for name in ("agents", "ringing", "parties"):
        values[name] = tuple(values[name] or ())
    values["tags"] = tuple((str(k), str(v)) for k, v in values["tags"] or ())
    values["events_missed"] = bool(values["events_missed"])
    values["transfers"] = int(values["transfers"] or 0)
    values["on_hold"] = bool(values["on_hold"])
    return LiveCall(**values)


LIVE_FIELDS = tuple(field.name for field in fields(LiveCall))
