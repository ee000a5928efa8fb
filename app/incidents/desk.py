"""The incident desk: fault signals in, incidents stored, people told. Report first.

The pipeline hands every fault signal over without waiting (``signal``); one task takes them
in order, asks the pure rules (app/incidents/rules.py) what each means and stores it. A new
incident is published to the IT side (it, supervisor, admin) the moment it exists, before its
"reported" entry is written: the procedure says report first, then handle. The agents on
live calls over the affected line get ``line.incident`` (their call script's line-fault
procedure) when it opens and when it recovers or is resolved.

It learns which calls are live, and over which lines, from the updates the pipeline hands
it (``take``), never from the tracker. Database work runs off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.db.engine import Database
from app.db.tables import Incident, User
from app.incidents import store
from app.incidents.rules import (
    JoinIncident,
    MarkRecovered,
    OpenIncident,
    decide,
)
from app.live.hub import Hub
from app.live.seen import SeenCalls
from app.live.updates import CallSeen, FaultSeen, LiveCallsListed, Update
from app.pbxes.ids import DEFAULT_PBX
from app.settings import Settings
from telephony.calls.model import CallEnded
from telephony.lines.watch import FaultSignal

RETRY_INITIAL, RETRY_MAX = 0.5, 30.0  # seconds between tries to store a fault signal
log = logging.getLogger("callassist.incidents")

IT_SIDE = ("it", "supervisor", "admin")
# A line that flaps (down, back, down: a trunk's qualify failing every other second) would
# send its agents the line-fault procedure again at every change. They are told at once the
# first time and when a person resolves it; changes in between reach them at most this
# often, the latest one last.
TELL_AGENTS_EVERY = 30.0
REMINDER_EVERY = 15.0  # how often the reminder rule is checked
_T = TypeVar("_T")


class IncidentDesk:
    def __init__(
        self,
        database: Database,
        hub: Hub,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        queue_size: int = 1000,
        tell_agents_every: float = TELL_AGENTS_EVERY,
        pbx: str = DEFAULT_PBX,
    ) -> None:
        # Each PBX has its own desk, fed by that PBX's pipeline: its incidents are its
        # PBX's, judged by that PBX's trunks (another PBX may name a trunk alike).
        self.pbx = pbx
        self._database = database
        self._hub = hub
        self._seen = SeenCalls()
        self._tell_every = tell_agents_every
        self._told_at: dict[int, float] = {}  # incident -> when its agents were last told
        self._untold: dict[int, asyncio.TimerHandle] = {}  # incident -> its deferred news
        self.clock = clock  # tests move it forward to make a reminder due
        # A PBX the settings do not name (a desk of an older database's PBX): the first's.
        known = settings.pbx_named(pbx)
        self._trunks = settings.trunk_plan_of(known) if known else settings.trunk_plan
        self._levels = settings.incident_level_rules
        self.reminder_period = settings.incident_reminder_minutes * 60
        self._signals: asyncio.Queue[tuple[FaultSignal, float]] = asyncio.Queue(queue_size)
        self.active_by_level: dict[str, int] = {}  # for the metrics
        self.signals_dropped = 0

    # -- what the pipeline and the line check hand over: never waits ------------------------

    def take(self, update: Update) -> None:
        if isinstance(update, FaultSeen):
            self.signal(update.signal, update.received)
        elif isinstance(update, CallSeen):
            self._seen.saw(update.live)
        elif isinstance(update, CallEnded):
            self._seen.ended(update)
        elif isinstance(update, LiveCallsListed):
            self._seen.only(update.call_ids)

    def signal(self, signal: FaultSignal, received: float) -> None:
        """Take a fault signal for the desk's task; a full queue drops it, counted."""
        try:
            self._signals.put_nowait((signal, received))
        except asyncio.QueueFull:
            self.signals_dropped += 1
            log.error("incident desk overloaded: %s at %s dropped", signal.fault, signal.location)

    def forget(self) -> None:
        """At the end of a term of ownership: the calls seen go; fault signals not handled
        yet are the next owner's to see (as at a stop)."""
        self._seen = SeenCalls()
        for deferred in self._untold.values():
            deferred.cancel()
        self._untold.clear()
        self._told_at.clear()
        while not self._signals.empty():
            self._signals.get_nowait()

    # -- tasks ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Take signals in order, one at a time: two signals of one fault never race."""
        await self._refresh_counts()
        while True:
            signal, received = await self._signals.get()
            await self._handle_until_stored(signal, received)

    async def _handle_until_stored(self, signal: FaultSignal, received: float) -> None:
        """A fault is never dropped for a database hiccup: it is tried again, with back-off,
        until it is stored (later signals wait behind it, in order). A retry after a partial
        write joins the incident the first try opened."""
        delay = RETRY_INITIAL
        while True:
            try:
                await self.handle(signal, received)
                return
            except Exception:  # the desk must outlive a database outage
                log.exception(
                    "incident desk: %s at %s not stored; trying again in %.1f s",
                    signal.fault,
                    signal.location,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def run_reminders(self, every: float = REMINDER_EVERY) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.remind_due()
            except Exception:
                log.exception("incident reminders failed; trying again")

    # -- the work ---------------------------------------------------------------------------

    async def handle(self, signal: FaultSignal, received: float) -> None:
        now = self.clock()
        active = await self._db(lambda db: store.active_at(db, signal.location, self.pbx))
        decision = decide(signal, trunks=self._trunks, levels=self._levels, active=active)
        if isinstance(decision, JoinIncident):
            if await self._join(decision, now):
                return
            # Resolved by someone in the meantime: the fault is news again.
            decision = decide(signal, trunks=self._trunks, levels=self._levels, active=None)
        if isinstance(decision, OpenIncident):
            await self._open(decision, received)
        elif isinstance(decision, MarkRecovered):
            await self._recover(decision, now)

    async def _join(self, decision: JoinIncident, now: float) -> bool:
        joined = await self._db(lambda db: store.join(db, decision, now))
        if joined is None:
            return False
        await self._publish_updated(joined)
        if decision.escalated or decision.relapsed:
            self._tell_agents_soon(joined)  # worse, or back: the procedure applies again
        return True

    async def _recover(self, decision: MarkRecovered, now: float) -> None:
        recovered = await self._db(lambda db: store.mark_recovered(db, decision, now))
        if recovered is not None:
            await self._publish_updated(recovered)
            self._tell_agents_soon(recovered)

    async def _open(self, decision: OpenIncident, received: float) -> None:
        detected = decision if decision.at is not None else replace(decision, at=received)
        incident = await self._db(lambda db: store.create(db, detected, self.clock(), self.pbx))
        view = store.view(incident, None, self.clock(), self.reminder_period)
        reported_at = self.clock()
        self._hub.publish_to_roles({"type": "incident.opened", "incident": view}, IT_SIDE)
        self._tell_agents(incident)
        recipients = self._hub.watching(IT_SIDE)
        # Retried on its own: retrying the whole signal would join the incident it opened,
        # and the timeline would lose its "detected" and "reported" entries.
        await self._until_stored(
            lambda db: store.record_report(
                db, incident, reported_at=reported_at, recipients=recipients
            ),
            f"the report of incident {incident.id}",
        )
        await self._refresh_counts()

    async def _until_stored(self, work: Callable[[Any], object], what: str) -> None:
        delay = RETRY_INITIAL
        while True:
            try:
                await self._db(work)
                return
            except Exception:  # the desk must outlive a database outage
                log.exception("incident desk: %s not stored; trying again in %.1f s", what, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def act(
        self, incident_id: int, action: str, by: User, *, text: str = "", actions: str = ""
    ) -> dict[str, Any]:
        """A person's move (acknowledge, progress, resolve, review); returns the view with its
        timeline. Raises store.IncidentNotFound, IllegalMove or store.BadInput."""
        now = self.clock()

        def work(db: Any) -> tuple[Incident, dict[str, Any]]:
            moved = store.move(db, incident_id, action, by=by, now=now, text=text, actions=actions)
            return moved, store.detail_view(db, moved, now, self.reminder_period)

        incident, detail = await self._db(work)
        self._hub.publish_to_roles(
            {"type": "incident.updated", "incident": _without_timeline(detail)}, IT_SIDE
        )
        if action == "resolve":
            self._tell_agents(incident)
        await self._refresh_counts()
        return detail

    async def remind_due(self) -> int:
        """Remind the IT side of every level I/II incident nobody acted on; how many."""
        now = self.clock()

        def work(db: Any) -> list[dict[str, Any]]:
            due = store.due_reminders(db, now, self.reminder_period, self.pbx)
            return store.views(db, due, now, self.reminder_period)

        reminded = await self._db(work)
        for view in reminded:
            self._hub.publish_to_roles({"type": "incident.reminder", "incident": view}, IT_SIDE)
        return len(reminded)

    # -- inside -----------------------------------------------------------------------------

    async def _db(self, work: Callable[[Any], _T]) -> _T:
        return await self._database.run(work)

    async def _refresh_counts(self) -> None:
        try:
            self.active_by_level = await self._db(lambda db: store.active_by_level(db, self.pbx))
        except Exception:
            log.exception("open incidents not counted")

    async def _publish_updated(self, incident: Incident) -> None:
        def work(db: Any) -> dict[str, Any]:
            return store.views(db, [incident], self.clock(), self.reminder_period)[0]

        view = await self._db(work)
        self._hub.publish_to_roles({"type": "incident.updated", "incident": view}, IT_SIDE)
        await self._refresh_counts()

    def _tell_agents_soon(self, incident: Incident) -> None:
        """A change the agents must hear of: now, or (their last news was less than
        TELL_AGENTS_EVERY ago) when that time is up, with the incident as it is then."""
        key = incident.id or 0
        last = self._told_at.get(key)
        loop = asyncio.get_running_loop()
        wait = 0.0 if last is None else last + self._tell_every - loop.time()
        pending = self._untold.pop(key, None)
        if pending is not None:
            pending.cancel()
        if wait <= 0:
            self._tell_agents(incident)
            return
        self._untold[key] = loop.call_later(wait, self._tell_latest, incident)

    def _tell_latest(self, incident: Incident) -> None:
        self._untold.pop(incident.id or 0, None)
        self._tell_agents(incident)

    def _tell_agents(self, incident: Incident) -> None:
        """The agents on live calls over the incident's line: their call script's line-fault
        procedure (tell the customer, offer another channel)."""
        key = incident.id or 0
        self._told_at[key] = asyncio.get_running_loop().time()  # a period of real time
        pending = self._untold.pop(key, None)
        if pending is not None:  # this news is the latest
            pending.cancel()
        calls = self._seen.carried_by(incident.location)
        brief = {
            "id": incident.id,
            "kind": incident.kind,
            "pbx": incident.pbx,
            "location": incident.location,
            "level": incident.level,
            "status": incident.status,
            "recovered_at": incident.recovered_at,
        }
        if calls:
            parts = {agent: {"call_ids": call_ids} for agent, call_ids in calls.items()}
            message = {"type": "line.incident", "incident": brief}
            self._hub.publish_per_agent(message, parts, pbx=self.pbx)



def _without_timeline(detail: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in detail.items() if key != "timeline"}


@dataclass(frozen=True)
class IncidentDesks:
    """Every PBX's incident desk, by PBX: a person's move goes to the desk of the incident's
    PBX, which knows the agents on the calls its line carries."""

    by_pbx: Mapping[str, IncidentDesk]

    def of(self, pbx: str) -> IncidentDesk:
        """The PBX's desk; an incident of a PBX no longer configured, the first PBX's."""
        return self.by_pbx.get(pbx) or next(iter(self.by_pbx.values()))

    @property
    def reminder_period(self) -> float:
        return next(iter(self.by_pbx.values())).reminder_period

    async def act(
        self, incident_id: int, action: str, by: User, *, text: str = "", actions: str = ""
    ) -> dict[str, Any]:
        """A person's move, by the desk of the incident's PBX (IncidentDesk.act)."""
        first = next(iter(self.by_pbx.values()))
        incident = await first._db(lambda db: store.get(db, incident_id))
        if incident is None:
            raise store.IncidentNotFound(incident_id)
        desk = self.of(incident.pbx)
        return await desk.act(incident_id, action, by, text=text, actions=actions)


def incident_desks(request: HTTPConnection) -> IncidentDesks:
    """The running service's (app/wiring.py puts the parts on the app)."""
    sides = request.app.state.parts.pbxes
    return IncidentDesks({side.name: cast(IncidentDesk, side.term.incidents) for side in sides})


IncidentDesksDep = Annotated[IncidentDesks, Depends(incident_desks)]
