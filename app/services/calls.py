"""Finding call records: filters, paging, one call with its timeline, CSV rows.

Who sees what: agents see the calls that rang at or reached their own endpoint; QA, IT,
supervisors and admins see every call.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlmodel import Session, col

from app.db.tables import (
    Callback,
    CallEvent,
    CallParty,
    CallRow,
    CallScriptSession,
    Complaint,
)
from telephony.calls.model import CallRecord

# The replay contract's fields (DESIGN.md), in its order, then the record's own.
CONTRACT_FIELDS = tuple(f.name for f in fields(CallRecord))
RECORD_FIELDS = (
    "id",
    *CONTRACT_FIELDS,
    "status",
    "ended_in_gap",
    "pops_missed",
    "disposition",
    "score",
)
# What the list may be sorted by: the columns QA sorts on, each with an index or cheap.
SORTS = {
    "started_at": CallRow.started_at,
    "ended_at": CallRow.ended_at,
    "talk_seconds": CallRow.talk_seconds,
    "hold_seconds": CallRow.hold_seconds,
    "score": CallRow.score,
    "outcome": CallRow.outcome,
    "agent": CallRow.agent,
    "customer": CallRow.customer,
    "queue": CallRow.queue,
}
CSV_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Viewer:
    role: str
    endpoint: str | None

    @property
    def sees_all(self) -> bool:
        return self.role != "agent"


@dataclass(frozen=True, slots=True)
class CallFilters:
    since: float | None = None
    until: float | None = None
    agent: str | None = None
    customer: str | None = None
    outcome: str | None = None
    queue: str | None = None
    has_complaint: bool | None = None
    has_callback: bool | None = None
    disposition: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    text: str | None = None  # free text over notes and collected fields
    sort: str = "started_at"
    descending: bool = True


def list_calls(
    session: Session, filters: CallFilters, viewer: Viewer, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of calls in the filters' order, and how many match in all."""
    conditions = _conditions(filters, viewer)
    total = session.scalar(select(func.count()).select_from(CallRow).where(*conditions)) or 0
    query = _ordered(select(CallRow).where(*conditions), filters)
    rows = session.scalars(query.limit(limit).offset(offset))
    return _with_agents(session, list(rows)), int(total)


def get_call(session: Session, call_pk: int, viewer: Viewer) -> dict[str, Any] | None:
    """One call with its timeline; None when it does not exist or is not the viewer's."""
    row = session.scalars(
        select(CallRow).where(col(CallRow.id) == call_pk, *_scope(viewer))
    ).first()
    if row is None:
        return None
    (item,) = _with_agents(session, [row])
    events = session.scalars(
        select(CallEvent)
        .where(col(CallEvent.call_pk) == call_pk)
        .order_by(col(CallEvent.at).asc().nulls_last(), col(CallEvent.id))
    )
    item["timeline"] = [
        {"kind": e.kind, "at": e.at, "endpoint": e.endpoint, "detail": e.detail} for e in events
    ]
    item["recording_started_at"] = row.answered_at  # the dialplan starts MixMonitor on answer
    item["call_script_sessions"] = _call_script_sessions(session, row.call_id)
    item["complaints"] = _complaints(session, row.call_id, call_pk)
    item["callbacks"] = _callbacks(session, call_pk)
    return item


def _call_script_sessions(session: Session, call_id: str) -> list[dict[str, Any]]:
    """What each agent did in the call script: steps with times, fields, notes, disposition."""
    rows = session.scalars(
        select(CallScriptSession)
        .where(col(CallScriptSession.call_id) == call_id)
        .order_by(col(CallScriptSession.created_at), col(CallScriptSession.id))
    )
    return [
        {
            "agent": s.agent,
            "call_script": s.call_script,
            "language": s.language,
            "status": s.status,
            "disposition": s.disposition,
            "handed_over_from": s.handed_over_from,
            "fields": s.state.get("fields", {}),
            "notes": s.state.get("notes", ""),
            "steps": s.state.get("history", []),
            "created_at": s.created_at,
            "updated_at": s.updated_at,
        }
        for s in rows
    ]


def _complaints(session: Session, call_id: str, call_pk: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Complaint)
        .where(or_(col(Complaint.call_id) == call_id, col(Complaint.call_pk) == call_pk))
        .order_by(col(Complaint.id))
    )
    return [
        {
            "id": c.id,
            "content": c.content,
            "category": c.category,
            "severity": c.severity,
            "status": c.status,
            "created_at": c.created_at,
        }
        for c in rows
    ]


def _callbacks(session: Session, call_pk: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Callback).where(col(Callback.call_pk) == call_pk).order_by(col(Callback.id))
    )
    return [
        {
            "id": c.id,
            "reason": c.reason,
            "status": c.status,
            "attempts": c.attempts,
            "agent": c.agent,
            "created_at": c.created_at,
        }
        for c in rows
    ]


def recording_of(session: Session, call_pk: int, viewer: Viewer) -> str | None:
    """The call's recording file name, if the viewer may see the call and it has one."""
    return session.scalars(
        select(col(CallRow.recording)).where(col(CallRow.id) == call_pk, *_scope(viewer))
    ).first()


def iter_csv(session: Session, filters: CallFilters, viewer: Viewer) -> Iterator[str]:
    """The calls the filters show, as CSV text in pieces; never all rows in memory at once.

    Starts with a UTF-8 byte order mark so that Excel reads the names (张三) right.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RECORD_FIELDS)
    yield "\ufeff" + _drain(buffer)
    query = _ordered(select(CallRow).where(*_conditions(filters, viewer)), filters)
    result = session.execute(query.execution_options(yield_per=CSV_BATCH))
    for partition in result.scalars().partitions():
        for item in _with_agents(session, list(partition)):
            item["agents"] = ";".join(item["agents"])
            writer.writerow([_csv_cell(item[name]) for name in RECORD_FIELDS])
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _conditions(filters: CallFilters, viewer: Viewer) -> list[ColumnElement[bool]]:
    conditions = _scope(viewer)
    if filters.since is not None:
        conditions.append(col(CallRow.started_at) >= filters.since)
    if filters.until is not None:
        conditions.append(col(CallRow.started_at) < filters.until)
    if filters.customer:
        conditions.append(col(CallRow.customer) == filters.customer)
    if filters.outcome:
        conditions.append(col(CallRow.outcome) == filters.outcome)
    if filters.queue:
        conditions.append(col(CallRow.queue) == filters.queue)
    if filters.agent:
        conditions.append(_has_party(filters.agent, connected_only=True))
    if filters.has_complaint is not None:
        complaint = exists().where(
            or_(
                col(Complaint.call_pk) == col(CallRow.id),
                col(Complaint.call_id) == col(CallRow.call_id),
            )
        )
        conditions.append(complaint if filters.has_complaint else ~complaint)
    if filters.has_callback is not None:
        callback = exists().where(col(Callback.call_pk) == col(CallRow.id))
        conditions.append(callback if filters.has_callback else ~callback)
    if filters.disposition:
        conditions.append(col(CallRow.disposition) == filters.disposition)
    if filters.score_min is not None:
        conditions.append(col(CallRow.score) >= filters.score_min)
    if filters.score_max is not None:
        conditions.append(col(CallRow.score) <= filters.score_max)
    if filters.text:
        conditions.append(col(CallRow.search_text).icontains(filters.text, autoescape=True))
    return conditions


def _scope(viewer: Viewer) -> list[ColumnElement[bool]]:
    if viewer.sees_all:
        return []
    if not viewer.endpoint:
        return [col(CallRow.id).is_(None)]  # an agent with no phone sees nothing
    return [_has_party(viewer.endpoint, connected_only=False)]


def _has_party(endpoint: str, *, connected_only: bool) -> ColumnElement[bool]:
    condition = exists().where(
        col(CallParty.call_pk) == col(CallRow.id), col(CallParty.endpoint) == endpoint
    )
    if connected_only:
        condition = condition.where(col(CallParty.connected).is_(True))
    return condition


def _ordered(query: Select[Any], filters: CallFilters) -> Select[Any]:
    """The chosen order, empty values last, then the row id so that pages never overlap."""
    column = col(SORTS[filters.sort])
    if filters.descending:
        return query.order_by(column.desc().nulls_last(), col(CallRow.id).desc())
    return query.order_by(column.asc().nulls_last(), col(CallRow.id).asc())


def _with_agents(session: Session, rows: Sequence[CallRow]) -> list[dict[str, Any]]:
    """Rows as API items, each with its connected agents in order."""
    agents: dict[int, list[str]] = {row.id: [] for row in rows if row.id is not None}
    if agents:
        parties = session.execute(
            select(col(CallParty.call_pk), col(CallParty.endpoint))
            .where(col(CallParty.call_pk).in_(list(agents)), col(CallParty.connected).is_(True))
            .order_by(col(CallParty.call_pk), col(CallParty.position))
        )
        for call_pk, endpoint in parties:
            agents[call_pk].append(endpoint)
    return [_item(row, agents.get(row.id or 0, [])) for row in rows]


def _item(row: CallRow, agents: list[str]) -> dict[str, Any]:
    item = {name: getattr(row, name) for name in RECORD_FIELDS if name != "agents"}
    item["agents"] = agents
    return item
