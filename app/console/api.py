"""The agent console: the call in front of the agent, its caller, its call-script session.

The live picture (is the call ringing here, answered here) is the PBX owner's (app/live/
calls.py), read on the event loop; the database work runs off it, as everywhere.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import Field

from app.auth.deps import AgentUser
from app.console import rules
from app.console import store as console
from app.console.call_scripts.catalog import Catalog
from app.console.deps import CatalogDep
from app.console.schemas import ActionRequest, ActionResult, ConsoleCall, ConsoleOverview, Effect
from app.db.engine import DatabaseDep, Session
from app.db.tables import User
from app.live.calls import LiveCalls, LiveCallsDep
from app.live.hub import Hub, HubDep
from app.live.pipeline import live_view
from app.live.relay import RelayDown
from app.pbxes.ids import split_call_id
from app.settings import Settings, SettingsDep
from app.web.answers import (
    BAD_INPUT,
    LIVE_UNKNOWN,
    ROLES,
    UNREADABLE,
    Answers,
    Refusal,
    conflict,
    not_found,
)
from telephony.calls.model import LiveCall

# The console is for an agent with a phone: a login with none assigned is a 409 everywhere.
CONSOLE: Answers = {
    **ROLES,
    **conflict("no phone is assigned to your login, or the call-script session cannot go on"),
}
router = APIRouter(prefix="/api/console", tags=["console"], responses=CONSOLE)

CallId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="Linkedid")]
Language = Annotated[
    Literal["en", "zh-CN"] | None,
    Query(description="the agent's language: picks the call script's variant"),
]

NOT_YOUR_CALL = "this call is not ringing or talking at your phone"


class ActionRefused(Refusal):
    """The action was refused: why, the errors by field, and the session as it stays."""

    errors: dict[str, str] = Field(default_factory=dict)
    session: dict[str, Any] | None = None


def desk(catalog: Catalog, settings: Settings) -> rules.Desk:
    return rules.Desk(
        catalog,
        settings.company_name,
        date.today(),
        settings.complaint_due_hours,
        alternate_number=settings.alternate_number,
        alternate_email=settings.alternate_email,
    )


@router.get("", response_model=ConsoleOverview, summary="What a reload restores")
async def overview(
    user: AgentUser, database: DatabaseDep, catalog: CatalogDep, settings: SettingsDep
) -> ConsoleOverview:
    here = desk(catalog, settings)
    sessions = await database.run(lambda db: console.open_sessions(db, here, user))
    return ConsoleOverview(
        company=settings.company_name,
        sessions=sessions,
        call_script_errors=[str(error) for error in catalog.errors],
    )


@router.get(
    "/calls/{call_id}",
    response_model=ConsoleCall,
    summary="The screen pop: the call, its caller, and the agent's call-script session",
    description="Opens the call-script session once the agent has answered the call; a call"
    " transferred to the agent continues the previous agent's session. `incidents`: the"
    " line faults now affecting the call in progress (its trunk, or the agent's phone).",
    responses={**not_found("call at your phone"), **LIVE_UNKNOWN},
)
async def console_call(
    call_id: CallId,
    *,
    user: AgentUser,
    live_calls: LiveCallsDep,
    database: DatabaseDep,
    catalog: CatalogDep,
    settings: SettingsDep,
    language: Language = None,
) -> ConsoleCall:
    mine = await _my_live_call(live_calls, call_id, user)
    live = rules.facts_from_live(mine, user.endpoint or "", time.time()) if mine else None
    call = _live_view(mine) if mine else None
    here = desk(catalog, settings)
    # Only a call in progress can be hit by a line fault; an ended one has nothing to offer.
    locations = [mine.trunk or "", user.endpoint or ""] if mine else []

    def read(db: Session) -> ConsoleCall:
        facts = live or _recorded_party(db, call_id, user)
        session = console.find_session(db, call_id, user)
        if facts is None and session is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_YOUR_CALL)
        try:
            if facts is not None:
                session = console.open_session(
                    db, here, user, facts, language=language, now=time.time()
                )
            view = console.session_view(here, user, session) if session else None
        except rules.ConsoleError as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        customer = facts.customer if facts else None
        return ConsoleCall(
            call=call or _ended_view(call_id, facts),
            caller=console.caller(db, customer, call_id),
            session=view,
            incidents=console.active_incidents(db, locations, split_call_id(call_id)[0]),
        )

    return await database.run(read)


@router.post(
    "/calls/{call_id}/actions",
    response_model=ActionResult,
    summary="Apply one agent action to the call-script session",
    responses={
        **UNREADABLE,
        **not_found("call at your phone"),
        **LIVE_UNKNOWN,
        422: {
            **BAD_INPUT[422],
            "model": ActionRefused,
            "description": "refused: detail, errors by field, and the session; or fields"
            " that do not fit (detail lists them)",
        },
    },
)
async def act(
    call_id: CallId,
    *,
    body: ActionRequest,
    user: AgentUser,
    live_calls: LiveCallsDep,
    database: DatabaseDep,
    catalog: CatalogDep,
    settings: SettingsDep,
    hub: HubDep,
) -> ActionResult | JSONResponse:
    mine = await _my_live_call(live_calls, call_id, user)
    live = rules.facts_from_live(mine, user.endpoint or "", time.time()) if mine else None
    here = desk(catalog, settings)
    payload = body.model_dump(exclude={"action_id", "at"}, exclude_none=True)

    def write(db: Session) -> console.ActionResult:
        session = console.find_session(db, call_id, user)
        if session is None and live is not None:
            session = console.open_session(db, here, user, live, language=None, now=time.time())
        if session is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_YOUR_CALL)
        try:
            return console.apply_action(
                db,
                here,
                user,
                session,
                payload,
                action_id=body.action_id,
                now=time.time(),
                at=body.at,
            )
        except rules.ConsoleError as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None

    result = await database.run(write)
    if not result.ok and not result.effects and body.kind != "set":
        return JSONResponse(
            {"detail": result.error, "errors": result.errors, "session": result.session},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    _announce(hub, user, call_id, result)
    return ActionResult(
        session=result.session,
        effects=[Effect.model_validate(effect.contract()) for effect in result.effects],
        errors=result.errors,
        duplicate=result.duplicate,
    )


def _announce(hub: Hub, user: User, call_id: str, result: console.ActionResult) -> None:
    """The agent's other tabs follow; an emergency reaches the supervisors at once."""
    if result.duplicate:
        return
    update = {"type": "call_script.updated", "call_id": call_id, "session": result.session}
    hub.publish_to(user.username, update)
    for effect in result.effects:
        contract = effect.contract()
        if contract["kind"] == "emergency":
            message = {"type": "emergency.declared", "call_id": call_id, "agent": user.endpoint}
            hub.publish({**message, **contract, "by": user.username}, ())


async def _my_live_call(live_calls: LiveCalls, call_id: str, user: User) -> LiveCall | None:
    """The call as the owner's tracker has it, if it is in progress and rang or talked here.
    Another instance whose relay is down cannot tell: 503, try again (the console does)."""
    try:
        live = await live_calls.call(call_id)
    except RelayDown as down:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the live calls cannot be read here: {down}"
        ) from None
    if live is None or not _on_my_pbx(call_id, user) or user.endpoint not in live.parties:
        return None
    return live


def _on_my_pbx(call_id: str, user: User) -> bool:
    """An endpoint names a phone on one PBX: a call elsewhere is not at this agent's phone."""
    return split_call_id(call_id)[0] == user.pbx


def _recorded_party(db: Session, call_id: str, user: User) -> rules.CallFacts | None:
    if not _on_my_pbx(call_id, user):
        return None
    return console.recorded_party(db, call_id, user.endpoint or "")


def _live_view(live: LiveCall) -> dict[str, Any]:
    state = "on_hold" if live.on_hold else "on_call" if live.agents else "ringing"
    return {**live_view(live), "status": state}


def _ended_view(call_id: str, facts: rules.CallFacts | None) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "customer": facts.customer if facts else None,
        "queue": facts.queue if facts else None,
        "status": "ended",
    }
