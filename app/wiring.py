"""The composition root: builds every adapter and service once, starts and stops them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from app.auth.tokens import TokenSigner
from app.callbacks.desk import CallbackDesk, DialPlan
from app.callbacks.rules import CallbackRules
from app.console.call_scripts.catalog import Catalog
from app.console.call_scripts.loader import load_catalog
from app.console.pops import PopLedger
from app.db.engine import Database
from app.demo.pbx import DemoPbx
from app.incidents.desk import IncidentDesk, live_calls_of
from app.lines.linecheck import LineCheck
from app.lines.pbx_check import PbxChecker
from app.live.hub import Hub
from app.live.pipeline import Pipeline
from app.records.desk import RecordWriter
from app.review.adherence import AdherenceRules
from app.review.scorecards.loader import Scorecard, ScorecardError, load_scorecard
from app.settings import Settings
from telephony.ami.link import AmiLink, LinkConfig
from telephony.switchboard import Switchboard

log = logging.getLogger("callassist")


@dataclass(eq=False)
class Services:
    """Everything the routers reach, built in one place."""

    settings: Settings
    database: Database
    signer: TokenSigner
    hub: Hub
    writer: RecordWriter
    pipeline: Pipeline | None
    link: AmiLink | None
    catalog: Catalog
    demo_pbx: DemoPbx | None = None
    started_at: float = field(default_factory=time.time)
    writer_task: asyncio.Task[None] | None = None
    feeders: list[asyncio.Task[Any]] = field(default_factory=list)  # pipeline, demo traffic
    scorecard: Scorecard = field(default_factory=lambda: load_scorecard(None))
    adherence_rules: AdherenceRules = field(default_factory=AdherenceRules)
    callbacks: CallbackDesk | None = None
    incidents: IncidentDesk | None = None
    pbx_check: PbxChecker | None = None  # what the PBX provides, checked after every login

    async def stop(self) -> None:
        """Stop taking events, store what was taken, then close the link and the database."""
        if self.link is not None:
            self.link.close()
        for task in self.feeders:
            task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.writer.flush(), timeout=10)
        tasks = [*self.feeders, *([self.writer_task] if self.writer_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.link is not None:
            await self.link.wait_closed()
        if self.demo_pbx is not None:
            await self.demo_pbx.stop()
        self.database.dispose()


async def start_services(settings: Settings) -> Services:
    database = Database(settings.database_url)
    key = (
        settings.secret_key.get_secret_value() if settings.secret_key else secrets.token_urlsafe(48)
    )
    writer = RecordWriter(database)
    hub = Hub()
    demo_pbx = (
        DemoPbx(settings.trunk_plan, calls_per_minute=settings.demo_calls_per_minute)
        if settings.demo
        else None
    )
    config: LinkConfig | None = settings.link_config()
    if demo_pbx is not None:
        config = await demo_pbx.start()
    link = AmiLink(config) if config is not None else None
    pipeline = None
    if link is not None:
        board = Switchboard(settings.trunk_plan, settings.watch_rules)
        pops = PopLedger(settings.pop_ack_seconds, settings.pop_resends)
        pipeline = Pipeline(link, board, hub, writer, pops)
        pipeline.callbacks = _callback_desk(settings, database, hub, link, board)
    incidents = IncidentDesk(
        database,
        hub,
        settings,
        watch=pipeline.board.watch if pipeline is not None else None,
        live_calls=live_calls_of(pipeline.board) if pipeline is not None else tuple,
        link=link,
    )
    if pipeline is not None:
        pipeline.incidents = incidents
    services = Services(
        settings,
        database,
        TokenSigner(key, settings.token_minutes),
        hub,
        writer,
        pipeline,
        link,
        load_catalog([settings.scripts_dir] if settings.scripts_dir else []),
        demo_pbx,
        scorecard=_scorecard(settings),
        adherence_rules=AdherenceRules(
            settings.adherence_greeting_seconds, settings.adherence_max_hold_seconds
        ),
    )
    for error in services.catalog.errors:
        log.error("call script refused: %s", error)
    services.writer_task = asyncio.create_task(writer.run(), name="record-writer")
    services.incidents = incidents
    services.pbx_check = PbxChecker.from_settings(settings, link)
    if link is not None:
        services.feeders.append(asyncio.create_task(services.pbx_check.run(), name="pbx-check"))
    services.feeders.append(asyncio.create_task(incidents.run(), name="incident-desk"))
    services.feeders.append(
        asyncio.create_task(incidents.run_reminders(), name="incident-reminders")
    )
    if link is not None:
        services.feeders.append(
            asyncio.create_task(incidents.run_contacts(), name="line-contacts")
        )
    if link is not None and pipeline is not None:
        link.start()
        services.feeders.append(asyncio.create_task(pipeline.run(), name="pipeline"))
        services.feeders.append(asyncio.create_task(_resend_pops(pipeline), name="pop-resender"))
        if pipeline.callbacks is not None:
            services.callbacks = pipeline.callbacks
            desk = asyncio.create_task(pipeline.callbacks.run(), name="callback-desk")
            services.feeders.append(desk)
    else:
        log.warning("no PBX configured (CALLASSIST_AMI_URL): no live calls will arrive")
    if demo_pbx is not None:
        services.feeders.append(asyncio.create_task(demo_pbx.run_traffic(), name="demo-traffic"))
    # The line probe on a schedule: only with CALLASSIST_PROBE_SERVER and an interval.
    line_check = LineCheck.from_settings(settings, desk=lambda: services.incidents)
    if line_check is not None:
        services.feeders.append(asyncio.create_task(line_check.run(), name="line-check"))
    return services


def _callback_desk(
    settings: Settings, database: Database, hub: Hub, link: AmiLink, board: Switchboard
) -> CallbackDesk:
    rules = CallbackRules(
        schedule=settings.callback_schedule,
        retry_causes=settings.callback_retry_cause_set,
        short_abandon_seconds=settings.short_abandon_seconds,
        jumps_queue=settings.callback_jumps_queue,
    )
    plan = DialPlan(
        settings.callback_context, settings.callback_caller_id, settings.callback_ring_seconds
    )
    return CallbackDesk(database, hub, link, board, rules=rules, plan=plan)


def _scorecard(settings: Settings) -> Scorecard:
    """The operator's scorecard; a file that cannot be used is refused (logged) and the
    shipped one serves, as with call scripts: reviewers can still work."""
    try:
        return load_scorecard(settings.scorecard_file)
    except ScorecardError as error:
        log.error("scorecard refused, the shipped one is used: %s", error)
        return load_scorecard(None)


async def _resend_pops(pipeline: Pipeline, every: float = 0.25) -> None:
    while True:
        await asyncio.sleep(every)
        pipeline.resend_pops(time.time())


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    services = await start_services(app.state.settings)
    app.state.services = services
    try:
        yield
    finally:
        await services.stop()
