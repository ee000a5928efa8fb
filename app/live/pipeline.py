"""AMI link -> the pure core -> live messages and record jobs: the one async/core bridge.

Everything between taking an item off the link and queueing its messages is synchronous, so
a WebSocket client that subscribes and takes a snapshot in between sees each update exactly
once: either in the snapshot or after it. Publishing comes before storing: the agent's pop
never waits for the database.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from app.callbacks.desk import CallbackDesk
from app.console.pops import PopLedger
from app.incidents.desk import IncidentDesk
from app.live.hub import Hub
from app.records.desk import RecordWriter
from app.records.query import Viewer
from app.records.store import CallChange, LiveCallsSeen, PopsMissed, RecordJob
from telephony.ami.link import LinkEvent, LinkItem, LiveChannels
from telephony.calls.model import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallRinging,
    CallTransferred,
    CallUnheld,
    CallUpdate,
    LiveCall,
)
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


class ItemSource(Protocol):
    async def get(self) -> LinkItem: ...


class Pipeline:
    def __init__(
        self,
        source: ItemSource,
        board: Switchboard,
        hub: Hub,
        writer: RecordWriter,
        pops: PopLedger | None = None,
        *,
        callbacks: CallbackDesk | None = None,
        incidents: IncidentDesk | None = None,
    ) -> None:
        self._source = source
        self.board = board
        self._hub = hub
        self._writer = writer
        self.pops = pops or PopLedger()
        self.callbacks = callbacks  # told of finished calls and the PBX's Originate answers
        self.incidents = incidents  # handed fault signals and line changes (issue 6)
        self.outcomes: dict[str, int] = {}  # finished calls by outcome, for the metrics

    async def run(self) -> None:
        while True:
            for job in self.handle(await self._source.get()):
                await self._writer.put(job)

    def handle(self, item: LinkItem) -> list[RecordJob]:
        """Feed one link item to the core; publish what changed; return what to store."""
        jobs: list[RecordJob] = []
        if isinstance(item, LinkEvent):
            signals = self.board.feed(item.headers, item.at)
            received = item.received or item.at
            if self.callbacks is not None and item.headers.get("Event") == "OriginateResponse":
                self.callbacks.originate_response(item.headers, item.at)
        elif isinstance(item, LiveChannels):
            signals = self.board.reconcile(item.channels, item.at)
            received = item.at
        else:
            self._hub.publish({"type": "link.down", "at": item.at, "reason": item.reason})
            return jobs
        for signal in signals:
            jobs.extend(self._publish(signal, received))
        if isinstance(item, LiveChannels):
            live = frozenset(call.call_id for call in self.board.tracker.live_calls)
            jobs.append(LiveCallsSeen(live, item.at))
            if self.callbacks is not None:
                self.callbacks.live_calls_seen(live)
        if self.incidents is not None:
            self.incidents.lines_seen(item)
        return jobs

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

    def _publish(self, signal: Signal, received: float) -> list[RecordJob]:
        if isinstance(signal, FaultSignal):
            # The agent whose own phone it is sees it too (check your headset, issue 6).
            fault: dict[str, Any] = {"type": "line.fault", **signal.contract()}
            self._hub.publish(fault, [signal.location])
            if self.incidents is not None:
                self.incidents.signal(signal, received)  # never waits: the desk's own task
            return []
        if isinstance(signal, CallEnded):
            return self._publish_end(signal)
        live = self.board.tracker.snapshot(signal.call_id)
        if live is None:
            return []
        message = {**asdict(signal), "type": MESSAGE_TYPES[type(signal)], "call": live_view(live)}
        if isinstance(signal, POPS):
            message.update(ack=True, received_at=received)
        message["id"] = self._hub.publish(message, live.parties)
        if isinstance(signal, POPS):
            listeners = self._hub.listeners(signal.agent)
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
        self._hub.publish({**message, "at": signal.at, "record": record}, parties)
        jobs: list[RecordJob] = [CallChange(signal, None)]
        if self.callbacks is not None:
            self.callbacks.call_ended(signal)
        missed = self.pops.settle(signal.call_id)
        if missed:
            jobs.append(PopsMissed(signal.call_id, tuple(missed), signal.at))
        return jobs

    def resend_pops(self, now: float) -> int:
        """Send again the pops no console acknowledged in time; returns how many."""
        due = self.pops.due(now)
        for pop in due:
            self._hub.resend(pop.message, pop.endpoint, pop.resends)
        return len(due)


def live_view(live: LiveCall) -> dict[str, Any]:
    view = asdict(live)
    view["direction"] = str(live.direction)
    for name in ("agents", "ringing", "parties"):
        view[name] = list(view[name])
    return view
