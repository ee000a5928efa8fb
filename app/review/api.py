"""The scorecard, and scoring a call (QA, supervisors, admins)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from app.auth.deps import CallPk, CurrentUser, require_roles
from app.auth.store import Role
from app.db.engine import DatabaseDep
from app.db.tables import User
from app.review.deps import ScorecardDep
from app.review.store import CriterionScore, InvalidScore, UnknownCall, score_call
from app.web.answers import BAD_INPUT, ROLE, SIGNED_IN, UNREADABLE, not_found

router = APIRouter(prefix="/api", tags=["scores"], responses=SIGNED_IN)

ScorerUser = Annotated[User, Depends(require_roles(Role.QA, Role.SUPERVISOR, Role.ADMIN))]


class CriterionView(BaseModel):
    id: str
    label: str
    label_zh: str = Field(description="the label in Chinese (zh-CN)")
    max: int
    description: str


class ScorecardView(BaseModel):
    id: str
    title: str
    criteria: list[CriterionView]


class ScoreGiven(BaseModel):
    criterion: str = Field(min_length=1, max_length=64, description="a criterion id")
    value: int = Field(ge=0, le=1000, description="0 to the criterion's max")
    comment: str = Field(default="", max_length=4000)


class ScoresRequest(BaseModel):
    scores: list[ScoreGiven] = Field(min_length=1, max_length=100)


class ScoreEntry(BaseModel):
    criterion: str
    value: int
    comment: str
    scored_by: str = Field(description="the reviewer's username")
    scored_at: float


class SupersededScore(ScoreEntry):
    superseded_at: float


class CallScores(BaseModel):
    criteria: list[CriterionView]
    current: list[ScoreEntry]
    history: list[SupersededScore] = Field(description="changed scores, newest change first")
    total: float | None = Field(description="percent of the points possible, 1 decimal")


@router.get("/scorecard", response_model=ScorecardView, summary="The criteria calls are scored on")
async def scorecard(user: CurrentUser, card: ScorecardDep) -> dict[str, Any]:
    return card.contract()


@router.put(
    "/calls/{call_pk}/scores",
    response_model=CallScores,
    summary="Score a call (QA, supervisors, admins)",
    responses={
        **UNREADABLE,
        403: {**ROLE[403], "description": "not a reviewer (agents and IT do not score)"},
        **not_found("call"),
        422: {**BAD_INPUT[422], "description": "an unknown criterion, a value above its max,"
              " a criterion twice, or fields that do not fit (detail lists them)"},
    },
    description="Criteria not sent keep their score; a changed score keeps the old one in"
    " the history. 422 for an unknown criterion or a value above the criterion's max.",
)
async def put_scores(
    call_pk: CallPk,
    body: ScoresRequest,
    user: ScorerUser,
    database: DatabaseDep,
    card: ScorecardDep,
) -> dict[str, Any]:
    given = [CriterionScore(s.criterion, s.value, s.comment) for s in body.scores]
    now = time.time()
    try:
        return await database.run(
            lambda s: score_call(s, call_pk, user, given, now, scorecard=card)
        )
    except UnknownCall:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no call {call_pk} that you may see"
        ) from None
    except InvalidScore as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
