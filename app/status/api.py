"""The service's own health: the AMI link, the database, the live picture."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST

from app import __version__
from app.auth.deps import CurrentUser, ServicesDep
from app.status.metrics import render
from app.status.schemas import (
    CallScriptsStatus,
    DatabaseStatus,
    LinkStatus,
    PbxCheckStatus,
    ServiceStatus,
)
from app.wiring import Services

router = APIRouter()


def link_status(services: Services) -> LinkStatus:
    link = services.link
    if link is None:
        return LinkStatus()
    state = LinkStatus.model_validate(link.snapshot(), from_attributes=True)
    return state.model_copy(update={"configured": True, "address": link.settings.address})


def pbx_status(services: Services) -> PbxCheckStatus:
    if services.pbx_check is None:
        return PbxCheckStatus(problems=["not checked: the service is starting"])
    return PbxCheckStatus.model_validate(services.pbx_check.result.as_dict())


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
        pbx=pbx_status(services),
        database=database_status(services),
        websocket_clients=services.hub.clients,
        live_calls=len(pipeline.board.tracker.live_calls) if pipeline else 0,
        call_scripts=CallScriptsStatus(
            loaded=[f"{c.id}.{c.language}" for c in services.catalog.call_scripts],
            errors=[str(error) for error in services.catalog.errors],
        ),
    )

@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready: the AMI link is up and the database answers")
def readyz(services: ServicesDep, response: Response) -> dict[str, object]:
    link = link_status(services)
    database = database_status(services)
    problems = []
    if link.status != "connected":
        problems.append(f"AMI link {link.status}")
    if not database.reachable:
        problems.append("database unreachable")
    if problems:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"ready": not problems, "problems": problems}


@router.get("/metrics", summary="Prometheus metrics")
def metrics(services: ServicesDep) -> Response:
    return Response(render(services), media_type=CONTENT_TYPE_LATEST)
