"""Health for orchestrators (no login): liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.deps import ServicesDep
from app.api.routes.status import database_status, link_status
from app.metrics import render

router = APIRouter(tags=["health"])


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
