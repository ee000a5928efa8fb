"""The callback list agents and supervisors work from, and the closed loop per call.

Dropped calls with an agent are dialled by the service itself; the others wait here until
someone takes one (``dial``: the service rings that person's phone, then the customer) or
closes it with what happened.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from app.auth.deps import MAX_INT, CurrentUser, require_roles
from app.auth.store import Role
from app.callbacks import query as reading
from app.callbacks import store as callbacks
from app.db.engine import Database, DatabaseDep, Session
from app.db.tables import Callback, User
from app.ownership.answers import AtOwnerDep
from app.pbxes.ids import DEFAULT_PBX
from app.settings import Settings, SettingsDep
from app.web.answers import (
    ROLE,
    SIGNED_IN,
    UNREADABLE,
    Answers,
    conflict,
    not_found,
    problem,
)

router = APIRouter(prefix="/api/callbacks", tags=["callbacks"], responses=SIGNED_IN)

CallbackId = Annotated[int, Path(ge=1, le=MAX_INT)]
Worker = Annotated[User, Depends(require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]
# Every dropped, abandoned and missed call with its customer: not an agent's view.
Overseer = Annotated[
    User, Depends(require_roles(Role.QA, Role.IT, Role.SUPERVISOR, Role.ADMIN))
]
ENDPOINT = r"^[A-Za-z0-9]+/[A-Za-z0-9_.+-]+$"
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # a number or a queue is one line of text
TAKE: Answers = {
    **UNREADABLE,
    **ROLE,
    **not_found("callback"),
    **conflict("the callback is not waiting to be taken (dialled or closed already)"),
}


class CallbackPage(BaseModel):
    items: list[dict[str, Any]] = Field(description="callback views with attempts_list")
    total: int


class DialRequest(BaseModel):
    agent: str | None = Field(
        default=None,
        pattern=ENDPOINT,
        max_length=128,
        description="whose phone rings first; agents always ring their own",
    )


class CallbackRequest(BaseModel):
    customer: str = Field(
        min_length=1,
        max_length=64,
        pattern=PRINTABLE,
        description="the number to call back, as the PBX dials it",
    )
    pbx: str = Field(
        default=DEFAULT_PBX,
        max_length=40,
        description="the PBX whose trunks reach the customer (one of the configured PBXs)",
    )
    agent: str | None = Field(
        default=None,
        pattern=ENDPOINT,
        max_length=128,
        description="whose phone rings first; an agent's own by default",
    )
    queue: str | None = Field(default=None, max_length=128, pattern=PRINTABLE)
    note: str = Field(default="", max_length=callbacks.MAX_NOTE)


class CloseRequest(BaseModel):
    result: Literal["reached", "not_reached", "closed"]
    note: str = Field(default="", max_length=callbacks.MAX_NOTE)


@router.get("", response_model=CallbackPage, summary="The callback list")
async def list_callbacks(
    *,
    user: CurrentUser,
    database: DatabaseDep,
    status_filter: Annotated[
        Literal[
            "open", "all", "queued", "pending", "dialling", "reached", "not_reached", "closed"
        ],
        Query(alias="status"),
    ] = "open",
    reason: Literal["dropped", "abandoned", "missed", "requested"] | None = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    pbx: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> CallbackPage:
    scope = _scope(user)
    items, total = await database.run(
        lambda s: reading.listing(
            s,
            status=status_filter,
            reason=reason,
            customer=customer,
            pbx=pbx,
            limit=limit,
            offset=offset,
            agent=scope,
        )
    )
    return CallbackPage(items=items, total=total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Ask for a callback without a call: it waits in the callback queue",
    responses={
        **UNREADABLE,
        **ROLE,
        **conflict("the customer is already owed a callback on that PBX"),
    },
)
async def request_callback(
    body: CallbackRequest, user: Worker, database: DatabaseDep, settings: SettingsDep
) -> dict[str, Any]:
    """A person asks for a callback (a customer wrote in, a call on another channel):
    it is dialled on the PBX named, by a person taking it from the queue."""
    _known_pbx(settings, body.pbx)
    agent = body.agent
    if user.role == Role.AGENT.value:  # their own phone first, if it is on that PBX
        agent = user.endpoint if user.pbx == body.pbx else None
    now = time.time()

    def work(session: Session) -> dict[str, Any]:
        made = callbacks.request(
            session,
            customer=body.customer,
            pbx=body.pbx,
            agent=agent,
            queue=body.queue,
            note=body.note,
            now=now,
        )
        return reading.view(session, made, attempts=True)

    try:
        return await database.run(work)
    except callbacks.CallbackError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None


def _known_pbx(settings: Settings, pbx: str) -> None:
    """A callback on a PBX the service does not attach to would never be dialled."""
    if settings.pbx_named(pbx) is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"no PBX is named {pbx!r}: the PBXs are {', '.join(settings.pbx_names)}",
        )


def _scope(user: User) -> reading.Scope:
    return user.endpoint if user.role == Role.AGENT.value else reading.EVERYONE


async def _may_see(database: Database, user: User, callback_id: int) -> None:
    """An agent may work only the callbacks they may see; the others do not exist for them."""
    scope = _scope(user)
    if isinstance(scope, str | None) and not await database.run(
        lambda s: reading.visible(s, callback_id, scope)
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no callback {callback_id}")


@router.get("/loop", summary="Dropped, abandoned and missed calls: called back? reached?")
async def closed_loop(
    user: Overseer,
    database: DatabaseDep,
    hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24,
) -> dict[str, Any]:
    since = time.time() - hours * 3600
    return await database.run(lambda s: reading.closed_loop(s, since))


@router.post(
    "/{callback_id}/dial",
    summary="Take a waiting callback: ring me, then the customer",
    responses={
        **TAKE,
        503: problem(
            "no PBX configured, or the AMI link is down, or the PBX's owner (another"
            " instance) cannot be asked: nothing can be dialled now"
        ),
    },
)
async def dial(
    callback_id: CallbackId,
    user: Worker,
    owner: AtOwnerDep,
    database: DatabaseDep,
    body: DialRequest | None = None,
) -> dict[str, Any]:
    """Dialled by the PBX's owner, whichever instance took the request."""
    await _may_see(database, user, callback_id)
    agent = _dialling_agent(user, body)
    pbx = await database.run(lambda s: _pbx_of(s, callback_id))
    if user.role == Role.AGENT.value and user.pbx != pbx:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"callback {callback_id} is dialled on PBX {pbx}; your phone is on PBX {user.pbx}",
        )
    view: dict[str, Any] = await owner.ask("dial", pbx=pbx, callback_id=callback_id, agent=agent)
    return view


def _pbx_of(session: Session, callback_id: int) -> str:
    """Where the callback is dialled: its PBX's owner dials it."""
    callback = session.get(Callback, callback_id)
    if callback is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no callback {callback_id}")
    return callback.pbx


def _dialling_agent(user: User, body: DialRequest | None) -> str:
    if user.role == Role.AGENT.value:
        if not user.endpoint:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "no phone is assigned to your login"
            )
        return user.endpoint
    agent = body.agent if body is not None else None
    if agent is None:
        agent = user.endpoint
    if agent is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "say which agent's phone rings: agent"
        )
    return agent


@router.post("/{callback_id}/close", summary="Close a waiting callback by hand", responses=TAKE)
async def close(
    callback_id: CallbackId, body: CloseRequest, user: Worker, database: DatabaseDep
) -> dict[str, Any]:
    await _may_see(database, user, callback_id)
    now = time.time()

    def work(session: Session) -> dict[str, Any]:
        closed = callbacks.close(
            session, callback_id, user, result=body.result, note=body.note, now=now
        )
        return reading.view(session, closed, attempts=True)

    try:
        return await database.run(work)
    except callbacks.CallbackNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except callbacks.CallbackError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
