"""Finding call records: filters, paging, one call with its timeline, CSV rows.

Who sees what: agents see the calls their own endpoint talked on, on their own phone's PBX
(two PBXs may each have a PJSIP/1001); QA, IT, supervisors and admins see every call.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, func, or_, select
from sqlmodel import Session, col

from app.callbacks import query as callbacks
from app.db.tables import (
    Callback,
    CallEvent,
    CallParty,
    CallRow,
    CallScriptSession,
    Complaint,
)
from app.pbxes.ids import split_call_id
from telephony.calls.model import CallRecord

# The replay contract's fields (DESIGN.md), in its order, then the record's own; the call's
# id is followed by what it is made of, (pbx, linkedid), so a centre with several PBXs can
# sort and match a call to its PBX's own logs (CDR, CEL) by its Linkedid.
CONTRACT_FIELDS = tuple(f.name for f in fields(CallRecord))
IDENTITY_FIELDS = ("call_id", "pbx", "linkedid")
RECORD_FIELDS = (
    "id",
    *IDENTITY_FIELDS,
    *(name for name in CONTRACT_FIELDS if name != "call_id"),
    "status",
    "ended_in_gap",
    "events_missed",
    "pops_missed",
    "disposition",
    "score",
    "trunk",
    "callback_for",
)
BOOLEAN_FIELDS = ("ended_in_gap", "events_missed")
# The fields that are not a column of the call's row, and (for the CSV) the column each is
# read from: the agents from call_parties or their joined copy, the linkedid from the call id.
COMPUTED = {"agents": "connected_agents", "linkedid": "call_id"}
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
    """Who asks: an agent sees the calls of its endpoint on its PBX (``pbx``; None: on any
    PBX, for callers that are not a logged-in user)."""

    role: str
    endpoint: str | None
    pbx: str | None = None

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
    pbx: str | None = None  # the PBX's name, exactly
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
    item["callbacks"] = callbacks.for_call(session, row.call_id, call_pk)
    item["callback_calls"] = _callback_calls(session, row.call_id)
    item["callback_for_pk"] = _pk_of(session, row.callback_for)
    return item


def _pk_of(session: Session, call_id: str | None) -> int | None:
    if call_id is None:
        return None
    return session.scalars(select(col(CallRow.id)).where(col(CallRow.call_id) == call_id)).first()


def _callback_calls(session: Session, call_id: str) -> list[dict[str, Any]]:
    """The calls placed to call this one's customer back: with this call, one story."""
    rows = session.scalars(
        select(CallRow).where(col(CallRow.callback_for) == call_id).order_by(col(CallRow.id))
    )
    return [
        {
            "id": r.id,
            "call_id": r.call_id,
            "agent": r.agent,
            "outcome": r.outcome,
            "started_at": r.started_at,
            "talk_seconds": r.talk_seconds,
        }
        for r in rows
    ]


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


def recording_of(session: Session, call_pk: int, viewer: Viewer) -> tuple[str, str] | None:
    """The call's recording file name and its PBX (whose folder holds it), if the viewer
    may see the call and it has one."""
    row = session.execute(
        select(col(CallRow.recording), col(CallRow.pbx)).where(
            col(CallRow.id) == call_pk, *_scope(viewer)
        )
    ).first()
    if row is None or not row[0]:
        return None
    return str(row[0]), str(row[1])


def iter_csv(session: Session, filters: CallFilters, viewer: Viewer) -> Iterator[str]:
    """The calls the filters show, as CSV text in pieces; never all rows in memory at once.

    Starts with a UTF-8 byte order mark so that Excel reads the names (张三) right.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RECORD_FIELDS)
    yield "\ufeff" + _drain(buffer)
    # Plain rows through the connection, not CallRow objects through the ORM: building
    # 100,000 objects halved the export's pace. The agents come with the row; the linkedid
    # is read from the call id (_csv_row).
    names = [COMPUTED.get(name, name) for name in RECORD_FIELDS]
    query = select(*[col(getattr(CallRow, name)) for name in names])
    query = _ordered(query.where(*_conditions(filters, viewer)), filters)
    connection = session.connection()
    result = connection.execution_options(yield_per=CSV_BATCH).execute(query)
    flags = [at for at, name in enumerate(names) if name in BOOLEAN_FIELDS]
    linkedid = RECORD_FIELDS.index("linkedid")
    for partition in result.partitions():
        writer.writerows(_csv_row(row, flags, linkedid) for row in partition)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_row(row: Sequence[Any], flags: list[int], linkedid: int) -> list[Any]:
    """A row's cells as the CSV shows them: booleans as true/false, the linkedid cut out of
    the call id, text made inert; the csv module writes NULL (None) as an empty cell itself."""
    cells = list(row)
    cells[linkedid] = linkedid_of(cells[linkedid])
    cells = [inert(cell) if isinstance(cell, str) else cell for cell in cells]
    for at in flags:
        cells[at] = "true" if cells[at] else "false"
    return cells


def linkedid_of(call_id: str) -> str:
    """The Linkedid the call has on its own PBX (its id there, without the PBX's name)."""
    return split_call_id(call_id)[1]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def inert(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP "CSV injection"):
    callers choose their own caller ID, and ``=HYPERLINK(...)`` would be live in Excel.
    A leading quote makes it text; a plain number such as +8613800138000 is left as it is.
    (defusedcsv would quote that number and rewrite ``|``; this is all it takes.)"""
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


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
    if filters.pbx:
        conditions.append(col(CallRow.pbx) == filters.pbx)
    if filters.agent:
        conditions.append(_has_party(filters.agent, connected_only=True))
    if filters.has_complaint is not None:
        # IN over two non-null sets, not EXISTS(... OR ...): that was one probe per call row.
        complaint = or_(
            col(CallRow.id).in_(_not_null(col(Complaint.call_pk))),
            col(CallRow.call_id).in_(_not_null(col(Complaint.call_id))),
        )
        conditions.append(complaint if filters.has_complaint else ~complaint)
    if filters.has_callback is not None:
        callback = or_(
            col(CallRow.id).in_(_not_null(col(Callback.call_pk))),
            col(CallRow.call_id).in_(_not_null(col(Callback.call_id))),
        )
        conditions.append(callback if filters.has_callback else ~callback)
    if filters.disposition:
        conditions.append(col(CallRow.disposition) == filters.disposition)
    if filters.score_min is not None:
        conditions.append(col(CallRow.score) >= filters.score_min)
    if filters.score_max is not None:
        conditions.append(col(CallRow.score) <= filters.score_max)
    if filters.text:
        # search_text is stored lower-cased (app.console.rules): a plain LIKE then finds
        # any case, and PostgreSQL skips ILIKE's per-row lowering of 100,000 texts.
        needle = filters.text.lower()
        conditions.append(col(CallRow.search_text).contains(needle, autoescape=True))
    return conditions


def _scope(viewer: Viewer) -> list[ColumnElement[bool]]:
    if viewer.sees_all:
        return []
    if not viewer.endpoint:
        return [col(CallRow.id).is_(None)]  # an agent with no phone sees nothing
    # The calls they talked on: a phone that merely rang does not open a colleague's call,
    # its notes or its recording (the ringing pop itself comes over the WebSocket). On their
    # own PBX only: another PBX's PJSIP/1001 is someone else's phone.
    conditions = [_has_party(viewer.endpoint, connected_only=True)]
    if viewer.pbx is not None:
        conditions.append(col(CallRow.pbx) == viewer.pbx)
    return conditions


def _has_party(endpoint: str, *, connected_only: bool) -> ColumnElement[bool]:
    """IN, not a correlated EXISTS: SQLite then reads the endpoint's few calls instead of
    probing call_parties once for every call row."""
    parties = select(col(CallParty.call_pk)).where(col(CallParty.endpoint) == endpoint)
    if connected_only:
        parties = parties.where(col(CallParty.connected).is_(True))
    return col(CallRow.id).in_(parties)


def _not_null(column: Any) -> Select[Any]:
    """The column's values without NULL, so that NOT IN means "none of them" (a NULL in
    the set would make NOT IN match nothing)."""
    return select(column).where(column.is_not(None))


def _ordered(query: Select[Any], filters: CallFilters) -> Select[Any]:
    """The chosen order, empty values last, then the row id so that pages never overlap."""
    column = col(SORTS[filters.sort])
    if filters.descending:
        return query.order_by(column.desc().nulls_last(), col(CallRow.id).desc())
    return query.order_by(column.asc().nulls_last(), col(CallRow.id).asc())


def _with_agents(session: Session, rows: Sequence[CallRow]) -> list[dict[str, Any]]:
    """Rows as API items, each with its connected agents in order."""
    agents = _agents_of(session, [row.id for row in rows if row.id is not None])
    return [_item(row, agents.get(row.id or 0, [])) for row in rows]


def _agents_of(session: Session, call_pks: list[int]) -> dict[int, list[str]]:
    """The connected agents of these calls, in order of connection."""
    agents: dict[int, list[str]] = {}
    if call_pks:
        parties = session.connection().execute(
            select(col(CallParty.call_pk), col(CallParty.endpoint))
            .where(col(CallParty.call_pk).in_(_ids(call_pks)), col(CallParty.connected).is_(True))
            .order_by(col(CallParty.call_pk), col(CallParty.position))
        )
        for call_pk, endpoint in parties:
            agents.setdefault(call_pk, []).append(endpoint)
    return agents


def _ids(call_pks: list[int]) -> BindParameter[list[int]]:
    """Row ids written into the SQL as numbers: 2,000 bound parameters per CSV batch cost
    more to render and send than the rows they fetch."""
    return bindparam("call_pks", call_pks, expanding=True, literal_execute=True)


def _item(row: CallRow, agents: list[str]) -> dict[str, Any]:
    item = {name: getattr(row, name) for name in RECORD_FIELDS if name not in COMPUTED}
    item["agents"] = agents
    item["linkedid"] = linkedid_of(row.call_id)
    return item
