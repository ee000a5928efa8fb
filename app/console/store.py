"""The agent console's database code: open a call-script session, apply the agent's
actions, say what is known about the caller.

A session is opened when its agent's console first asks for an answered call, not by the
event pipeline: the pop must never wait for the database, and an agent who never opened
the console has nothing to store. The engine and rules.py decide; this module loads, stores
and carries out the effects (a complaint, a callback), all in one transaction per action, so an
action is either fully recorded or not at all. Actions carry the console's own id, which
makes a re-sent action (an offline queue, a retry after a timeout) harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.callbacks.store import OPEN as OPEN_CALLBACKS
from app.callbacks.store import open_for as callback_open_for
from app.complaints.store import file_complaint
from app.console.call_scripts import engine, view
from app.console.call_scripts.model import (
    Action,
    CallScript,
    Effect,
    OfferCallback,
    RecordComplaint,
    SessionState,
    SessionStatus,
)
from app.console.rules import (
    CallFacts,
    ConsoleError,
    Desk,
    action_time,
    call_script_of,
    known_name,
    search_text,
    still_affects,
    worth_storing,
)
from app.db.tables import (
    Callback,
    CallEvent,
    CallParty,
    CallRow,
    CallScriptAction,
    CallScriptSession,
    Complaint,
    Incident,
    User,
)
from app.pbxes.ids import DEFAULT_PBX, split_call_id

OPEN_COMPLAINT = ("received", "in_progress")
REQUESTED_CALLBACK_STATUS = "queued"  # the customer asked: a person takes it from the queue
ACTIVE_INCIDENT = ("open", "acknowledged")
CONCURRENT_RETRIES = 5
LAST_CALLS = 5


@dataclass(frozen=True, slots=True)
class ActionResult:
    session: dict[str, Any]  # the SessionView
    effects: tuple[Effect, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.errors


def find_session(db: Session, call_id: str, user: User) -> CallScriptSession | None:
    return db.exec(
        select(CallScriptSession).where(
            CallScriptSession.call_id == call_id, CallScriptSession.user_id == user.id
        )
    ).first()


def recorded_party(db: Session, call_id: str, endpoint: str) -> CallFacts | None:
    """The call as recorded, if this endpoint rang or talked on it."""
    row = db.exec(
        select(CallRow, CallParty.connected)
        .join(CallParty, col(CallParty.call_pk) == col(CallRow.id))
        .where(CallRow.call_id == call_id, CallParty.endpoint == endpoint)
    ).first()
    if row is None:
        return None
    call, connected = row
    answered = _answered_at(db, call, endpoint) if connected else None
    return CallFacts(
        call.call_id, call.customer, call.queue, None, answered, live=call.status == "live"
    )


def _answered_at(db: Session, call: CallRow, endpoint: str) -> float | None:
    at = db.exec(
        select(CallEvent.at).where(
            CallEvent.call_pk == call.id, CallEvent.key == f"answered:{endpoint}"
        )
    ).first()
    return at if at is not None else call.answered_at


def open_session(
    db: Session, desk: Desk, user: User, facts: CallFacts, *, language: str | None, now: float
) -> CallScriptSession | None:
    """The agent's session on this call; opened when the agent has answered it.

    A call transferred to this agent continues the previous agent's session: same call
    script, same step, the fields and notes so far.
    """
    existing = find_session(db, facts.call_id, user)
    if existing is not None or facts.answered_at is None:
        return existing
    previous = db.exec(
        select(CallScriptSession)
        .where(CallScriptSession.call_id == facts.call_id, CallScriptSession.user_id != user.id)
        .order_by(col(CallScriptSession.updated_at).desc())
        .limit(1)
    ).first()
    if previous is not None:
        state = engine.hand_over(
            SessionState.from_dict(previous.state), from_agent=previous.agent, at=facts.answered_at
        )
    else:
        call_script = desk.catalog.choose(facts.queue, facts.dialled, language)
        state = engine.start(call_script, at=facts.answered_at)
    session = CallScriptSession(
        call_id=facts.call_id,
        user_id=_id(user),
        agent=user.endpoint or "",
        call_script=state.call_script,
        language=state.language,
        status=state.status.value,
        version=state.version,
        handed_over_from=state.handed_over_from,
        state=state.to_dict(),
        created_at=now,
        updated_at=now,
    )
    db.add(session)
    try:
        db.commit()
    except IntegrityError:  # the agent's other tab opened it a moment ago
        db.rollback()
        return find_session(db, facts.call_id, user)
    db.refresh(session)
    if not facts.live:
        hangup = {"kind": "hangup"}
        apply_action(db, desk, user, session, hangup, action_id=f"hangup:{session.id}", now=now)
        db.refresh(session)
    return session


def apply_action(
    db: Session,
    desk: Desk,
    user: User,
    session: CallScriptSession,
    payload: dict[str, Any],
    *,
    action_id: str,
    now: float,
    at: float | None = None,
) -> ActionResult:
    """Apply one agent action exactly once; retried when another action won the race."""
    for _ in range(CONCURRENT_RETRIES):
        db.refresh(session)
        if _already_applied(db, session, action_id):
            return ActionResult(session_view(desk, user, session), duplicate=True)
        call_script = _call_script_of(desk, session)
        state = SessionState.from_dict(session.state)
        when = action_time(at, session.created_at, now)
        applied = engine.apply(
            call_script, state, Action.from_dict(payload), at=when, today=desk.today
        )
        if not worth_storing(applied, payload.get("kind")):
            return ActionResult(
                session_view(desk, user, session),
                errors=dict(applied.errors),
                error=applied.error or "some fields need attention",
            )
        stored = _store(
            db,
            session,
            applied.state,
            applied.effects,
            payload=payload,
            action_id=action_id,
            at=when,
            now=now,
            due_hours=desk.complaint_due_hours,
        )
        if stored:
            db.refresh(session)
            return ActionResult(
                session_view(desk, user, session),
                effects=applied.effects,
                errors=dict(applied.errors),
            )
    raise ConsoleError("this call script session is busy; try again")


def _store(
    db: Session,
    session: CallScriptSession,
    state: SessionState,
    effects: Sequence[Effect],
    *,
    payload: dict[str, Any],
    action_id: str,
    at: float,
    now: float,
    due_hours: Mapping[str, float],
) -> bool:
    """Write the new state only if nobody else did meanwhile; False: start over."""
    changed = db.execute(
        update(CallScriptSession)
        .where(col(CallScriptSession.id) == session.id)
        .where(col(CallScriptSession.version) == session.version)
        .values(
            state=state.to_dict(),
            version=state.version,
            status=state.status.value,
            disposition=state.disposition,
            updated_at=now,
        )
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        return False
    _index_for_review(db, session.call_id, state)
    db.add(
        CallScriptAction(
            session_id=_id(session),
            action_id=action_id,
            kind=str(payload.get("kind", ""))[:16],
            payload=payload,
            at=at,
            received_at=now,
        )
    )
    for effect in effects:
        _carry_out(db, session, effect, now, due_hours)
    try:
        db.commit()
    except IntegrityError:  # the same action, sent twice at once: the other one stored it,
        db.rollback()  # and the next round finds it applied
        return False
    return True


def _index_for_review(db: Session, call_id: str, state: SessionState) -> None:
    """Copy what QA filters on onto the call row: the disposition and the text to search."""
    db.execute(
        update(CallRow)
        .where(col(CallRow.call_id) == call_id)
        .values(disposition=state.disposition, search_text=search_text(state))
    )


def _carry_out(
    db: Session,
    session: CallScriptSession,
    effect: Effect,
    now: float,
    due_hours: Mapping[str, float],
) -> None:
    """Effects that are records. A transfer and an emergency are for people: the route
    shows and announces them."""
    call = db.exec(select(CallRow).where(CallRow.call_id == session.call_id)).first()
    customer = call.customer if call is not None else session.state.get("customer")
    if isinstance(effect, RecordComplaint):
        file_complaint(
            db,
            call_id=session.call_id,
            call_pk=call.id if call is not None else None,
            customer=customer,
            content=effect.content,
            category=effect.category or "other",
            severity=effect.severity or "medium",
            created_by=session.user_id,
            now=now,
            due_hours=due_hours,
        )
    elif isinstance(effect, OfferCallback):
        number = effect.number or customer
        pbx = split_call_id(session.call_id)[0]  # dialled where the call came in
        if number and not callback_open_for(db, number, pbx):
            db.add(
                Callback(
                    call_pk=call.id if call is not None else None,
                    pbx=pbx,
                    customer=number,
                    reason="requested",
                    status=REQUESTED_CALLBACK_STATUS,
                    agent=session.agent,
                    queue=call.queue if call is not None else None,
                    note=effect.note,
                    created_at=now,
                    updated_at=now,
                )
            )


def _already_applied(db: Session, session: CallScriptSession, action_id: str) -> bool:
    found = db.exec(
        select(CallScriptAction.id).where(
            CallScriptAction.session_id == session.id, CallScriptAction.action_id == action_id
        )
    ).first()
    return found is not None


def _call_script_of(desk: Desk, session: CallScriptSession) -> CallScript:
    return call_script_of(desk.catalog, session.call_script, session.language)


def session_view(desk: Desk, user: User, session: CallScriptSession) -> dict[str, Any]:
    state = SessionState.from_dict(session.state)
    shown = view.view(_call_script_of(desk, session), state, desk.context(user), today=desk.today)
    return {
        **shown,
        "id": session.id,
        "call_id": session.call_id,
        "agent": session.agent,
    }


def open_sessions(db: Session, desk: Desk, user: User) -> list[dict[str, Any]]:
    """The agent's sessions not yet wrapped up, newest first: what a reload restores."""
    rows = db.exec(
        select(CallScriptSession)
        .where(
            CallScriptSession.user_id == user.id,
            col(CallScriptSession.status) != SessionStatus.DONE.value,
        )
        .order_by(col(CallScriptSession.updated_at).desc())
    ).all()
    return [session_view(desk, user, row) for row in rows]


def caller(db: Session, number: str | None, call_id: str) -> dict[str, Any]:
    """What the centre already knows about a caller: the screen pop's side panel."""
    if not number:
        return {
            "number": None,
            "name": None,
            "last_calls": [],
            "open_complaints": [],
            "pending_callbacks": [],
        }
    return {
        "number": number,
        "name": _known_name(db, number, call_id),
        "last_calls": _last_calls(db, number, call_id),
        "open_complaints": _open_complaints(db, number),
        "pending_callbacks": _pending_callbacks(db, number),
    }


def _known_name(db: Session, number: str, call_id: str) -> str | None:
    """The name an agent collected on this number's latest earlier call that has one."""
    rows = db.exec(
        select(CallScriptSession.state)
        .join(CallRow, col(CallRow.call_id) == col(CallScriptSession.call_id))
        .where(CallRow.customer == number, CallRow.call_id != call_id)
        .order_by(col(CallScriptSession.updated_at).desc())
        .limit(20)
    ).all()
    return known_name(rows)


def _last_calls(db: Session, number: str, call_id: str) -> list[dict[str, Any]]:
    calls = db.exec(
        select(CallRow)
        .where(CallRow.customer == number, CallRow.call_id != call_id)
        .order_by(col(CallRow.started_at).desc())
        .limit(LAST_CALLS)
    ).all()
    dispositions = dict(
        db.exec(
            select(CallScriptSession.call_id, CallScriptSession.disposition).where(
                col(CallScriptSession.call_id).in_([c.call_id for c in calls]),
                col(CallScriptSession.disposition).is_not(None),
            )
        ).all()
    )
    return [
        {
            "call_id": c.call_id,
            "started_at": c.started_at,
            "outcome": c.outcome,
            "agent": c.agent,
            "disposition": dispositions.get(c.call_id),
        }
        for c in calls
    ]


def _open_complaints(db: Session, number: str) -> list[dict[str, Any]]:
    rows = db.exec(
        select(Complaint)
        .where(Complaint.customer == number, col(Complaint.status).in_(OPEN_COMPLAINT))
        .order_by(col(Complaint.created_at).desc())
    ).all()
    return [
        {
            "id": c.id,
            "category": c.category,
            "severity": c.severity,
            "status": c.status,
            "created_at": c.created_at,
            "content": c.content,
        }
        for c in rows
    ]


def _pending_callbacks(db: Session, number: str) -> list[dict[str, Any]]:
    rows = db.exec(
        select(Callback)
        .where(Callback.customer == number, col(Callback.status).in_(OPEN_CALLBACKS))
        .order_by(col(Callback.created_at).desc())
    ).all()
    return [
        {"id": c.id, "reason": c.reason, "status": c.status, "created_at": c.created_at}
        for c in rows
    ]


def active_incidents(
    db: Session, locations: Sequence[str], pbx: str = DEFAULT_PBX
) -> list[dict[str, Any]]:
    """Line faults now affecting these locations (the call's trunk, the agent's phone) on
    the call's PBX (another PBX's trunk of the same name carries none of its calls): a
    reloaded console offers the line-fault procedure again."""
    wanted = [location for location in locations if location]
    if not wanted:
        return []
    rows = db.exec(
        select(Incident)
        .where(
            col(Incident.status).in_(ACTIVE_INCIDENT),
            col(Incident.pbx) == pbx,
            col(Incident.location).in_(wanted),
        )
        .order_by(col(Incident.opened_at).desc())
    ).all()
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "location": row.location,
            "level": row.level,
            "status": row.status,
        }
        for row in rows
        if still_affects(row)
    ]


def _id(row: User | CallScriptSession) -> int:
    if row.id is None:
        raise ConsoleError("the row has not been stored yet")
    return row.id


__all__ = [
    "ActionResult",
    "active_incidents",
    "apply_action",
    "caller",
    "find_session",
    "open_session",
    "open_sessions",
    "recorded_party",
    "session_view",
]
