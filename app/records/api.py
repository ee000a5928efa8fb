"""Call records: the list with filters and paging, one call with its timeline, CSV, and
its recording, streamed with HTTP range requests so that the player can seek.

An <audio> element cannot send an Authorization header, so the recording's token may also
come in the query string, as for the WebSocket; the role and call checks are the same as for
the call.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import FileResponse, StreamingResponse

from app.auth.deps import (
    MAX_INT,
    CallPk,
    CurrentUser,
    ReviewerUser,
    bearer_token,
    user_of,
    viewer_of,
)
from app.auth.tokens import SignerDep
from app.console.deps import CatalogDep
from app.db.engine import DatabaseDep, Session
from app.pbxes.ids import NAME_PATTERN
from app.records.query import CallFilters, get_call, iter_csv, list_calls, recording_of
from app.records.recordings import AUDIO_TYPES, audible, media_type, recording_file
from app.records.schemas import CallDetail, CallPage
from app.review.deps import AdherenceDep, ScorecardDep
from app.review.store import review_of
from app.settings import SettingsDep
from app.web.answers import ROLE, SIGNED_IN, as_json, not_found

router = APIRouter(prefix="/api", tags=["calls"], responses=SIGNED_IN)

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
    pbx: Annotated[
        str | None,
        Query(description="the PBX's name, exactly: default, south (1 to 20 letters, digits,"
              " '_', '.' or '-')"),
    ] = None,
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
    _check_pbx_name(pbx)
    return CallFilters(
        since=_epoch(since),
        until=_epoch(until),
        agent=agent,
        customer=customer,
        outcome=outcome,
        queue=queue,
        pbx=pbx,
        has_complaint=has_complaint,
        has_callback=has_callback,
        disposition=disposition,
        score_min=score_min,
        score_max=score_max,
        text=q.strip() or None if q else None,
        sort=sort,
        descending=order == "desc",
    )


def _check_pbx_name(pbx: str | None) -> None:
    """A PBX filter that could never match is a mistake to show, not an empty list: a name is
    what CALLASSIST_PBXES accepts (app/pbxes/config.py), and the message says what that is
    without echoing the value."""
    if pbx is not None and not re.fullmatch(NAME_PATTERN, pbx):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "pbx is not a PBX name: 1 to 20 letters, digits, '_', '.' or '-', starting with"
            " a letter or a digit",
        )


def _epoch(value: float | datetime | None) -> float | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return value


# What the recordings folder may hold (app/records/recordings.py), as bytes.
AUDIO = {
    kind: {"schema": {"type": "string", "format": "binary"}}
    for kind in sorted({*AUDIO_TYPES.values(), "application/octet-stream"})
}

FiltersDep = Annotated[CallFilters, Depends(_filters)]


@router.get("/calls", response_model=CallPage, summary="Find calls (newest first by default)")
async def calls(
    *,
    user: CurrentUser,
    database: DatabaseDep,
    settings: SettingsDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> dict[str, Any]:
    viewer = viewer_of(user)

    def work(session: Session) -> tuple[list[dict[str, Any]], int]:
        items, total = list_calls(session, filters, viewer, limit=limit, offset=offset)
        # A stat per call of the page, off the event loop: the list flags only a recording
        # there is something in (a header-only WAV is none).
        for item in items:
            folder = settings.recordings_dir_of(item["pbx"])
            item["recording_available"] = audible(recording_file(folder, item["recording"]))
        return items, total

    items, total = await database.run(work)
    return {"items": items, "total": total}


class CsvStream(StreamingResponse):
    media_type = "text/csv"


@router.get(
    "/calls.csv",
    summary="The calls the same filters find, as CSV (QA, supervisors)",
    response_class=CsvStream,
    responses={
        **as_json({**SIGNED_IN, **ROLE}),
        200: {"description": "one row per call, a header row first"},
    },
)
async def calls_csv(
    user: ReviewerUser, database: DatabaseDep, filters: FiltersDep
) -> StreamingResponse:
    viewer = viewer_of(user)
    return CsvStream(
        database.stream(lambda s: iter_csv(s, filters, viewer)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )


@router.get(
    "/calls/{call_pk}",
    response_model=CallDetail,
    summary="One call with its timeline",
    responses=not_found("call"),
)
async def call(
    call_pk: CallPk,
    *,
    user: CurrentUser,
    database: DatabaseDep,
    settings: SettingsDep,
    catalog: CatalogDep,
    card: ScorecardDep,
    adherence_rules: AdherenceDep,
) -> dict[str, Any]:
    viewer = viewer_of(user)

    def work(session: Session) -> dict[str, Any] | None:
        found = get_call(session, call_pk, viewer)
        if found is None:
            return None
        path = recording_file(settings.recordings_dir_of(found["pbx"]), found["recording"])
        found["recording_available"] = audible(path)
        found["recording_empty"] = path is not None and not found["recording_available"]
        return review_of(session, found, catalog, card, adherence_rules)

    detail = await database.run(work)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_pk} that you may see")
    return detail


@router.get(
    "/calls/{call_pk}/recording",
    summary="The call's recording (HTTP Range supported)",
    response_class=FileResponse,
    responses={
        200: {"description": "the recording", "content": AUDIO},
        206: {"description": "a byte range of the recording", "content": AUDIO},
        **not_found("recording"),
    },
)
async def recording(
    call_pk: CallPk,
    *,
    database: DatabaseDep,
    signer: SignerDep,
    settings: SettingsDep,
    header_token: Annotated[str | None, Depends(bearer_token)],
    token: Annotated[str | None, Query(description="for <audio src>: the bearer token")] = None,
) -> FileResponse:
    user = await user_of(database, signer, header_token or token)
    viewer = viewer_of(user)
    found = await database.run(lambda s: recording_of(s, call_pk, viewer))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this call has no recording")
    name, pbx = found
    path = recording_file(settings.recordings_dir_of(pbx), name)
    if path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"the recording {name} is missing from the recordings folder",
        )
    return FileResponse(path, media_type=media_type(path), filename=path.name)
