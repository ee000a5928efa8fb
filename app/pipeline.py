"""AMI link -> the pure core -> live messages and record jobs: the one async/core bridge.

Everything between taking an item off the link and queueing its messages is synchronous, so
a WebSocket client that subscribes and takes a snapshot in between sees each update exactly
once: either in the snapshot or after it. Publishing comes before storing: the agent's pop
never waits for the database.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from app.db.writer import RecordWriter
from app.hub import Hub
from app.services.calls import Viewer
from app.services.records import CallChange, LiveCallsSeen, RecordJob
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


class ItemSource(Protocol):
    async def get(self) -> LinkItem: ...


class Pipeline:
    def __init__(
        self, source: ItemSource, board: Switchboard, hub: Hub, writer: RecordWriter
    ) -> None:
        self._source = source
        self.board = board
        self._hub = hub
        self._writer = writer
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
        elif isinstance(item, LiveChannels):
            signals = self.board.reconcile(item.channels, item.at)
        else:
            self._hub.publish({"type": "link.down", "at": item.at, "reason": item.reason})
            return jobs
        for signal in signals:
            job = self._publish(signal)
            if job is not None:
                jobs.append(job)
        if isinstance(item, LiveChannels):
            live = frozenset(call.call_id for call in self.board.tracker.live_calls)
            jobs.append(LiveCallsSeen(live, item.at))
        return jobs

    def live_calls(self, viewer: Viewer) -> list[dict[str, Any]]:
        """The calls in progress this viewer may see, for a WebSocket snapshot."""
        views = []
        for call in self.board.tracker.live_calls:
            live = self.board.tracker.snapshot(call.call_id)
            if live is not None and (viewer.sees_all or viewer.endpoint in live.parties):
                views.append(live_view(live))
        return views

    def _publish(self, signal: Signal) -> RecordJob | None:
        if isinstance(signal, FaultSignal):
            # The agent whose own phone it is sees it too (check your headset, issue 6).
            fault: dict[str, Any] = {"type": "line.fault", **signal.contract()}
            self._hub.publish(fault, [signal.location])
            return None
        if isinstance(signal, CallEnded):
            record = {**signal.record.contract(), "ended_in_gap": signal.ended_in_gap}
            outcome = str(signal.record.outcome)
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            parties = {leg.endpoint for leg in signal.legs if leg.role == "agent"}
            message: dict[str, Any] = {"type": "call.ended", "call_id": signal.call_id}
            self._hub.publish({**message, "at": signal.at, "record": record}, parties)
            return CallChange(signal, None)
        live = self.board.tracker.snapshot(signal.call_id)
        if live is None:
            return None
        message = {**asdict(signal), "type": MESSAGE_TYPES[type(signal)], "call": live_view(live)}
        self._hub.publish(message, live.parties)
        return CallChange(signal, live)


def live_view(live: LiveCall) -> dict[str, Any]:
    view = asdict(live)
    view["direction"] = str(live.direction)
    for name in ("agents", "ringing", "parties"):
        view[name] = list(view[name])
    return view
