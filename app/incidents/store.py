"""Incidents in the database: opened from fault signals, moved by people, reminded, listed.

The rules (what a signal means, which moves exist, when a reminder is due) are pure, in
app/incidents/rules.py; this module stores their decisions. Every change leaves an
IncidentEvent, so the timeline is the incident's record: detected, reported, each joined
signal, acknowledged by whom, progress notes, reminders, recovered, resolved, reviewed.

A move is written only if the status is still the one it was checked against, so two people
acting on one incident at once cannot both pass the same move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, func, update
from sqlmodel import Session, col, select

from app.db.tables import Incident, IncidentEvent, User
from app.incidents.rules import (
    ACTIVE,
    LEVELS,
    STATUSES,
    ActiveIncident,
    IllegalMove,
    JoinIncident,
    MarkRecovered,
    OpenIncident,
    next_status,
    reminder_due,
    should_remind,
)
from app.pbxes.ids import DEFAULT_PBX

MAX_TEXT = 4000  # a note, a cause, a review: a few paragraphs


class IncidentNotFound(LookupError):
    pass


class BadInput(ValueError):
    """The request itself is wrong (an empty note); the message says what is missing."""


def active_at(db: Session, location: str, pbx: str = DEFAULT_PBX) -> ActiveIncident | None:
    """The open or acknowledged incident at a location of that PBX, as the rules see it:
    two PBXs may name a trunk alike, and each trunk's fault is an incident of its own."""
    row = db.exec(
        select(Incident)
        .where(
            Incident.pbx == pbx,
            Incident.location == location,
            col(Incident.status).in_(ACTIVE),
        )
        .order_by(col(Incident.opened_at).desc(), col(Incident.id).desc())
        .limit(1)
    ).first()
    if row is None or row.id is None:
        return None
    return ActiveIncident(row.id, row.kind, row.level, row.recovered_at is not None)


def create(db: Session, decision: OpenIncident, now: float, pbx: str = DEFAULT_PBX) -> Incident:
    """The incident itself, on the PBX whose line it is, before anyone is told: the
    report needs its id."""
    opened_at = decision.at if decision.at is not None else now
    incident = Incident(
        kind=decision.kind,
        pbx=pbx,
        location=decision.location,
        level=decision.level,
        summary=decision.summary,
        detail=dict(decision.detail),
        opened_at=opened_at,
        last_signal_at=opened_at,
        updated_at=now,
    )
    db.add(incident)
    db.commit()
    db.refresh(incident)
    return incident


def record_report(db: Session, incident: Incident, *, reported_at: float, recipients: int) -> None:
    """The first two timeline entries: when it was detected, and when IT was told."""
    pk = _pk(incident)
    db.add(
        IncidentEvent(
            incident_id=pk,
            kind="detected",
            at=incident.opened_at,
            note=incident.summary,
            detail=dict(incident.detail),
        )
    )
    db.add(
        IncidentEvent(
            incident_id=pk,
            kind="reported",
            at=reported_at,
            note=f"IT and supervisors notified ({recipients} connected)",
            detail={"recipients": recipients},
        )
    )
    db.commit()


def join(db: Session, decision: JoinIncident, now: float) -> Incident | None:
    """Count one more signal; None when the incident was resolved meanwhile.

    A new heading replaces the incident's kind, level, summary and detail; the timeline entry
    keeps what it said before (``was``), so the story stays whole."""
    at = decision.at if decision.at is not None else now
    values: dict[str, Any] = {
        "signals": col(Incident.signals) + 1,
        "last_signal_at": at,
        "updated_at": now,
    }
    detail = dict(decision.detail)
    current = db.get(Incident, decision.incident_id)
    if current is None:
        return None
    heading = decision.heading
    if heading is not None:
        said = {"kind": heading.kind, "level": heading.level, "summary": heading.summary}
        values.update(said, detail=dict(decision.detail))
        was = {"kind": current.kind, "level": current.level, "summary": current.summary}
        if was != said:
            detail["was"] = was
    if decision.escalated:
        detail["escalated"] = True
    if decision.relapsed:
        values["recovered_at"] = None
        detail["relapsed"] = True
    if not _update_if_active(db, decision.incident_id, values):
        return None
    db.add(
        IncidentEvent(
            incident_id=decision.incident_id,
            kind="signal",
            at=at,
            note=_signal_note(decision.detail),
            detail=detail,
        )
    )
    db.commit()
    return _fresh(db, decision.incident_id)


def mark_recovered(db: Session, decision: MarkRecovered, now: float) -> Incident | None:
    """The signal cleared; people still resolve the incident with its cause."""
    at = decision.at if decision.at is not None else now
    if not _update_if_active(db, decision.incident_id, {"recovered_at": at, "updated_at": now}):
        return None
    db.add(
        IncidentEvent(
            incident_id=decision.incident_id, kind="recovered", at=at, note="the signal cleared"
        )
    )
    db.commit()
    return _fresh(db, decision.incident_id)


def move(
    db: Session,
    incident_id: int,
    action: str,
    *,
    by: User,
    now: float,
    text: str = "",
    actions: str = "",
) -> Incident:
    """acknowledge, progress (text: the note), resolve (text: the cause), review (text: the
    summary, actions: what changes). Raises IncidentNotFound, IllegalMove or BadInput."""
    incident = db.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(incident_id)
    wanted = next_status(incident.status, action)  # IllegalMove names the allowed moves
    text, actions = text.strip(), actions.strip()
    if action != "acknowledge" and not text:
        raise BadInput(_MISSING[action])
    if len(text) > MAX_TEXT or len(actions) > MAX_TEXT:
        raise BadInput(f"at most {MAX_TEXT} characters")
    values: dict[str, Any] = {"status": wanted, "updated_at": now}
    values.update(_MOVE_VALUES[action](incident, by, now, text, actions))
    changed = db.execute(
        update(Incident)
        .where(col(Incident.id) == incident_id, col(Incident.status) == incident.status)
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]  # someone moved it first: judge the move against where it is
        db.rollback()
        return move(db, incident_id, action, by=by, now=now, text=text, actions=actions)
    detail = {"actions": actions} if action == "review" else {}
    db.add(
        IncidentEvent(
            incident_id=incident_id,
            kind=_EVENT_OF[action],
            at=now,
            user_id=by.id,
            note=text,
            detail=detail,
        )
    )
    db.commit()
    return _fresh(db, incident_id)


def due_reminders(db: Session, now: float, period: float, pbx: str = DEFAULT_PBX) -> list[Incident]:
    """That PBX's levels I and II nobody acted on within the period: each gets one
    reminder entry (from the PBX's own desk, so each is reminded once, by one owner)."""
    rows = db.exec(
        select(Incident).where(
            Incident.pbx == pbx,
            col(Incident.status).in_(ACTIVE),
            col(Incident.level).in_(("I", "II")),
        )
    ).all()
    reminded = []
    for incident in rows:
        if not should_remind(incident, now, period):
            continue
        changed = db.execute(
            update(Incident)
            .where(
                col(Incident.id) == incident.id,
                col(Incident.reminded_at).is_(None)
                if incident.reminded_at is None
                else col(Incident.reminded_at) == incident.reminded_at,
            )
            .values(reminded_at=now, updated_at=now)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        db.add(
            IncidentEvent(
                incident_id=_pk(incident),
                kind="reminder",
                at=now,
                note=f"no acknowledgement or progress for {period / 60:g} min",
            )
        )
        reminded.append(incident)
    db.commit()
    return [_fresh(db, _pk(incident)) for incident in reminded]


def active_by_level(db: Session, pbx: str | None = None) -> dict[str, int]:
    """Open or acknowledged incidents per level: that PBX's, or (None) every PBX's."""
    counts = dict.fromkeys(LEVELS, 0)
    wanted: list[ColumnElement[bool]] = [col(Incident.status).in_(ACTIVE)]
    if pbx is not None:
        wanted.append(col(Incident.pbx) == pbx)
    rows = db.exec(
        select(Incident.level, func.count()).where(*wanted).group_by(Incident.level)
    ).all()
    for level, count in rows:
        counts[level] = int(count)
    return counts


def get(db: Session, incident_id: int) -> Incident | None:
    return db.get(Incident, incident_id)


def list_incidents(
    db: Session, status: str, *, limit: int, offset: int
) -> tuple[list[Incident], int]:
    """``active`` (open or acknowledged), ``all`` or one status. Active ones come first,
    level I first, then newest first."""
    query = select(Incident)
    counting = select(func.count()).select_from(Incident)
    wanted = _status_filter(status)
    if wanted is not None:
        query, counting = query.where(wanted), counting.where(wanted)
    total = db.exec(counting).one()
    rows = db.exec(
        query.order_by(_urgency(), col(Incident.opened_at).desc(), col(Incident.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


# -- views ---------------------------------------------------------------------------------


def view(incident: Incident, owner: str | None, now: float, period: float) -> dict[str, Any]:
    """The contract's incident view."""
    return {
        "id": incident.id,
        "kind": incident.kind,
        "pbx": incident.pbx,
        "location": incident.location,
        "level": incident.level,
        "status": incident.status,
        "summary": incident.summary,
        "detail": dict(incident.detail),
        "signals": incident.signals,
        "opened_at": incident.opened_at,
        "last_signal_at": incident.last_signal_at,
        "acknowledged_at": incident.acknowledged_at,
        "owner": owner,
        "last_progress_at": incident.last_progress_at,
        "recovered_at": incident.recovered_at,
        "resolved_at": incident.resolved_at,
        "cause": incident.cause,
        "reviewed_at": incident.reviewed_at,
        "review_summary": incident.review_summary,
        "review_actions": incident.review_actions,
        "age_seconds": round(max(0.0, now - incident.opened_at), 3),
        "reminder_due": reminder_due(incident, now, period),
    }


def views(
    db: Session, incidents: Sequence[Incident], now: float, period: float
) -> list[dict[str, Any]]:
    names = _usernames(db, (i.owner_id for i in incidents))
    return [view(i, names.get(i.owner_id or 0), now, period) for i in incidents]


def detail_view(db: Session, incident: Incident, now: float, period: float) -> dict[str, Any]:
    """The view with the whole timeline, oldest first."""
    events = db.exec(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(col(IncidentEvent.at), col(IncidentEvent.id))
    ).all()
    names = _usernames(db, [incident.owner_id, *(e.user_id for e in events)])
    result = view(incident, names.get(incident.owner_id or 0), now, period)
    result["timeline"] = [
        {
            "kind": event.kind,
            "at": event.at,
            "user": names.get(event.user_id or 0),
            "note": event.note,
            "detail": dict(event.detail),
        }
        for event in events
    ]
    return result


# -- inside ----------------------------------------------------------------------------------

_MISSING = {
    "progress": "a progress note needs some text: what was done, what is next",
    "resolve": "resolving needs the cause: what was wrong",
    "review": "a review needs a summary: what happened and what was learnt",
}
_EVENT_OF = {
    "acknowledge": "acknowledged",
    "progress": "progress",
    "resolve": "resolved",
    "review": "reviewed",
}


def _acknowledge(incident: Incident, by: User, now: float, *_: str) -> dict[str, Any]:
    return {"acknowledged_at": now, "owner_id": by.id}


def _progress(incident: Incident, by: User, now: float, *_: str) -> dict[str, Any]:
    return {"last_progress_at": now}


def _resolve(incident: Incident, by: User, now: float, cause: str, _: str) -> dict[str, Any]:
    values: dict[str, Any] = {"resolved_at": now, "cause": cause}
    if incident.owner_id is None:  # resolved straight from open: whoever resolved owns it
        values["owner_id"] = by.id
    return values


def _review(incident: Incident, by: User, now: float, summary: str, actions: str) -> dict[str, Any]:
    return {"reviewed_at": now, "review_summary": summary, "review_actions": actions}


_MOVE_VALUES: dict[str, Callable[[Incident, User, float, str, str], dict[str, Any]]] = {
    "acknowledge": _acknowledge,
    "progress": _progress,
    "resolve": _resolve,
    "review": _review,
}


def _update_if_active(db: Session, incident_id: int, values: dict[str, Any]) -> bool:
    changed = db.execute(
        update(Incident)
        .where(col(Incident.id) == incident_id, col(Incident.status).in_(ACTIVE))
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        return False
    return True


def _fresh(db: Session, incident_id: int) -> Incident:
    incident = db.get(Incident, incident_id, populate_existing=True)
    if incident is None:
        raise IncidentNotFound(incident_id)
    return incident


def _pk(incident: Incident) -> int:
    if incident.id is None:
        raise ValueError("the incident is not stored yet")
    return incident.id


def _status_filter(status: str) -> ColumnElement[bool] | None:
    if status == "all":
        return None
    if status == "active":
        return col(Incident.status).in_(ACTIVE)
    if status not in STATUSES:
        raise BadInput(f"status is active, all or one of {', '.join(STATUSES)}")
    return col(Incident.status) == status


def _urgency() -> ColumnElement[int]:
    """Active incidents first, by level (I first); the others after them."""
    ranks = {level: rank for rank, level in enumerate(LEVELS)}
    level_rank = case(ranks, value=col(Incident.level), else_=len(LEVELS))
    return case((col(Incident.status).in_(ACTIVE), level_rank), else_=len(LEVELS) + 1)


def _usernames(db: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {uid for uid in user_ids if uid is not None}
    if not wanted:
        return {}
    rows = db.exec(select(User.id, User.username).where(col(User.id).in_(wanted))).all()
    return {uid: name for uid, name in rows if uid is not None}


def _signal_note(detail: dict[str, object]) -> str:
    said = detail.get("detail")
    return f"{detail.get('fault')}: {said}" if said not in (None, "") else str(detail.get("fault"))


__all__ = [
    "BadInput",
    "IllegalMove",
    "IncidentNotFound",
    "active_at",
    "active_by_level",
    "create",
    "detail_view",
    "due_reminders",
    "join",
    "list_incidents",
    "mark_recovered",
    "move",
    "record_report",
    "view",
    "views",
]
