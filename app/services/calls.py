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

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlmodel import Session, col

from app.db.tables import CallEvent, CallParty, CallRow, CallScriptSession, Complaint
from telephony.calls.model import CallRecord

# The replay contract's fields (DESIGN.md), in its order, then the record's own.
CONTRACT_FIELDS = tuple(f.name for f in fields(CallRecord))
RECORD_FIELDS = ("id", *CONTRACT_FIELDS, "status", "ended_in_gap")
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


def list_calls(
    session: Session, filters: CallFilters, viewer: Viewer, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of calls, newest first, and how many match in all."""
    conditions = _conditions(filters, viewer)
    total = session.scalar(select(func.count()).select_from(CallRow).where(*conditions)) or 0
    rows = session.scalars(_ordered(select(CallRow).where(*conditions)).limit(limit).offset(offset))
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
    item["pops_missed"] = row.pops_missed
    item["call_script_sessions"] = _call_script_sessions(session, row.call_id)
    item["complaints"] = _complaints(session, row.call_id)
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


def _complaints(session: Session, call_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Complaint).where(col(Complaint.call_id) == call_id).order_by(col(Complaint.id))
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


def iter_csv(session: Session, filters: CallFilters, viewer: Viewer) -> Iterator[str]:
    """The calls the filters show, as CSV text in pieces; never all rows in memory at once.

    Starts with a UTF-8 byte order mark so that Excel reads the names (张三) right.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RECORD_FIELDS)
    yield "\ufeff" + _drain(buffer)
    query = _ordered(select(CallRow).where(*_conditions(filters, viewer)))
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
        complaint = exists().where(col(Complaint.call_pk) == col(CallRow.id))
        conditions.append(complaint if filters.has_complaint else ~complaint)
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


def _ordered(query: Select[Any]) -> Select[Any]:
    return query.order_by(
        col(CallRow.started_at).desc().nulls_last(),
        col(CallRow.id).desc(),
    )


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
