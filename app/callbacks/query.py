"""What people read of the callbacks: the list (an agent's part of it), one callback with
its attempts, the callbacks of a call, and the closed loop of dropped, abandoned and missed
calls. The desk's writes are store.py's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from app.callbacks.store import LOOP_OUTCOMES, OPEN
from app.db.tables import Callback, CallbackAttempt, CallRow


def view(session: Session, callback: Callback, *, attempts: bool = False) -> dict[str, Any]:
    """The contract's callback view: the row, its latest attempt, and on request them all."""
    rows = list(
        session.exec(
            select(CallbackAttempt)
            .where(CallbackAttempt.callback_id == callback.id)
            .order_by(col(CallbackAttempt.number))
        )
    )
    item = callback.model_dump(exclude={"closed_by"})
    item["call_pk"] = callback.call_pk or _call_pk(session, callback.call_id)
    item["attempt"] = _attempt_view(rows[-1]) if rows else None
    if attempts:
        item["attempts_list"] = [_attempt_view(row) for row in rows]
    return item


def _attempt_view(attempt: CallbackAttempt) -> dict[str, Any]:
    return attempt.model_dump(exclude={"id", "callback_id"})


def _call_pk(session: Session, call_id: str | None) -> int | None:
    if call_id is None:
        return None
    return session.exec(select(CallRow.id).where(CallRow.call_id == call_id)).first()


def views(session: Session, callbacks: Sequence[Callback]) -> list[dict[str, Any]]:
    return [view(session, callback, attempts=True) for callback in callbacks]


class _Everyone:
    """Not an agent: every callback."""


EVERYONE = _Everyone()
Scope = str | None | _Everyone  # an agent's endpoint (None: an agent with no phone)


def listing(
    session: Session,
    *,
    status: str = "open",
    reason: str | None = None,
    customer: str | None = None,
    pbx: str | None = None,
    limit: int = 100,
    offset: int = 0,
    agent: Scope = EVERYONE,
) -> tuple[list[dict[str, Any]], int]:
    """The callback list: open ones by default, oldest due first; for an agent, only what
    ``agent_scope`` lets them see; with ``pbx``, that PBX's only."""
    conditions: list[ColumnElement[bool]] = agent_scope(agent)
    if status == "open":
        conditions.append(col(Callback.status).in_(OPEN))
    elif status != "all":
        conditions.append(col(Callback.status) == status)
    if reason:
        conditions.append(col(Callback.reason) == reason)
    if customer:
        conditions.append(col(Callback.customer) == customer)
    if pbx:
        conditions.append(col(Callback.pbx) == pbx)
    total = session.exec(select(func.count()).select_from(Callback).where(*conditions)).one()
    rows = session.exec(
        select(Callback)
        .where(*conditions)
        .order_by(col(Callback.created_at).desc(), col(Callback.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return views(session, rows), int(total)


def agent_scope(agent: Scope) -> list[ColumnElement[bool]]:
    """What an agent may see of the callbacks: their own (rung first, or attempted through
    their phone), and the open ones no agent is named for yet, which is the queue they work
    from. Not the other agents' customers, not the finished ones of others."""
    if isinstance(agent, _Everyone):
        return []
    if agent is None:
        return [col(Callback.id).is_(None)]
    attempted = select(CallbackAttempt.callback_id).where(col(CallbackAttempt.agent) == agent)
    unclaimed = and_(col(Callback.agent).is_(None), col(Callback.status).in_(OPEN))
    mine = or_(col(Callback.agent) == agent, col(Callback.id).in_(attempted))
    return [or_(mine, unclaimed)]


def visible(session: Session, callback_id: int, agent: Scope) -> bool:
    """Whether this viewer may see (and so dial or close) that callback."""
    found = select(Callback.id).where(col(Callback.id) == callback_id, *agent_scope(agent))
    return session.exec(found).first() is not None


def for_call(session: Session, call_id: str, call_pk: int) -> list[dict[str, Any]]:
    """The callbacks a call is owed, for the QA call view; one a person offered during the
    call is tied to the call's row, one the service opened to the call's id."""
    rows = session.exec(
        select(Callback)
        .where(or_(col(Callback.call_id) == call_id, col(Callback.call_pk) == call_pk))
        .order_by(col(Callback.id))
    ).all()
    return views(session, rows)


def closed_loop(session: Session, since: float) -> dict[str, Any]:
    """Every dropped, abandoned and missed inbound call since ``since``, each with whether it
    was called back and whether the customer was reached: the loop closed per call."""
    calls = session.exec(
        select(CallRow)
        .where(
            col(CallRow.outcome).in_(LOOP_OUTCOMES),
            CallRow.direction == "inbound",
            col(CallRow.ended_at) >= since,
        )
        .order_by(col(CallRow.ended_at).desc(), col(CallRow.id).desc())
        .limit(2000)
    ).all()
    ids = [call.call_id for call in calls]
    owed = {
        c.call_id: c
        for c in session.exec(select(Callback).where(col(Callback.call_id).in_(ids))).all()
    }
    items = [_loop_item(session, call, owed.get(call.call_id)) for call in calls]
    summary = {
        "calls": len(items),
        "called_back": sum(1 for item in items if item["called_back"]),
        "reached": sum(1 for item in items if item["reached"]),
    }
    return {"items": items, "summary": summary}


def _loop_item(session: Session, call: CallRow, callback: Callback | None) -> dict[str, Any]:
    called_back = callback is not None and (callback.attempts > 0 or callback.status == "reached")
    status = callback.status if callback is not None else None
    reached = {"reached": True, "not_reached": False}.get(status or "")
    return {
        "call": {
            "id": call.id,
            "call_id": call.call_id,
            "customer": call.customer,
            "outcome": call.outcome,
            "ended_at": call.ended_at,
            "agent": call.agent,
            "queue": call.queue,
        },
        "callback": view(session, callback) if callback is not None else None,
        "called_back": called_back,
        "reached": reached,
    }
