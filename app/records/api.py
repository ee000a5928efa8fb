"""Call records: the list with filters and paging, one call with its timeline, CSV, and
its recording, streamed with HTTP range requests so that the player can seek.

An <audio> element cannot send an Authorization header, so the recording's token may also
come in the query string, as for the WebSocket; the role and call checks are the same as for
the call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import FileResponse, StreamingResponse

from app.auth.deps import (
    MAX_INT,
    CallPk,
    CurrentUser,
    ReviewerUser,
    ServicesDep,
    SessionDep,
    bearer_token,
    user_from_token,
    viewer_of,
)
from app.records.query import CallFilters, get_call, iter_csv, list_calls, recording_of
from app.records.recordings import media_type, recording_file
from app.records.schemas import CallDetail, CallPage
from app.review.store import review_of

router = APIRouter(prefix="/api", tags=["calls"])

Outcome = Literal["completed", "abandoned", "missed", "dropped", "failed"]
Sort = Literal[
    "started_at",
    "ended_at",
    "talk_seconds",
    "hold_seconds",
    "score",
    "outcome",
    "agent",
    "customer",
    "queue",
]
# A number, an endpoint or a queue name never holds a control character (NUL breaks PostgreSQL).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
When = Annotated[
    float | datetime | None,
    Query(description="epoch seconds, or an ISO 8601 date/time (UTC when no zone is given)"),
]


def _filters(
    *,
    since: When = None,
    until: When = None,
    agent: Annotated[
        str | None, Query(max_length=128, pattern=PRINTABLE, description="PJSIP/1001")
    ] = None,
    customer: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    outcome: Outcome | None = None,
    queue: Annotated[str | None, Query(max_length=128, pattern=PRINTABLE)] = None,
    has_complaint: bool | None = None,
    has_callback: bool | None = None,
    disposition: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    score_min: Annotated[float | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[float | None, Query(ge=0, le=100)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=PRINTABLE, description="text in the notes or fields"),
    ] = None,
    sort: Sort = "started_at",
    order: Literal["asc", "desc"] = "desc",
) -> CallFilters:
    if score_min is not None and score_max is not None and score_min > score_max:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "score_min is above score_max: nothing fits"
        )
    return CallFilters(
        since=_epoch(since),
        until=_epoch(until),
        agent=agent,
        customer=customer,
        outcome=outcome,
        queue=queue,
        has_complaint=has_complaint,
        has_callback=has_callback,
        disposition=disposition,
        score_min=score_min,
        score_max=score_max,
        text=q.strip() or None if q else None,
        sort=sort,
        descending=order == "desc",
    )


def _epoch(value: float | datetime | None) -> float | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return value


FiltersDep = Annotated[CallFilters, Depends(_filters)]


@router.get("/calls", response_model=CallPage, summary="Find calls (newest first by default)")
def calls(
    user: CurrentUser,
    session: SessionDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> dict[str, Any]:
    items, total = list_calls(session, filters, viewer_of(user), limit=limit, offset=offset)
    return {"items": items, "total": total}


@router.get("/calls.csv", summary="The calls the same filters find, as CSV (QA, supervisors)")
def calls_csv(user: ReviewerUser, session: SessionDep, filters: FiltersDep) -> StreamingResponse:
    return StreamingResponse(
        iter_csv(session, filters, viewer_of(user)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )


@router.get("/calls/{call_pk}", response_model=CallDetail, summary="One call with its timeline")
def call(
    call_pk: CallPk,
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
) -> dict[str, Any]:
    found = get_call(session, call_pk, viewer_of(user))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_pk} that you may see")
    folder = services.settings.recordings_dir
    found["recording_available"] = recording_file(folder, found["recording"]) is not None
    return review_of(
        session, found, services.catalog, services.scorecard, services.adherence_rules
    )

@router.get(
    "/calls/{call_pk}/recording",
    summary="The call's recording (HTTP Range supported)",
    response_class=FileResponse,
    responses={206: {"description": "a byte range of the recording"}},
)
def recording(
    call_pk: CallPk,
    services: ServicesDep,
    session: SessionDep,
    header_token: Annotated[str | None, Depends(bearer_token)],
    token: Annotated[str | None, Query(description="for <audio src>: the bearer token")] = None,
) -> FileResponse:
    user = user_from_token(services, session, header_token or token)
    name = recording_of(session, call_pk, viewer_of(user))
    if name is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this call has no recording")
    path = recording_file(services.settings.recordings_dir, name)
    if path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"the recording {name} is missing from the recordings folder",
        )
    return FileResponse(path, media_type=media_type(path), filename=path.name)
