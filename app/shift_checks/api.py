"""The shift-start check: is the agent's phone registered and reachable, is the PBX link
up, how far is the console from the service. Recorded, so the check is on file."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status

from app.auth.deps import CurrentUser
from app.db.engine import DatabaseDep
from app.ownership.answers import AtOwnerDep
from app.shift_checks import store as shift_checks
from app.shift_checks.schemas import ShiftCheckRequest, ShiftCheckResult
from app.shift_checks.store import Equipment
from app.web.answers import OWNER_UNREACHABLE, SIGNED_IN, UNREADABLE, not_found

router = APIRouter(prefix="/api/shift-checks", tags=["console"], responses=SIGNED_IN)


@router.post(
    "",
    response_model=ShiftCheckResult,
    summary="Run and record the shift-start check",
    responses={**UNREADABLE, **OWNER_UNREACHABLE},
)
async def run_check(
    body: ShiftCheckRequest, user: CurrentUser, owner: AtOwnerDep, database: DatabaseDep
) -> ShiftCheckResult:
    """The phone is read by the PBX's owner, whichever instance took the request."""
    equipment = Equipment(**await owner.ask("equipment", pbx=user.pbx, endpoint=user.endpoint))
    result = await database.run(
        lambda db: shift_checks.record(db, user, equipment, body.rtt_ms, time.time())
    )
    return ShiftCheckResult.model_validate(result)


@router.get(
    "/latest",
    response_model=ShiftCheckResult,
    summary="The user's last check",
    responses=not_found("shift check yet"),
)
async def latest(user: CurrentUser, database: DatabaseDep) -> ShiftCheckResult:
    result = await database.run(lambda db: shift_checks.latest(db, user))
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no shift check recorded yet")
    return ShiftCheckResult.model_validate(result)
