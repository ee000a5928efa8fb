"""Complaints for reviewers: the list with filters, one complaint with its history and the
customer's other complaints, and the workflow's changes. Agents file complaints through
the console, never here."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import MAX_INT, ReviewerUser
from app.complaints import rules, store
from app.complaints.store import ComplaintFilters
from app.db.engine import DatabaseDep
from app.web.answers import BAD_INPUT, ROLES, UNREADABLE, conflict, not_found

router = APIRouter(prefix="/api/complaints", tags=["complaints"], responses=ROLES)

Status = Literal["received", "in_progress", "resolved", "closed"]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # NUL breaks PostgreSQL
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
ComplaintId = Annotated[int, Path(ge=1, le=MAX_INT)]


class ComplaintItem(BaseModel):
    id: int
    call_id: str | None
    call_pk: int | None
    customer: str | None
    content: str
    category: str
    severity: str
    status: str
    owner: str | None = Field(description="username")
    due_at: float | None
    overdue: bool = Field(description="not resolved and past its due date")
    created_at: float
    updated_at: float
    created_by: str | None = Field(description="username of who filed it")


class ComplaintPage(BaseModel):
    items: list[ComplaintItem]
    total: int


class ComplaintHistoryEntry(BaseModel):
    kind: Literal["received", "status", "owner", "note"]
    at: float
    user: str | None
    detail: dict[str, Any] = Field(
        description="received: severity, category, due_at, call_id; status and owner: from,"
        " to; note: text"
    )


class ComplaintDetail(ComplaintItem):
    history: list[ComplaintHistoryEntry]
    earlier: list[ComplaintItem] = Field(
        description="the same customer's other complaints, newest first"
    )


class ComplaintChange(BaseModel):
    """What a reviewer changes; each given part is recorded in the history. ``owner``:
    null takes the complaint away from its owner; leaving it out keeps the owner."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    owner: Username | None = None
    note: str | None = Field(default=None, min_length=1, max_length=4000)


def _filters(
    *,
    status: Status | None = None,
    owner: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    customer: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    overdue: bool | None = None,
) -> ComplaintFilters:
    return ComplaintFilters(status=status, owner=owner, customer=customer, overdue=overdue)


@router.get("", response_model=ComplaintPage, summary="Find complaints, newest first")
async def list_complaints(
    user: ReviewerUser,
    database: DatabaseDep,
    filters: Annotated[ComplaintFilters, Depends(_filters)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> dict[str, Any]:
    now = time.time()
    items, total = await database.run(
        lambda s: store.list_complaints(s, filters, now=now, limit=limit, offset=offset)
    )
    return {"items": items, "total": total}


@router.get(
    "/{complaint_id}",
    response_model=ComplaintDetail,
    summary="One complaint, its history and the customer's other complaints",
    responses=not_found("complaint"),
)
async def get_complaint(
    complaint_id: ComplaintId, user: ReviewerUser, database: DatabaseDep
) -> dict[str, Any]:
    now = time.time()
    found = await database.run(lambda s: store.get_complaint(s, complaint_id, now=now))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint {complaint_id}")
    return found


@router.patch(
    "/{complaint_id}",
    response_model=ComplaintDetail,
    summary="Move a complaint along its workflow, give it an owner, or add a note",
    responses={
        **UNREADABLE,
        **not_found("complaint"),
        **conflict("not a step of the workflow: detail, and the allowed statuses"),
        422: {**BAD_INPUT[422], "description": "an unknown owner, nothing to change, or"
              " fields that do not fit (detail lists them)"},
    },
)
async def change_complaint(
    complaint_id: ComplaintId, body: ComplaintChange, user: ReviewerUser, database: DatabaseDep
) -> dict[str, Any] | JSONResponse:
    owner = body.owner if "owner" in body.model_fields_set else store.KEEP
    now = time.time()
    try:
        changed = await database.run(
            lambda s: store.change_complaint(
                s, complaint_id, by=user, now=now, status=body.status, owner=owner,
                note=body.note,
            )
        )
    except rules.IllegalTransition as error:
        return JSONResponse(
            {"detail": str(error), "allowed": list(error.allowed)},
            status_code=status.HTTP_409_CONFLICT,
        )
    except rules.BadChange as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except rules.ComplaintError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    if changed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint {complaint_id}")
    return changed
