"""The IT board's lines: the AMI link, every trunk and phone with its state, and drop rates
per trunk over time."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.auth.deps import ItSideUser
from app.db.engine import DatabaseDep
from app.lines import store as lines
from app.ownership.answers import AtOwnerDep
from app.pbxes.ids import DEFAULT_PBX
from app.status.schemas import LinkStatus
from app.web.answers import OWNER_UNREACHABLE, ROLES

router = APIRouter(prefix="/api/lines", tags=["lines"], responses=ROLES)


class LastFault(BaseModel):
    fault: str = Field(description="what went wrong: unreachable, media_timeout, drop_cluster...")
    at: float | None
    detail: int | str | None = Field(description="a Q.850 cause, a measure, how many drops")


class EndpointLine(BaseModel):
    endpoint: str = Field(description="PJSIP/1001")
    pbx: str = Field(default=DEFAULT_PBX, description="the PBX the line is on")
    kind: Literal["trunk", "agent"]
    state: Literal["reachable", "unreachable", "unregistered", "unknown"]
    roundtrip_ms: float | None = Field(description="the PBX's last qualify round trip")
    last_change_at: float | None = Field(description="when the state last changed")
    agent: str | None = Field(description="display name of the agent at this phone")
    last_fault: LastFault | None = Field(description="the last fault signalled on this line")


class LineBoard(BaseModel):
    link: LinkStatus = Field(description="the AMI link, as /api/status shows it")
    endpoints: list[EndpointLine]
    incidents_active: int


class Bucket(BaseModel):
    start: float
    calls: int
    dropped: int


class TrunkDrops(BaseModel):
    pbx: str = Field(description="the PBX the trunk is on")
    trunk: str
    calls: int
    dropped: int
    rate: float = Field(description="dropped / calls, 0 to 1")
    buckets: list[Bucket]


class DropRates(BaseModel):
    since: float
    until: float
    bucket_seconds: float
    trunks: list[TrunkDrops]


@router.get(
    "",
    response_model=LineBoard,
    summary="The AMI link and every trunk and phone",
    responses=OWNER_UNREACHABLE,
)
async def line_board(user: ItSideUser, owner: AtOwnerDep) -> dict[str, Any]:
    """Each PBX's owner's line watch, whichever instance took the request: every PBX's
    trunks and phones (each row names its PBX), and the first PBX's link that is not up
    (else the first's)."""
    boards = [await owner.ask("line_board", pbx=pbx) for pbx in owner.pbxes]
    endpoints = [row for board in boards for row in board["endpoints"]]
    links = [board["link"] for board in boards]
    link = next((link for link in links if link.get("status") != "connected"), links[0])
    return {**boards[0], "endpoints": endpoints, "link": link}


@router.get("/drop-rates", response_model=DropRates, summary="Dropped calls per trunk over time")
async def drop_rates(
    user: ItSideUser,
    database: DatabaseDep,
    hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24,
    bucket_minutes: Annotated[float, Query(ge=1, le=24 * 60)] = 60,
) -> dict[str, Any]:
    until = time.time()
    since = until - hours * 3600
    bucket_seconds = max(bucket_minutes * 60, hours * 3600 / 2000)  # at most ~2000 buckets
    return await database.run(
        lambda s: lines.drop_rates(s, since=since, until=until, bucket_seconds=bucket_seconds)
    )
