"""The service's own health: the AMI link, the database, the live picture."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from app import __version__
from app.auth.deps import SignedIn
from app.ownership.answers import QUICK_ANSWER_WITHIN, AtOwner, AtOwnerDep, pbx_side
from app.status.metrics import render
from app.status.schemas import (
    CallScriptsStatus,
    DatabaseStatus,
    LinkStatus,
    PbxCheckStatus,
    PbxOwnerStatus,
    ServiceStatus,
)
from app.status.view import (
    PbxView,
    ServiceDep,
    ServiceView,
    link_status,
    owner_status,
    relay_status,
)
from app.web.answers import LOGIN, PUBLIC, as_json

router = APIRouter(responses=PUBLIC)


class Readiness(BaseModel):
    ready: bool
    problems: list[str] = Field(description="why not ready; empty when ready")
    backlog: int = Field(description="call updates taken and not stored yet")
    standing_by: bool = Field(
        default=False,
        description="another instance owns the PBX: this one serves pages and the API from the"
        " database and takes the PBX over if the owner dies",
    )


async def database_status(services: ServiceView) -> DatabaseStatus:
    """Every PBX's record writer, as one: what waits to be stored, and the first error."""
    writers = [side.term.writer for side in services.pbxes]
    failing = [w.state for w in writers if w.state.last_error is not None]
    return DatabaseStatus(
        backend=services.database.backend,
        reachable=await services.database.reachable(),
        backlog=sum(w.backlog for w in writers),
        last_error=failing[0].last_error if failing else None,
        failing_since=min((s.failing_since for s in failing if s.failing_since), default=None),
        journal=str(services.settings.journal_file),
        set_aside=sum(w.state.set_aside for w in writers),
    )


@router.get(
    "/api/status",
    response_model=ServiceStatus,
    summary="AMI link, database, version",
    responses=LOGIN,
)
async def service_status(
    user: SignedIn, services: ServiceDep, owner: AtOwnerDep
) -> ServiceStatus:
    """The PBX's side (the AMI link, the PBX check, the calls in progress) is the owner's,
    whichever instance answers; the rest is this instance's."""
    database = await database_status(services)
    pbxes = [await _pbx_status(side, owner) for side in services.pbxes]
    first = pbxes[0]
    return ServiceStatus(
        version=__version__,
        uptime_seconds=round(time.time() - services.started_at, 1),
        demo=services.settings.demo,
        ami=first.ami or LinkStatus(),
        pbx=first.check or PbxCheckStatus(),
        database=database,
        websocket_clients=services.hub.clients,
        live_calls=sum(pbx.live_calls for pbx in pbxes),
        call_scripts=CallScriptsStatus(
            loaded=[f"{c.id}.{c.language}" for c in services.catalog.call_scripts],
            errors=[str(error) for error in services.catalog.errors],
        ),
        pbxes=pbxes,
        redis=relay_status(services.relay.state),
    )


async def _pbx_status(side: PbxView, owner: AtOwner) -> PbxOwnerStatus:
    """Who owns the PBX, and its side as the owner answers it; when no owner can be asked,
    this instance's own view, whose link is not up, with the reason."""
    try:
        answer: dict[str, Any] = await owner.ask(
            "pbx_status", pbx=side.name, within=QUICK_ANSWER_WITHIN
        )
    except HTTPException as unanswered:
        term = side.term
        answer = pbx_side(term.link, term.pbx_check, term.pipeline)
        answer["ami"]["last_error"] = unanswered.detail
    return owner_status(side.ownership).model_copy(
        update={
            "ami": LinkStatus.model_validate(answer["ami"]),
            "check": PbxCheckStatus.model_validate(answer["pbx"]),
            "live_calls": answer["live_calls"],
        }
    )


def _pbx_problems(pbxes: Sequence[PbxView]) -> tuple[list[str], bool]:
    """A PBX this instance owns (or nobody owns yet) whose AMI link is not up; and whether
    this instance stands by for every PBX (their owners are other instances)."""
    problems, standing_by = [], True
    for side in pbxes:
        owner = side.ownership.state
        stands_by = not owner.owner and owner.owner_name is not None
        standing_by = standing_by and stands_by
        link = link_status(side.term.link)
        if link.status != "connected" and not stands_by:
            where = "" if len(pbxes) == 1 else f" (PBX {side.name})"
            problems.append(f"AMI link {link.status}{where}")
    return problems, standing_by


class Alive(BaseModel):
    status: str = Field(description='"ok"')


@router.get("/healthz", response_model=Alive, summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready: the AMI link is up and call updates are being stored",
    responses={503: {"model": Readiness, "description": "not ready: problems says why"}},
)
async def readyz(services: ServiceDep, response: Response) -> dict[str, object]:
    """503 with the reasons when the AMI link is not up, the database does not answer, or
    storing fails although it answers (a full disk: reads work, writes do not). An instance
    standing by (another owns the PBX) has no link by design: ready, it serves, as long as
    Redis brings it the owner's live messages; without them its consoles would hear nothing,
    so it says so (the owner's own consoles still get theirs: the owner stays ready)."""
    database = await database_status(services)
    problems, standing_by = _pbx_problems(services.pbxes)
    relay = services.relay.state
    owns_all = all(side.ownership.state.owner for side in services.pbxes)
    if relay.configured and not relay.connected and not owns_all:
        problems.append(
            f"Redis unreachable ({relay.last_error or 'not connected yet'}): live messages"
            " cannot reach this instance's consoles"
        )
    if not database.reachable:
        problems.append("database unreachable")
    if database.last_error is not None:
        problems.append(
            f"call updates not stored: {database.last_error} ({database.backlog} waiting)"
        )
    if problems:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {
        "ready": not problems,
        "problems": problems,
        "backlog": database.backlog,
        "standing_by": standing_by,
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={**as_json(PUBLIC), 200: {"description": "the Prometheus text format"}},
)
async def metrics(services: ServiceDep) -> Response:
    return Response(render(services), media_type=CONTENT_TYPE_LATEST)
