"""Incidents for the IT side: the list, one incident with its timeline, and the moves of the
emergency procedure (acknowledge, report progress, resolve with a cause, review)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import MAX_INT, ItSideUser
from app.db.engine import DatabaseDep, Session
from app.db.tables import User
from app.incidents import store
from app.incidents.desk import IncidentDesks, IncidentDesksDep
from app.incidents.rules import IllegalMove
from app.web.answers import ROLES, UNREADABLE, Answers, conflict, not_found

router = APIRouter(prefix="/api/incidents", tags=["incidents"], responses=ROLES)

IncidentId = Annotated[int, Path(ge=1, le=MAX_INT)]
StatusFilter = Literal["active", "all", "open", "acknowledged", "resolved", "reviewed"]
Text = Annotated[str, Field(min_length=1, max_length=store.MAX_TEXT)]
TimelineKind = Literal[
    "detected",
    "reported",
    "signal",
    "acknowledged",
    "progress",
    "reminder",
    "recovered",
    "resolved",
    "reviewed",
]
MOVE: Answers = {
    **UNREADABLE,
    **not_found("incident"),
    **conflict("not a move of the workflow now: detail, and the allowed moves"),
}


class IncidentView(BaseModel):
    id: int
    kind: str
    pbx: str = Field(description="the PBX whose line it is (default: the one PBX)")
    location: str
    level: Literal["I", "II", "III", "IV"]
    status: Literal["open", "acknowledged", "resolved", "reviewed"]
    summary: str
    detail: dict[str, Any]
    signals: int = Field(description="fault signals joined into it")
    opened_at: float
    last_signal_at: float | None
    acknowledged_at: float | None
    owner: str | None = Field(description="username")
    last_progress_at: float | None
    recovered_at: float | None = Field(description="when the signal cleared")
    resolved_at: float | None
    cause: str
    reviewed_at: float | None
    review_summary: str
    review_actions: str
    age_seconds: float
    reminder_due: bool = Field(description="level I/II with no acknowledgement or progress lately")


class IncidentPage(BaseModel):
    items: list[IncidentView]
    total: int


class TimelineEntry(BaseModel):
    kind: TimelineKind
    at: float
    user: str | None
    note: str
    detail: dict[str, Any]


class IncidentDetail(IncidentView):
    timeline: list[TimelineEntry]


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Progress(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Text


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cause: Text


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    summary: Text
    actions: str = Field(default="", max_length=store.MAX_TEXT)


@router.get("", response_model=IncidentPage, summary="Incidents: active ones first, level I first")
async def list_incidents(
    user: ItSideUser,
    desks: IncidentDesksDep,
    database: DatabaseDep,
    *,
    status: StatusFilter = "active",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> dict[str, Any]:
    now = time.time()

    def work(session: Session) -> dict[str, Any]:
        rows, total = store.list_incidents(session, status, limit=limit, offset=offset)
        return {"items": store.views(session, rows, now, desks.reminder_period), "total": total}

    return await database.run(work)


@router.get(
    "/{incident_id}",
    response_model=IncidentDetail,
    summary="One incident and its timeline",
    responses=not_found("incident"),
)
async def get_incident(
    incident_id: IncidentId, user: ItSideUser, desks: IncidentDesksDep, database: DatabaseDep
) -> dict[str, Any]:
    now = time.time()

    def work(session: Session) -> dict[str, Any] | None:
        incident = store.get(session, incident_id)
        if incident is None:
            return None
        return store.detail_view(session, incident, now, desks.reminder_period)

    found = await database.run(work)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
    return found


@router.post(
    "/{incident_id}/acknowledge",
    response_model=IncidentDetail,
    summary="Take the incident: you own it from now on",
    responses=MOVE,
)
async def acknowledge(
    incident_id: IncidentId, body: Acknowledge, user: ItSideUser, desks: IncidentDesksDep
) -> dict[str, Any] | JSONResponse:
    return await _act(desks, incident_id, "acknowledge", user)


@router.post(
    "/{incident_id}/progress",
    response_model=IncidentDetail,
    summary="Report progress: what was done, what is next",
    responses=MOVE,
)
async def progress(
    incident_id: IncidentId, body: Progress, user: ItSideUser, desks: IncidentDesksDep
) -> dict[str, Any] | JSONResponse:
    return await _act(desks, incident_id, "progress", user, text=body.note)


@router.post(
    "/{incident_id}/resolve",
    response_model=IncidentDetail,
    summary="Resolve the incident with its cause",
    responses=MOVE,
)
async def resolve(
    incident_id: IncidentId, body: Resolve, user: ItSideUser, desks: IncidentDesksDep
) -> dict[str, Any] | JSONResponse:
    return await _act(desks, incident_id, "resolve", user, text=body.cause)


@router.post(
    "/{incident_id}/review",
    response_model=IncidentDetail,
    summary="Review a resolved incident: what happened, what changes",
    responses=MOVE,
)
async def review(
    incident_id: IncidentId, body: Review, user: ItSideUser, desks: IncidentDesksDep
) -> dict[str, Any] | JSONResponse:
    return await _act(
        desks, incident_id, "review", user, text=body.summary, actions=body.actions
    )


async def _act(
    desks: IncidentDesks,
    incident_id: int,
    action: str,
    user: User,
    *,
    text: str = "",
    actions: str = "",
) -> dict[str, Any] | JSONResponse:
    try:
        return await desks.act(incident_id, action, user, text=text, actions=actions)
    except store.IncidentNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}") from None
    except IllegalMove as error:
        return JSONResponse(
            {"detail": str(error), "allowed": list(error.allowed)},
            status_code=status.HTTP_409_CONFLICT,
        )
    except store.BadInput as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
