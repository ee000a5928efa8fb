"""Complaints in the database: filed with a due date from their severity, owned by a
reviewer, moved as the workflow (rules.py) allows, and every change kept as a ComplaintEvent
with who and when.

A status change is written only if the status is still the one it was checked against, so
two reviewers moving the same complaint at once cannot both pass the same transition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, update
from sqlmodel import Session, col, select

from app.complaints.rules import (
    OPEN,
    OWNER_ROLES,
    BadChange,
    ComplaintError,
    check_transition,
    due_at,
    is_overdue,
)
from app.db.tables import Complaint, ComplaintEvent, User

EARLIER_LIMIT = 100
CONCURRENT_RETRIES = 5
# The columns' widths (app/db/tables.py): PostgreSQL refuses longer values.
CATEGORY_WIDTH, SEVERITY_WIDTH = 64, 16


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # "owner not given", as distinct from None, "no owner"


@dataclass(frozen=True, slots=True)
class ComplaintFilters:
    status: str | None = None
    owner: str | None = None  # username
    customer: str | None = None
    overdue: bool | None = None


def file_complaint(
    db: Session,
    *,
    call_id: str | None,
    call_pk: int | None,
    customer: str | None,
    content: str,
    category: str,
    severity: str,
    created_by: int | None,
    now: float,
    due_hours: Mapping[str, float],
) -> Complaint:
    """Add a complaint and its "received" event to the caller's transaction (not committed:
    the console files it in the same transaction as the agent's action)."""
    severity = severity.strip().lower()[:SEVERITY_WIDTH]
    complaint = Complaint(
        call_pk=call_pk,
        call_id=call_id,
        customer=customer,
        content=content,
        category=category[:CATEGORY_WIDTH],
        severity=severity,
        due_at=due_at(severity, now, due_hours),
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    db.add(complaint)
    db.flush()  # the id, for the event
    detail = {"severity": severity, "category": complaint.category, "due_at": complaint.due_at}
    db.add(
        ComplaintEvent(
            complaint_id=_id(complaint), kind="received", at=now, user_id=created_by,
            detail={**detail, "call_id": call_id},
        )
    )
    return complaint


def list_complaints(
    db: Session, filters: ComplaintFilters, *, now: float, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of complaints, newest first, and how many match in all."""
    conditions = _conditions(filters, now)
    total = db.scalar(select(func.count()).select_from(Complaint).where(*conditions)) or 0
    rows = db.exec(
        select(Complaint)
        .where(*conditions)
        .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return _items(db, rows, now), int(total)


def get_complaint(db: Session, complaint_id: int, *, now: float) -> dict[str, Any] | None:
    """One complaint with its history and the same customer's other complaints."""
    complaint = db.get(Complaint, complaint_id)
    if complaint is None:
        return None
    db.refresh(complaint)  # another request may have changed it since this session read it
    (item,) = _items(db, [complaint], now)
    events = db.exec(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(col(ComplaintEvent.at), col(ComplaintEvent.id))
    ).all()
    names = _usernames(db, (e.user_id for e in events))
    item["history"] = [
        {"kind": e.kind, "at": e.at, "user": names.get(e.user_id), "detail": e.detail}
        for e in events
    ]
    item["earlier"] = _earlier(db, complaint, now)
    return item


def change_complaint(
    db: Session,
    complaint_id: int,
    *,
    by: User,
    now: float,
    status: str | None = None,
    owner: str | _Keep | None = KEEP,
    note: str | None = None,
) -> dict[str, Any] | None:
    """Apply a reviewer's change (status, owner, note) in one transaction, each part its own
    event; None when there is no such complaint. Asking for the status it already has, or
    the owner it already has, changes nothing."""
    if status is None and owner is KEEP and note is None:
        raise BadChange("nothing to change: give a status, an owner or a note")
    if note is not None and not note.strip():
        raise BadChange("a note needs some text")
    new_owner = _owner(db, owner) if not isinstance(owner, _Keep) else KEEP
    for _ in range(CONCURRENT_RETRIES):
        complaint = db.get(Complaint, complaint_id)
        if complaint is None:
            return None
        db.refresh(complaint)
        if _apply(db, complaint, by=by, now=now, status=status, owner=new_owner, note=note):
            db.commit()
            return get_complaint(db, complaint_id, now=now)
        db.rollback()  # someone moved it meanwhile: check the transition again
    raise ComplaintError("this complaint is being changed by someone else; try again")


def _apply(
    db: Session,
    complaint: Complaint,
    *,
    by: User,
    now: float,
    status: str | None,
    owner: User | _Keep | None,
    note: str | None,
) -> bool:
    """Stage the events and the row's update; False when the status moved under us."""
    events: list[tuple[str, dict[str, Any]]] = []
    values: dict[str, Any] = {"updated_at": now}
    if status is not None and status != complaint.status:
        check_transition(complaint.status, status)
        values["status"] = status
        events.append(("status", {"from": complaint.status, "to": status}))
    if not isinstance(owner, _Keep):
        owner_id = owner.id if owner is not None else None
        if owner_id != complaint.owner_id:
            before = _usernames(db, [complaint.owner_id]).get(complaint.owner_id)
            values["owner_id"] = owner_id
            after = owner.username if owner is not None else None
            events.append(("owner", {"from": before, "to": after}))
    if note is not None:
        events.append(("note", {"text": note.strip()}))
    if not events:
        return True
    changed = db.execute(
        update(Complaint)
        .where(col(Complaint.id) == complaint.id, col(Complaint.status) == complaint.status)
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for kind, detail in events:
        db.add(
            ComplaintEvent(
                complaint_id=_id(complaint), kind=kind, at=now, user_id=by.id, detail=detail
            )
        )
    return True


def _owner(db: Session, username: str | None) -> User | None:
    """The user who may own complaints, by username; None for "nobody"."""
    if username is None:
        return None
    user = db.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise BadChange(f"no active user {username!r}")
    if user.role not in OWNER_ROLES:
        roles = ", ".join(OWNER_ROLES)
        raise BadChange(f"{username} is {user.role}: complaints are owned by {roles} users")
    return user


def _conditions(filters: ComplaintFilters, now: float) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status is not None:
        conditions.append(col(Complaint.status) == filters.status)
    if filters.owner is not None:
        owner_id = select(User.id).where(User.username == filters.owner).scalar_subquery()
        conditions.append(col(Complaint.owner_id) == owner_id)
    if filters.customer is not None:
        conditions.append(col(Complaint.customer) == filters.customer)
    if filters.overdue is not None:
        overdue = and_(
            col(Complaint.status).in_(OPEN),
            col(Complaint.due_at).is_not(None),
            col(Complaint.due_at) < now,
        )
        conditions.append(overdue if filters.overdue else not_(overdue))
    return conditions


def _earlier(db: Session, complaint: Complaint, now: float) -> list[dict[str, Any]]:
    if not complaint.customer:
        return []
    rows = db.exec(
        select(Complaint)
        .where(Complaint.customer == complaint.customer, Complaint.id != complaint.id)
        .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
        .limit(EARLIER_LIMIT)
    ).all()
    return _items(db, rows, now)


def _items(db: Session, rows: Sequence[Complaint], now: float) -> list[dict[str, Any]]:
    names = _usernames(db, [r.owner_id for r in rows] + [r.created_by for r in rows])
    return [
        {
            "id": c.id,
            "call_id": c.call_id,
            "call_pk": c.call_pk,
            "customer": c.customer,
            "content": c.content,
            "category": c.category,
            "severity": c.severity,
            "status": c.status,
            "owner": names.get(c.owner_id),
            "due_at": c.due_at,
            "overdue": is_overdue(c.status, c.due_at, now),
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "created_by": names.get(c.created_by),
        }
        for c in rows
    ]


def _usernames(db: Session, ids: Iterable[int | None]) -> dict[int | None, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.exec(select(User.id, User.username).where(col(User.id).in_(wanted))).all()
    return dict(rows)


def _id(complaint: Complaint) -> int:
    if complaint.id is None:
        raise ComplaintError("the complaint has not been stored yet")
    return complaint.id

