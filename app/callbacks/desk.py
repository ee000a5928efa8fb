"""The callback desk: dials the callbacks finished calls are owed, once each.

One task does everything in order, so no two decisions about the same callback race. The
pipeline hands it its updates without waiting (``take``): finished calls, the PBX's answers
to our Originates, the live calls after a reconnect; it learns who is busy and who waits in
a queue from the same updates, never from the tracker.

A callback is never lost: it is decided by the pipeline and stored by the record writer in
the transaction that stores the call's end (an outbox: app/callbacks/store.py, ``owe``), so
a crash or a database outage cannot keep the one without the other; the writer retries
until both are stored. The desk dials what the table holds: at once when the writer has
stored a finished call (``stored``: its flush), and at every tick, which is also how a
started desk finishes what an earlier run left.

Exactly once: an attempt is stored with its ChannelId (the new channel's Uniqueid) before
the Originate is sent, and the AMI link never re-sends an action. An attempt the PBX may be
carrying out when a link cut or a restart hides it stays "unsure" until it is found by that
ChannelId: among the calls the next login lists, by a ``Status`` naming it, or by its own
end. Gone without a trace, it may have reached the customer: a person decides whether to
call again (rules.next_step); the service never dials twice on a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.callbacks import flights, query, store
from app.callbacks import rules as policy
from app.callbacks.flights import GONE, DialPlan, Flight, Found, look_for, originate_for
from app.callbacks.rules import CallbackRules
from app.db.engine import Database, DatabaseError, Session
from app.db.tables import Callback
from app.live.hub import Hub
from app.live.no_pbx import NOT_CONFIGURED, PbxLink, pbx_configured
from app.live.seen import SeenCalls
from app.live.updates import CallSeen, FaultSeen, LiveCallsListed, Update
from app.logs import Trouble
from app.pbxes.ids import DEFAULT_PBX
from telephony.ami.link import ActionInterrupted, ActionTimeout, AmiError, LinkDown
from telephony.ami.link import LinkStatus as AmiStatus
from telephony.calls.model import CallEnded
from telephony.calls.originate import OriginateAnswer

log = logging.getLogger("callassist.callbacks")
T = TypeVar("T")
EXCLUSION_SECONDS = 120.0  # an agent who let a callback ring out is not rung again for it


class PbxUnavailable(Exception):
    """The AMI link is down: nothing can be dialled now."""


@dataclass(frozen=True, slots=True)
class _Ended:
    ended: CallEnded


@dataclass(frozen=True, slots=True)
class _LiveSeen:
    call_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Stored:
    """The record writer stored every job queued so far: the callbacks owed are in the table."""


_Item = _Ended | OriginateAnswer | _LiveSeen | _Stored
_Check = tuple[str | None, str | None]  # why a callback waits, or the agent to ring


@dataclass(slots=True)
class DeskState:
    """What /api/status and the metrics show."""

    originates_sent: int = 0
    results: dict[str, int] = field(default_factory=dict)  # attempts by result
    last_error: str | None = None


class CallbackDesk:
    def __init__(
        self,
        database: Database,
        hub: Hub,
        link: PbxLink,
        *,
        rules: CallbackRules,
        plan: DialPlan,
        clock: Callable[[], float] = time.time,
        tick: float = 0.5,
        stored: Callable[[], Awaitable[None]] | None = None,
        pbx: str = DEFAULT_PBX,
    ) -> None:
        # Each PBX has its own desk, fed by that PBX's pipeline and dialling through its
        # link: it loads, dials and rings agents of its own PBX only.
        self.pbx = pbx
        self._database = database
        self._hub = hub
        self._link = link
        self._seen = SeenCalls()
        self.rules = rules
        self._plan = plan
        self._clock = clock
        self._tick = tick
        self._inbox: asyncio.Queue[_Item] = asyncio.Queue()
        self._flights: dict[str, Flight] = {}  # channel_id -> the attempt in flight
        self._excluded: dict[int, dict[str, float]] = {}  # callback -> agent -> until
        # Until the record writer stored what was queued (its flush); None: stored already.
        self._stored = stored
        self._owed: set[str] = set()  # finished calls whose callbacks are not yet announced
        self._waking: asyncio.Task[None] | None = None
        self._trouble = Trouble(log, "callbacks")  # what is wrong now, said once
        self.state = DeskState()

    # -- what the pipeline hands over (never waits) -----------------------------------------

    def take(self, update: Update) -> None:
        """Who is busy is known at once; what needs the database goes to the desk's task."""
        if isinstance(update, CallSeen):
            self._seen.saw(update.live)
        elif isinstance(update, FaultSeen):
            self._seen.fault(update.signal)
        elif isinstance(update, CallEnded):
            self._seen.ended(update)
            self._inbox.put_nowait(_Ended(update))
        elif isinstance(update, LiveCallsListed):
            self._seen.only(update.call_ids)
            self._inbox.put_nowait(_LiveSeen(update.call_ids))
        elif isinstance(update, OriginateAnswer):
            self._inbox.put_nowait(update)

    def forget(self) -> None:
        """A term of ownership ended: the next ``run`` reads the attempts from the database."""
        self._seen = SeenCalls()
        self._inbox = asyncio.Queue()
        self._flights.clear()
        self._owed.clear()

    # -- the desk's one task ------------------------------------------------------------------

    async def run(self) -> None:
        """The attempts an earlier run left in flight first (retried until the database
        answers), then the updates in order; with none for a tick, the callbacks due."""
        try:
            await self._until_done(self._load_flights)
            while True:
                with contextlib.suppress(TimeoutError):
                    item = await asyncio.wait_for(self._inbox.get(), self._tick)
                    await self._until_done(functools.partial(self._handle, item))
                    continue
                await self._guarded(self._on_tick())
        finally:
            if self._waking is not None:
                self._waking.cancel()

    async def _until_done(self, work: Callable[[], Awaitable[None]]) -> None:
        """Worked until the database took it, like the record writer's jobs: an update
        dropped in an outage would leave its callback dialling forever."""
        while True:
            if await self._guarded(work(), retry=True):
                return
            await asyncio.sleep(self._tick)

    async def _guarded(self, work: Awaitable[None], *, retry: bool = False) -> bool:
        """Whether ``work`` went through. A database or PBX hiccup must not stop the desk:
        what was stored stays stored and the work is picked up again. Said once when it
        begins and once when it ends, not at every tick. With ``retry``, False only for a
        database error: another error would fail again the same way (the update is left)."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.state.last_error = f"{type(error).__name__}: {error}"
            if isinstance(error, DatabaseError):
                self._trouble.began("database", str(error))
                return not retry
            self._trouble.began(type(error).__name__, self.state.last_error, bug=True)
            return True
        self._trouble.over()
        return True

    async def _handle(self, item: _Item) -> None:
        if isinstance(item, _Ended):
            await self._on_call_ended(item.ended)
        elif isinstance(item, OriginateAnswer):
            await self._on_originate_answer(item)
        elif isinstance(item, _LiveSeen):
            await self._on_live_seen(item.call_ids)
        else:
            await self._announce_owed()

    async def _on_tick(self) -> None:
        if self._owed:
            await self._announce_owed()
        await self._dial_due()

    async def _db(self, work: Callable[[Session], T]) -> T:
        return await self._database.run(work)

    # -- finished calls -----------------------------------------------------------------------

    async def _on_call_ended(self, ended: CallEnded) -> None:
        channel_id = self._flight_of(ended)
        if channel_id is not None:
            await self._callback_call_ended(channel_id, ended)
            return
        if policy.candidate(ended, self.rules, self._clock()) is None:
            return
        # The record writer stores the callback with the call's end (the pipeline decided
        # it): once it has, the callback is announced and, if automatic, dialled at once.
        self._owed.add(ended.call_id)
        if self._waking is None or self._waking.done():
            self._waking = asyncio.create_task(self._wake_when_stored())

    async def _wake_when_stored(self) -> None:
        """One waiter covers every call that ended before the writer's queue ran empty."""
        if self._stored is not None:
            await self._stored()
        self._inbox.put_nowait(_Stored())

    async def _announce_owed(self) -> None:
        """Tell people of the callbacks just stored, then dial the due ones. A call whose
        callback is not in the table once the writer stored everything queued before it
        was not owed one after all (the store decided)."""
        wanted = sorted(self._owed)
        callbacks = await self._db(lambda s: store.owed(s, wanted))
        self._owed.difference_update(wanted)
        for callback in callbacks:
            await self._publish(callback)
        await self._dial_due()

    async def _callback_call_ended(self, channel_id: str, ended: CallEnded) -> None:
        """The Originate's call is over. Asterisk dials the customer only once the agent
        answered; a call with no customer leg (and no OriginateResponse Success, which a
        link cut may have swallowed) is an agent's phone that rang out. Its failed
        OriginateResponse comes after the hang-up, too late to wait for."""
        flight = self._flights.get(channel_id)
        cause = ended.record.hangup_cause
        answered = ended.record.answered_at is not None
        if ended.ended_in_gap and not answered:
            # It ended while nobody listened: the customer may have been rung meanwhile.
            await self._finish(channel_id, policy.UNKNOWN, cause, detail=GONE)
            return
        customer_dialled = answered or any(leg.role == "customer" for leg in ended.legs)
        if flight is not None and not (flight.agent_answered or customer_dialled):
            self._exclude(flight)
            await self._finish(channel_id, policy.AGENT_NO_ANSWER, cause)
            return
        await self._finish(channel_id, policy.result_of_call(answered, cause), cause)

    def _flight_of(self, ended: CallEnded) -> str | None:
        """The attempt a finished call was: its id is our ChannelId (the Linkedid)."""
        if ended.call_id in self._flights:
            return ended.call_id
        tags = dict(ended.tags)
        return ended.call_id if policy.ATTEMPT_TAG in tags else None

    # -- the PBX's answers --------------------------------------------------------------------

    async def _on_originate_answer(self, answer: OriginateAnswer) -> None:
        channel_id = answer.action_id or answer.uniqueid
        if channel_id not in self._flights:
            channel_id = answer.uniqueid
        flight = self._flights.get(channel_id)
        if flight is None:
            return
        flight.unsure = False
        reason = answer.reason
        result = policy.result_of_originate(answer.success, reason)
        if result is None:
            flight.agent_answered = True
            now = self._clock()
            await self._db(lambda s: store.attempt_status(s, channel_id, "agent_answered", now))
            await self._publish_id(flight.callback_id)
            return
        self._exclude(flight)
        await self._finish(channel_id, result, None, originate_reason=reason)

    async def _on_live_seen(self, call_ids: frozenset[str]) -> None:
        """After a (re)connect or a restart: an attempt whose call is listed goes on. One
        that is not (an end seen meanwhile came before this, in order) is asked for by its
        ChannelId before anything is concluded (``_look_for``)."""
        login = self._link.state.connected_since or self._clock()
        for channel_id, flight in list(self._flights.items()):
            if channel_id in call_ids:
                flight.unsure = False
                continue
            if flight.sent_at >= login:
                continue  # sent after this list was asked for: it cannot be in it yet
            await self._look_for(channel_id, flight)

    async def _look_for(self, channel_id: str, flight: Flight) -> None:
        """Live: it goes on. Gone: how it went was never seen, so it ends unknown and a
        person decides (rules.next_step). Not said: still unsure, asked at the next list."""
        found = await look_for(self._link, channel_id)
        if found is Found.LIVE:
            flight.unsure = False
        elif found is Found.GONE:
            await self._finish(channel_id, policy.UNKNOWN, None, detail=GONE)

    # -- dialling -----------------------------------------------------------------------------

    async def _dial_due(self) -> None:
        """Every due callback, each dialled or told why not. The agents of a queue and a
        callback's own agent's phone are read once per pass: a backlog of due callbacks
        (every agent busy) costs a few reads every tick, not two per callback."""
        now = self._clock()
        due = await self._db(lambda s: store.due(s, now, self.pbx))
        reads = flights.PassReads()
        for callback in due:
            await self._try_dial(callback, now, reads)

    async def _try_dial(self, callback: Callback, now: float, reads: flights.PassReads) -> None:
        callback_id = callback.id or 0  # rows from the database have ids
        why, agent = await self._dial_check(callback, reads)
        if why is not None or agent is None:
            if why != callback.waiting_for:  # the same reason as at the last look: nothing new
                await self._wait(callback_id, why, now)
            return
        try:
            await self.dial(callback_id, agent)
        except store.CallbackUndiallable as undiallable:
            why = str(undiallable)
            await self._db(lambda s: store.to_a_person(s, callback_id, why, now))
            await self._publish_id(callback_id)
        except store.CallbackError as refused:
            # This one must wait (its number is being dialled for another callback); the
            # other due callbacks behind it must not.
            await self._wait(callback_id, str(refused), now)

    async def _wait(self, callback_id: int, why: str | None, now: float) -> None:
        """Say why a due callback is not dialled now; tell people when the reason changed."""
        if await self._db(lambda s: store.note_waiting(s, callback_id, why, now)):
            await self._publish_id(callback_id)

    async def _dial_check(self, callback: Callback, reads: flights.PassReads) -> _Check:
        """Why this callback cannot be dialled now, or the agent to ring."""
        if self._link.state.status is not AmiStatus.CONNECTED:
            return "the AMI link is down: it will be dialled when the link is back", None
        if any(f.callback_id == callback.id for f in self._flights.values()):
            return "an attempt is still in progress", None
        waiting = policy.queue_wait(self.rules, callback.queue, self._seen.waiting_by_queue())
        if waiting is not None:
            return waiting, None
        queue, wanted, pbx = callback.queue, callback.agent, self.pbx
        if queue not in reads.agents or wanted not in reads.phones:
            reads.agents[queue], reads.phones[wanted] = await self._db(
                lambda s: (store.agent_endpoints(s, queue, pbx), store.phone_on(s, wanted, pbx))
            )
        agents, preferred = reads.agents[queue], reads.phones[wanted]
        agent = policy.choose_agent(
            preferred, agents, self._busy_agents(), self._excluded_for(callback.id or 0)
        )
        if agent is None:
            return "no free agent", None
        return None, agent

    async def dial(self, callback_id: int, agent: str) -> dict[str, Any]:
        """Store the attempt, then send its Originate; the callback's view afterwards.

        Raises store.CallbackError when the rules refuse (another call to that number in
        progress, nothing to dial; store.CallbackElsewhere: another PBX's callback) and
        PbxUnavailable when the PBX is not reachable.
        """
        if not pbx_configured(self._link):
            raise PbxUnavailable(NOT_CONFIGURED)
        if self._link.state.status is not AmiStatus.CONNECTED:
            raise PbxUnavailable("the AMI link is down: the callback cannot be dialled now")
        now = self._clock()
        placed = await self._db(
            lambda s: store.start_attempt(s, callback_id, agent, now, self.rules, pbx=self.pbx)
        )
        self._flights[placed.channel_id] = Flight(callback_id, agent, now)
        await self._publish_id(callback_id)
        await self._send(placed)
        return await self._db(lambda s: query.view(s, store.get(s, callback_id)))

    async def _send(self, placed: store.Placed) -> None:
        action = originate_for(placed, self._plan)
        try:
            # One answer, not a list: the OriginateResponse must reach the pipeline as an event.
            reply = await self._link.send(action, answer_within=10.0, as_list=False)
        except ValueError as error:  # a header that would end its line early: never sent
            await self._finish(placed.channel_id, policy.FAILED, None, detail=str(error))
            return
        except LinkDown:
            await self._finish(placed.channel_id, policy.NOT_SENT, None, detail="link down")
            return
        except (ActionInterrupted, ActionTimeout) as error:
            log.warning("Originate for callback %s: %s", placed.callback_id, error)
            self._flights[placed.channel_id].unsure = True
            return
        except AmiError as error:
            await self._finish(placed.channel_id, policy.FAILED, None, detail=str(error))
            return
        self.state.originates_sent += 1
        if reply.response.lower() != "success":
            message = reply.message or "refused"
            await self._finish(placed.channel_id, policy.FAILED, None, detail=message)
            return
        now = self._clock()
        await self._db(lambda s: store.attempt_sent(s, placed.channel_id, now))

    async def _finish(
        self,
        channel_id: str,
        result: str,
        hangup_cause: int | None,
        *,
        detail: str = "",
        originate_reason: int | None = None,
    ) -> None:
        flight = self._flights.get(channel_id)  # forgotten once stored: a retry needs it
        now = self._clock()

        def end(session: Session) -> Callback | None:
            attempt = store.attempt_by_channel(session, channel_id)
            if attempt is None:
                return None
            callback = store.get(session, attempt.callback_id)
            step = policy.next_step(
                self.rules,
                result=result,
                attempts=callback.attempts,
                hangup_cause=hangup_cause,
                call_ended_at=callback.created_at,
                now=now,
                agent=attempt.agent,
            )
            return store.end_attempt(
                session,
                channel_id,
                result=result,
                hangup_cause=hangup_cause,
                step=step,
                now=now,
                detail=detail,
                originate_reason=originate_reason,
            )

        callback = await self._db(end)
        self._flights.pop(channel_id, None)
        if callback is None:
            return
        self.state.results[result] = self.state.results.get(result, 0) + 1
        if callback.status in store.CLOSED_RESULTS:
            self._excluded.pop(callback.id or 0, None)
        await self._publish(callback, extra=[flight.agent] if flight else [])

    # -- what the updates told ----------------------------------------------------------------

    def _busy_agents(self) -> set[str]:
        """On a call or ringing, placing a callback now, or with a faulty line."""
        return self._seen.busy_agents() | {flight.agent for flight in self._flights.values()}

    def _exclude(self, flight: Flight) -> None:
        """The agent let it ring out: not rung again for this callback for a while."""
        until = self._clock() + EXCLUSION_SECONDS
        self._excluded.setdefault(flight.callback_id, {})[flight.agent] = until

    def _excluded_for(self, callback_id: int) -> set[str]:
        now = self._clock()
        agents = self._excluded.get(callback_id, {})
        return {agent for agent, until in agents.items() if until > now}

    async def _load_flights(self) -> None:
        """After a restart: attempts not yet ended are unsure until the live channels say."""
        attempts = await self._db(lambda s: store.in_flight(s, self.pbx))
        for attempt in attempts:
            sent_at = attempt.sent_at or attempt.created_at
            self._flights[attempt.channel_id] = Flight(
                attempt.callback_id,
                attempt.agent,
                sent_at,
                unsure=True,
                agent_answered=attempt.status == "agent_answered",
            )

    # -- telling people -----------------------------------------------------------------------

    async def _publish_id(self, callback_id: int) -> None:
        callback = await self._db(lambda s: store.get(s, callback_id))
        await self._publish(callback)

    async def _publish(self, callback: Callback, extra: list[str] | None = None) -> None:
        item = await self._db(lambda s: query.view(s, callback))
        attempt = item.get("attempt") or {}
        audience = [a for a in (callback.agent, attempt.get("agent"), *(extra or [])) if a]
        self._hub.publish({"type": "callback.updated", "callback": item}, audience, pbx=self.pbx)
