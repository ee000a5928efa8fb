"""The composition root: ``build`` makes every part once, in order, and returns them complete;
``Running`` starts their tasks and stops them in the order that loses nothing.

Routes never import this module: each part's ``...Dep`` (defined next to the part's class)
reads it from ``app.state.parts``, which the lifespan below sets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from app.auth.guard import LoginGuard, LoginLimits
from app.auth.tokens import TokenSigner
from app.auth.watch import LoginWatch
from app.callbacks.desk import CallbackDesk
from app.callbacks.flights import DialPlan
from app.callbacks.rules import CallbackRules
from app.console.call_scripts.catalog import Catalog
from app.console.call_scripts.loader import load_catalog
from app.console.pops import PopLedger
from app.db.engine import Database
from app.db.pbx_lock import PbxLock
from app.demo.pbx import DemoPbx
from app.incidents.desk import IncidentDesk
from app.lines.desk import LineDesk
from app.lines.linecheck import LineCheck
from app.lines.pbx_check import PbxChecker
from app.live.calls import LiveCalls, PbxLive
from app.live.hub import Hub
from app.live.no_pbx import NoPbx, PbxLink
from app.live.pipeline import Pipeline
from app.live.relay import NoRelay, RedisRelay, Relay
from app.ownership.answers import AtOwner, OwnerAnswers, PbxAnswers
from app.ownership.desk import Ownership
from app.pbxes.config import Pbx
from app.records.desk import RecordWriter
from app.records.journal import Journal
from app.review.adherence import AdherenceRules
from app.review.scorecards.loader import Scorecard, ScorecardError, load_scorecard
from app.settings import Settings
from telephony.ami.link import AmiLink, LinkConfig
from telephony.switchboard import Switchboard

log = logging.getLogger("callassist")
POP_RESEND_EVERY = 0.25  # seconds between looks for unacknowledged pops


@dataclass(frozen=True, eq=False)
class Parts:
    """Everything the routes and the tasks use, built once; no part is missing or patched
    in later. Each PBX has its own PBX-facing parts (``pbxes``, in the order the settings
    name them); with no PBX configured there is one, whose link is a NoPbx that never
    connects."""

    settings: Settings
    database: Database
    signer: TokenSigner
    login_guard: LoginGuard
    hub: Hub
    catalog: Catalog
    scorecard: Scorecard
    adherence_rules: AdherenceRules
    pbxes: tuple[PbxSide, ...]
    relay: Relay  # live messages to and from the other instances (NoRelay: none)
    live_calls: LiveCalls  # the calls in progress, this instance's or the owners'
    answers: PbxAnswers  # what this instance answers for the PBXs it owns
    at_owner: AtOwner  # where a route's PBX question is answered
    logins: LoginWatch  # the open WebSockets' logins, checked together
    started_at: float = field(default_factory=time.time)

    def pbx(self, name: str) -> PbxSide:
        """A PBX's parts; KeyError for a name the settings do not know."""
        return next(side for side in self.pbxes if side.name == name)


def build(settings: Settings, link_configs: dict[str, LinkConfig | None]) -> Parts:
    """Every part, each handed what it needs; nothing runs yet. ``link_configs``: each
    PBX's AMI link (None: not configured), by name, in the settings' order."""
    database = Database(settings.database_url)
    relay = _relay(settings)
    hub = Hub(relay)
    pbxes = tuple(
        _pbx_side(settings, pbx, link_configs[pbx.name], database, hub)
        for pbx in settings.pbx_list
    )
    live_calls = LiveCalls([side.live for side in pbxes], relay)
    answers = PbxAnswers({side.name: side.answers for side in pbxes})
    return Parts(
        settings=settings,
        database=database,
        signer=TokenSigner(_secret_key(settings), settings.token_minutes),
        login_guard=LoginGuard(_login_limits(settings)),
        hub=hub,
        catalog=_catalog(settings),
        scorecard=_scorecard(settings),
        adherence_rules=_adherence_rules(settings),
        pbxes=pbxes,
        relay=relay,
        live_calls=live_calls,
        answers=answers,
        at_owner=AtOwner(live_calls, relay, answers),
        logins=LoginWatch(database, settings.ws_login_check_seconds),
    )


@dataclass(frozen=True, eq=False)
class PbxSide:
    """One PBX's parts on this instance: its term's parts, its ownership, its answers."""

    term: PbxTerm
    ownership: Ownership
    answers: OwnerAnswers

    @property
    def name(self) -> str:
        return self.term.pbx.name

    @property
    def live(self) -> PbxLive:
        term = self.term
        return PbxLive(self.name, term.pipeline, term.link, self.ownership.state)


def _pbx_side(
    settings: Settings, pbx: Pbx, link_config: LinkConfig | None, database: Database, hub: Hub
) -> PbxSide:
    """A PBX's AMI link, pipeline, record writer and desks, and who owns it."""
    link: PbxLink = AmiLink(link_config) if link_config is not None else NoPbx()
    writer = RecordWriter(database, Journal(settings.journal_file_of(pbx.name)))
    callback_rules = _callback_rules(settings)  # the pipeline decides, the desk dials
    callbacks = CallbackDesk(
        database, hub, link, rules=callback_rules, plan=_dial_plan(settings), stored=writer.flush,
        pbx=pbx.name,
    )
    incidents = IncidentDesk(database, hub, settings, pbx=pbx.name)
    trunks = settings.trunk_plan_of(pbx)
    lines = LineDesk(database, hub, trunks, pbx=pbx.name)
    pipeline = Pipeline(
        link, Switchboard(trunks, settings.watch_rules), hub, writer,
        PopLedger(settings.pop_ack_seconds, settings.pop_resends),
        desks=(callbacks, incidents, lines), database=database, callback_rules=callback_rules,
        pbx=pbx.name,
    )
    first = pbx.name == settings.pbx_list[0].name
    pbx_check, line_check = _checks(settings, link, incidents, first=first)
    term = PbxTerm(
        settings, pbx, link, writer, callbacks, incidents, lines, pipeline, pbx_check, line_check
    )
    return PbxSide(term, _ownership(settings, database, term), OwnerAnswers(term, database))


@dataclass(frozen=True, eq=False)
class PbxTerm:
    """The PBX-facing parts' tasks for one term of ownership (app/ownership/desk.py): begun
    when the PBX's lock is won, ended when it is lost or the service stops, begun again at
    the next win. Ending a term is what a stop always was: what was taken is stored, for
    ``stop_store_seconds`` at most, and what is left (the writer's batch in hand, its queue,
    what the pipeline and the link still held) goes to the writer's journal, which the
    writer stores first when a term begins. Then each part forgets the PBX's picture: the
    next term takes it up from the database and the PBX, as a start does."""

    settings: Settings
    pbx: Pbx
    link: PbxLink
    writer: RecordWriter
    callbacks: CallbackDesk
    incidents: IncidentDesk
    lines: LineDesk
    pipeline: Pipeline
    pbx_check: PbxChecker
    line_check: LineCheck | None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def start(self) -> None:
        self._spawn(self.writer.run(), "record-writer")
        self._spawn(self.incidents.run(), "incident-desk")
        self._spawn(self.incidents.run_reminders(), "incident-reminders")
        self._spawn(self.lines.run(), "line-desk")
        if isinstance(self.link, NoPbx):
            log.warning("no PBX configured (CALLASSIST_AMI_URL): no live calls will arrive")
        else:
            self.link.start()
            self._spawn(self.pipeline.run(), "pipeline")
            self._spawn(self.callbacks.run(), "callback-desk")
            self._spawn(self.pipeline.run_contacts(), "line-contacts")
            self._spawn(_resend_pops(self.pipeline), "pop-resender")
            self._spawn(self.pbx_check.run(), "pbx-check")
        if self.line_check is not None:
            self._spawn(self.line_check.run(), "line-check")

    async def stop(self) -> None:
        """Stop taking events; store what was taken; journal the rest; forget the PBX."""
        writer, *others = self.tasks
        self.link.close()
        for task in others:
            task.cancel()
        await _ended(others)
        if not isinstance(self.link, NoPbx):
            _handle_the_rest(self.link, self.pipeline, self.writer)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.writer.flush(), timeout=self.settings.stop_store_seconds)
        writer.cancel()
        await _ended([writer])
        self.writer.journal_rest()
        try:
            await asyncio.wait_for(self.link.wait_closed(), timeout=STOP_WAIT_SECONDS)
        except TimeoutError:
            log.error("the AMI link did not close within %g s", STOP_WAIT_SECONDS)
        self.tasks.clear()
        for part in (self.pipeline, self.callbacks, self.incidents, self.lines):
            part.forget()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self.tasks.append(asyncio.create_task(work, name=name))


STOP_WAIT_SECONDS = 10.0  # a cancelled task that has not ended by then is not waited for


async def _ended(tasks: list[asyncio.Task[Any]]) -> None:
    """Wait for cancelled tasks to end, for a while: a stop must reach the journal even if
    a part hangs (that part is named in the log, for the bug it is)."""
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_SECONDS)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s ended with an error: %r", task.get_name(), task.exception())
    if pending:
        names = ", ".join(sorted(task.get_name() for task in pending))
        log.error("not ended %g s after the stop: %s", STOP_WAIT_SECONDS, names)


class Running:
    """The parts' tasks: the ownership's (which runs the PBX-facing term while this instance
    owns the PBX) and the extra ones; stopped so that what was taken is stored."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self._tasks: list[asyncio.Task[Any]] = []

    def start(self, *extra: Coroutine[Any, Any, None]) -> None:
        parts = self.parts
        for side in parts.pbxes:
            name = f"ownership-{side.name}"
            self._tasks.append(asyncio.create_task(side.ownership.run(), name=name))
        relay = parts.relay.run(parts.hub, parts.live_calls, parts.answers)
        self._tasks.append(asyncio.create_task(relay, name="relay"))
        self._tasks.append(asyncio.create_task(parts.logins.run(), name="login-watch"))
        for number, work in enumerate(extra):
            self._tasks.append(asyncio.create_task(work, name=f"extra-{number}"))

    async def stop(self) -> None:
        """End the term (see PbxTerm.stop: nothing the link received is lost), let the lock
        go, then close the database."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(side.ownership.stop() for side in self.parts.pbxes))
        self.parts.database.dispose()


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The service's life: the demo PBX first (it is the other end of the link), then the
    parts; on the way out, the reverse."""
    settings: Settings = app.state.settings
    demo = (
        DemoPbx(settings.trunk_plan, calls_per_minute=settings.demo_calls_per_minute)
        if settings.demo
        else None
    )
    configs = {pbx.name: pbx.link_config() for pbx in settings.pbx_list}
    if demo is not None:  # the demo's simulator is the first PBX
        configs[settings.pbx_list[0].name] = await demo.start()
    running = Running(build(settings, configs))
    app.state.parts = running.parts
    app.state.demo_pbx = demo
    running.start(*([demo.run_traffic()] if demo is not None else []))
    try:
        yield
    finally:
        await running.stop()
        if demo is not None:
            await demo.stop()


def _ownership(settings: Settings, database: Database, term: PbxTerm) -> Ownership:
    """On PostgreSQL with a PBX, the PBX's lock decides who owns it; otherwise (SQLite: one
    machine; no PBX: nothing to own) this instance owns it from start to stop, as before."""
    lock = None
    if database.backend == "postgresql" and not isinstance(term.link, NoPbx):
        lock = PbxLock(settings.database_url, term.pbx.name, settings.instance)
    return Ownership(
        term,
        lock,
        pbx=term.pbx.name,
        instance=settings.instance,
        poll=settings.owner_poll_seconds,
    )


def _checks(
    settings: Settings, link: PbxLink, incidents: IncidentDesk, *, first: bool
) -> tuple[PbxChecker, LineCheck | None]:
    """The PBX check, and the line probe's schedule: the probe's settings name one PBX's
    SIP listener, the first PBX's."""
    line_check = LineCheck.from_settings(settings, incidents) if first else None
    return PbxChecker.from_settings(settings, link), line_check


def _adherence_rules(settings: Settings) -> AdherenceRules:
    return AdherenceRules(settings.adherence_greeting_seconds, settings.adherence_max_hold_seconds)


def _relay(settings: Settings) -> Relay:
    if settings.redis_url is None:
        return NoRelay()
    return RedisRelay(
        settings.redis_url.get_secret_value(),
        prefix=settings.redis_prefix,
        instance=settings.instance,
    )


def _catalog(settings: Settings) -> Catalog:
    catalog = load_catalog([settings.scripts_dir] if settings.scripts_dir else [])
    for error in catalog.errors:
        log.error("call script refused: %s", error)
    return catalog


def _secret_key(settings: Settings) -> str:
    """The key that signs tokens; without one (the demo), a fresh key each start."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return secrets.token_urlsafe(48)


def _login_limits(settings: Settings) -> LoginLimits:
    return LoginLimits(
        window_seconds=settings.login_window_seconds,
        per_user_address=settings.login_failures_per_user_address,
        per_address=settings.login_failures_per_address,
        per_user=settings.login_failures_per_user,
        concurrent_checks=settings.login_concurrent_checks,
        wait_seconds=settings.login_wait_seconds,
    )


def _callback_rules(settings: Settings) -> CallbackRules:
    return CallbackRules(
        schedule=settings.callback_schedule,
        retry_causes=settings.callback_retry_cause_set,
        short_abandon_seconds=settings.short_abandon_seconds,
        jumps_queue=settings.callback_jumps_queue,
        diallable_number=settings.callback_diallable_number,
    )


def _dial_plan(settings: Settings) -> DialPlan:
    return DialPlan(
        settings.callback_context, settings.callback_caller_id, settings.callback_ring_seconds
    )


def _scorecard(settings: Settings) -> Scorecard:
    """The operator's scorecard; a file that cannot be used is refused (logged) and the
    shipped one serves, as with call scripts: reviewers can still work."""
    try:
        return load_scorecard(settings.scorecard_file)
    except ScorecardError as error:
        log.error("scorecard refused, the shipped one is used: %s", error)
        return load_scorecard(None)


def _handle_the_rest(link: AmiLink, pipeline: Pipeline, writer: RecordWriter) -> None:
    """At stop, with the pipeline's task ended: the events the link received and the
    pipeline never took go through it now, their record jobs to the writer."""
    while not link.queue.empty():
        writer.hold(pipeline.handle(link.queue.get_nowait()))


async def _resend_pops(pipeline: Pipeline) -> None:
    while True:
        await asyncio.sleep(POP_RESEND_EVERY)
        pipeline.resend_pops(time.time())
