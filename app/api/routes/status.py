"""The service's own health: the AMI link, the database, the live picture."""

from __future__ import annotations

import time

from fastapi import APIRouter

from app import __version__
from app.api.deps import CurrentUser, ServicesDep
from app.api.schemas import DatabaseStatus, LinkStatus, ServiceStatus
from app.wiring import Services

router = APIRouter(tags=["status"])


def link_status(services: Services) -> LinkStatus:
    link = services.link
    if link is None:
        return LinkStatus(
            configured=False,
            status="not configured",
            address=None,
            connected_since=None,
            down_since=None,
            last_error=None,
            messages_received=0,
            malformed_skipped=0,
            events_dropped=0,
            reconnects=0,
            filters_installed=False,
            pbx_restarts=0,
        )
    state = link.snapshot()
    return LinkStatus(
        configured=True,
        status=str(state.status),
        address=link.settings.address,
        connected_since=state.connected_since,
        down_since=state.down_since,
        last_error=state.last_error,
        messages_received=state.messages_received,
        malformed_skipped=state.malformed_skipped,
        events_dropped=state.events_dropped,
        reconnects=state.reconnects,
        filters_installed=state.filters_installed,
        pbx_restarts=state.pbx_restarts,
    )


def database_status(services: Services) -> DatabaseStatus:
    writer = services.writer.state
    return DatabaseStatus(
        backend=services.database.backend,
        reachable=services.database.reachable(),
        backlog=services.writer.backlog,
        last_error=writer.last_error,
    )


@router.get("/api/status", response_model=ServiceStatus, summary="AMI link, database, version")
def service_status(user: CurrentUser, services: ServicesDep) -> ServiceStatus:
    pipeline = services.pipeline
    return ServiceStatus(
        version=__version__,
        uptime_seconds=round(time.time() - services.started_at, 1),
        demo=services.settings.demo,
        ami=link_status(services),
        database=database_status(services),
        websocket_clients=services.hub.clients,
        live_calls=len(pipeline.board.tracker.live_calls) if pipeline else 0,
    )
