"""The recorder: call updates become durable call records and timeline entries.

Writes are idempotent, so delivery can be at-least-once: a call row is keyed by its call
id, (pbx, Linkedid) in one string (app/pbxes/config.py), a timeline entry by (call, key)
where the key names the fact (``answered:PJSIP/1001``, ``ended``), not the moment it was
seen. Replaying the same events, or re-reading a live call after a reconnect or a restart,
writes nothing new. An ended call is never put back to live.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.callbacks import store as callbacks
from app.callbacks.rules import CALLBACK_FOR_TAG, CUSTOMER_TAG, Candidate
from app.console.pops import MissedPop
from app.db.tables import CallEvent, CallParty, CallRow, table_of
from app.db.values import fitted
from app.pbxes.ids import split_call_id
from telephony.calls.causes import describe
from telephony.calls.model import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallRecord,
    CallRinging,
    CallTransferred,
    CallUnheld,
    CallUpdate,
    KnownCall,
    LiveCall,
)

LIVE, ENDED = "live", "ended"
CALLS, PARTIES, EVENTS = table_of(CallRow), table_of(CallParty), table_of(CallEvent)
# Nullable columns holding facts seen once and true for good.
KEPT_FACTS = frozenset(
    ("customer", "agent", "queue", "started_at", "answered_at", "recording", "trunk")
)
IDENTITY = frozenset(("call_id", "pbx"))
GAP_REASON = "ended while callassist was not listening: how it ended was not seen"


@dataclass(frozen=True, slots=True)
class CallChange:
    """One tracker update, with the call as it stood then (None once it has ended); a call's
    end carries the callback it is owed, stored with it (the callbacks' outbox)."""

    update: CallUpdate
    live: LiveCall | None
    callback: Candidate | None = None


@dataclass(frozen=True, slots=True)
class LiveCallsSeen:
    """After a (re)connect: these calls are in progress; any other call still marked live in
    the database ended while nobody listened (a restart, a long outage)."""

    call_ids: frozenset[str]
    at: float


@dataclass(frozen=True, slots=True)
class PopsMissed:
    """Agents whose console never acknowledged the pop of a call that has now ended."""

    call_id: str
    missed: tuple[MissedPop, ...]
    at: float | None


RecordJob = CallChange | LiveCallsSeen | PopsMissed


def store(session: Session, jobs: Sequence[RecordJob]) -> None:
    """Write a batch of jobs in one transaction, in order.

    On the session's connection, in SQL expressions only: the ORM's layer around each
    statement would cost more than the statement (call records are not ORM objects here).
    """
    connection = session.connection()
    for job in jobs:
        if isinstance(job, LiveCallsSeen):
            _close_unseen(connection, job)
        elif isinstance(job, PopsMissed):
            _store_missed_pops(connection, job)
        elif isinstance(job.update, CallEnded):
            _store_ended(connection, job.update)
            if job.callback is not None:
                callbacks.owe(session, job.callback)
        else:
            _store_progress(connection, job.update, job.live)
    session.commit()


def _store_progress(connection: Connection, change: CallUpdate, live: LiveCall | None) -> None:
    if live is None:
        return
    call_pk = _upsert_live_call(connection, live)
    if isinstance(change, CallRinging):
        _add_party(connection, call_pk, change.agent, connected=False, position=0)
    elif isinstance(change, CallAnswered):
        position = live.agents.index(change.agent) + 1 if change.agent in live.agents else 0
        _add_party(connection, call_pk, change.agent, connected=True, position=position)
    entry = timeline_entry(change)
    if entry is not None:
        _add_event(connection, call_pk, entry)


def timeline_entry(change: CallUpdate) -> dict[str, Any] | None:
    """A timeline row for an update; its key names the fact, so a repeat is a no-op."""
    endpoint: str | None
    if isinstance(change, CallRinging):
        key, kind, endpoint = f"ringing:{change.channel}", "ringing", change.agent
        detail: dict[str, Any] = {"queue": change.queue}
    elif isinstance(change, CallAnswered):
        key, kind, endpoint = f"answered:{change.agent}", "answered", change.agent
        detail = {"first": change.first}
    elif isinstance(change, CallHeld | CallUnheld):
        kind = "hold" if isinstance(change, CallHeld) else "unhold"
        key, endpoint, detail = f"{kind}:{change.endpoint}:{_stamp(change.at)}", change.endpoint, {}
    elif isinstance(change, CallTransferred):
        key = f"transferred:{change.kind}:{change.target}:{_stamp(change.at)}"
        kind, endpoint = "transferred", change.target
        detail = {"kind": change.kind, "target": change.target}
    else:
        return None
    return {"key": key, "kind": kind, "at": change.at, "endpoint": endpoint, "detail": detail}


def _store_ended(connection: Connection, ended: CallEnded) -> None:
    record = ended.record
    values = record_values(record)
    values.update(status=ENDED, ended_in_gap=ended.ended_in_gap, updated_at=time.time())
    values.update(pbx=pbx_of(record.call_id))
    values.update(events_missed=ended.events_missed)
    values.update(trunk=ended.trunk, **_as_callback(dict(ended.tags), values["customer"]))
    call_pk = _upsert_call(connection, values, updated=_updated(values))
    for position, agent in enumerate(record.agents, start=1):
        _add_party(connection, call_pk, agent, connected=True, position=position)
    detail = {
        "outcome": str(record.outcome),
        "ended_by": str(record.ended_by),
        "hangup_cause": record.hangup_cause,
        "cause": describe(record.hangup_cause),
        "drop_reason": record.drop_reason,
        "ended_in_gap": ended.ended_in_gap,
    }
    _add_event(connection, call_pk, _ended_entry(record.ended_at, detail))
    for merged in ended.merged:
        _close_merged(connection, merged, record)


def _close_merged(connection: Connection, call_id: str, into: CallRecord) -> None:
    """A call that merged into another (an attended transfer's consultation call) ends with
    it; its talk is on that call's record, so this one says only where it went."""
    row = connection.execute(
        select(CALLS.c.id, CALLS.c.answered_at).where(
            CALLS.c.call_id == call_id, CALLS.c.status == LIVE
        )
    ).first()
    if row is None:
        return
    call_pk, answered_at = row
    closed = {
        "outcome": "completed" if answered_at is not None else "missed",
        "ended_by": "system",  # the PBX joined it to the other call
        "ended_in_gap": False,
    }
    connection.execute(
        update(CALLS)
        .where(CALLS.c.id == call_pk, CALLS.c.status == LIVE)
        .values(status=ENDED, ended_at=into.ended_at, updated_at=time.time(), **closed)
    )
    _add_event(
        connection, call_pk, _ended_entry(into.ended_at, {**closed, "merged_into": into.call_id})
    )


def _store_missed_pops(connection: Connection, job: PopsMissed) -> None:
    """A timeline entry per agent, and the count on the call for filtering and reports."""
    call_pk = connection.scalar(_call_pk_statement(), {"call_id": job.call_id})
    if call_pk is None:
        return
    for missed in job.missed:
        entry = {
            "key": f"pop_missed:{missed.endpoint}",
            "kind": "pop_missed",
            "at": job.at,
            "endpoint": missed.endpoint,
            "detail": {"reason": missed.reason},
        }
        _add_event(connection, call_pk, entry)
    connection.execute(_count_missed_pops_statement(), {"pk": call_pk})


def _close_unseen(connection: Connection, seen: LiveCallsSeen) -> None:
    """Calls the database still has as live but the PBX no longer has: close them, flagged."""
    stale = connection.execute(
        select(CALLS.c.id, CALLS.c.answered_at).where(
            CALLS.c.status == LIVE, CALLS.c.call_id.not_in(seen.call_ids)
        )
    ).all()
    for call_pk, answered_at in stale:
        outcome = "completed" if answered_at is not None else "missed"
        closed = {
            "outcome": outcome,
            "ended_by": "unknown",
            "ended_in_gap": True,
            "drop_reason": GAP_REASON,
        }
        connection.execute(
            update(CALLS)
            .where(CALLS.c.id == call_pk, CALLS.c.status == LIVE)
            .values(status=ENDED, ended_at=seen.at, updated_at=time.time(), **closed)
        )
        _add_event(connection, call_pk, _ended_entry(seen.at, closed))


def known_live_calls(session: Session) -> dict[str, KnownCall]:
    """What was stored of the calls still live when the service last stopped (or died):
    merged into the calls the PBX lists at the next start, so nothing known is lost."""
    connection = session.connection()
    rows = connection.execute(
        select(
            CALLS.c.id,
            CALLS.c.call_id,
            CALLS.c.started_at,
            CALLS.c.answered_at,
            CALLS.c.queue,
            CALLS.c.transfers,
            CALLS.c.recording,
            CALLS.c.callback_for,
            CALLS.c.customer,
        ).where(CALLS.c.status == LIVE)
    ).all()
    parties: dict[int, list[tuple[int, str, bool]]] = {}
    if rows:
        listed = connection.execute(
            select(PARTIES.c.call_pk, PARTIES.c.position, PARTIES.c.endpoint, PARTIES.c.connected)
            .where(PARTIES.c.call_pk.in_([row.id for row in rows]))
            .order_by(PARTIES.c.call_pk, PARTIES.c.id)
        ).all()
        for call_pk, position, endpoint, connected in listed:
            parties.setdefault(call_pk, []).append((position, endpoint, connected))
    return {row.call_id: _known(row, parties.get(row.id, [])) for row in rows}


def _known(row: Any, parties: list[tuple[int, str, bool]]) -> KnownCall:
    connected = sorted((position, endpoint) for position, endpoint, talked in parties if talked)
    tags: tuple[tuple[str, str], ...] = ()
    if row.callback_for is not None:
        tags = ((CALLBACK_FOR_TAG, row.callback_for), (CUSTOMER_TAG, row.customer or ""))
    return KnownCall(
        call_id=row.call_id,
        started_at=row.started_at,
        answered_at=row.answered_at,
        agents=tuple(endpoint for _, endpoint in connected),
        rung=tuple(endpoint for _, endpoint, _ in parties),
        queue=row.queue,
        transfers=row.transfers,
        recording=row.recording,
        tags=tags,
    )


def _ended_entry(at: float | None, detail: dict[str, Any]) -> dict[str, Any]:
    return {"key": "ended", "kind": "ended", "at": at, "endpoint": None, "detail": detail}


def record_values(record: CallRecord) -> dict[str, Any]:
    """The call row's columns from a finished call's record."""
    contract = record.contract()
    del contract["agents"]  # rows in call_parties; joined here too, for the CSV export
    contract["connected_agents"] = ";".join(record.agents)
    return contract


def _as_callback(tags: dict[str, str], customer: str | None) -> dict[str, Any]:
    """A call callassist placed to call a customer back is an outbound call to that customer
    from its first ring, though the PBX dials the customer only once the agent answers (and
    never, when the agent does not): its own channel variables say whom it calls and why."""
    if CALLBACK_FOR_TAG not in tags:
        return {"callback_for": None}
    return {
        "callback_for": tags[CALLBACK_FOR_TAG] or None,
        "customer": customer or tags.get(CUSTOMER_TAG) or None,
        "direction": "outbound",
    }


def _upsert_live_call(connection: Connection, live: LiveCall) -> int:
    values: dict[str, Any] = {
        "call_id": live.call_id,
        "pbx": pbx_of(live.call_id),
        "status": LIVE,
        "direction": str(live.direction),
        "customer": live.customer,
        "queue": live.queue,
        "started_at": live.started_at,
        "answered_at": live.answered_at,
        "agent": live.agents[0] if live.agents else None,
        "connected_agents": ";".join(live.agents),
        "transfers": live.transfers,
        "recording": live.recording,
        "trunk": live.trunk,
        "events_missed": live.events_missed,
        "updated_at": time.time(),
    }
    values.update(_as_callback(dict(live.tags), live.customer))
    return _upsert_call(connection, values, updated=_updated(values), live_only=True)


def pbx_of(call_id: str) -> str:
    """The PBX a call is on, read from its id: the link put the PBX's name there, so the
    column agrees with the id whichever path (live, ended, a callback call) writes the row."""
    return split_call_id(call_id)[0]


def _updated(values: dict[str, Any]) -> tuple[str, ...]:
    """The columns an upsert rewrites: all but the call's identity (its id and its PBX,
    which the id fixes for good)."""
    return tuple(name for name in values if name not in IDENTITY)


def _upsert_call(
    connection: Connection,
    values: dict[str, Any],
    *,
    updated: tuple[str, ...],
    live_only: bool = False,
) -> int:
    """Insert a call row or update its ``updated`` columns in place; return its primary key.

    The update sets each column to the value the insert proposed (``excluded``): the
    statement is then the same for every call, built once and cached with its compiled form,
    and the values are bound at execution (building a statement around each row's values
    cost more than running it). RETURNING saves a SELECT, except when ``live_only`` kept the
    row as it was (an ended call is never put back to live): then nothing is returned.
    """
    statement = _upsert_statement(_dialect(connection), updated, live_only)
    call_pk = connection.execute(statement, fitted(CALLS, values)).scalar()
    if call_pk is None:
        call_pk = connection.scalar(_call_pk_statement(), {"call_id": values["call_id"]})
    if call_pk is None:  # cannot happen: the row was just written in this transaction
        raise LookupError(f"call {values['call_id']} vanished while being stored")
    return int(call_pk)


def _add_party(
    connection: Connection, call_pk: int, endpoint: str, *, connected: bool, position: int
) -> None:
    values = {
        "call_pk": call_pk,
        "endpoint": endpoint,
        "connected": connected,
        "position": position,
    }
    connection.execute(_party_statement(_dialect(connection), connected), fitted(PARTIES, values))


def _add_event(connection: Connection, call_pk: int, entry: dict[str, Any]) -> None:
    values = fitted(EVENTS, {"call_pk": call_pk, **entry})
    connection.execute(_event_statement(_dialect(connection)), values)


def _dialect(connection: Connection) -> str:
    return connection.dialect.name


@functools.cache
def _upsert_statement(dialect: str, updated: tuple[str, ...], live_only: bool) -> Any:
    """The values' keys, given at execution, make the INSERT's column list."""
    statement = _insert(dialect, CALLS)
    return statement.on_conflict_do_update(
        index_elements=["call_id"],
        set_={name: _kept(name, statement.excluded[name]) for name in updated},
        where=CALLS.c.status == LIVE if live_only else None,
    ).returning(CALLS.c.id)


def _kept(name: str, proposed: Any) -> Any:
    """A fact the row holds is never replaced by nothing: a call taken up again after a
    restart may be seen with less than was stored (who answered, when, the customer)."""
    if name in KEPT_FACTS:
        return func.coalesce(proposed, CALLS.c[name])
    if name == "connected_agents":
        return case((proposed == "", CALLS.c[name]), else_=proposed)
    if name in ("events_missed", "ended_in_gap"):
        return or_(proposed, CALLS.c[name])
    return proposed


@functools.cache
def _call_pk_statement() -> Any:
    return select(CALLS.c.id).where(CALLS.c.call_id == bindparam("call_id"))


@functools.cache
def _count_missed_pops_statement() -> Any:
    pk = bindparam("pk", type_=Integer)
    count = select(func.count()).where(EVENTS.c.call_pk == pk, EVENTS.c.kind == "pop_missed")
    return update(CALLS).where(CALLS.c.id == pk).values(pops_missed=count.scalar_subquery())


@functools.cache
def _party_statement(dialect: str, connected: bool) -> Any:
    """A party that rang is added once; one that talked is marked connected, in position."""
    statement = _insert(dialect, PARTIES)
    if connected:
        return statement.on_conflict_do_update(
            index_elements=["call_pk", "endpoint"],
            set_={"connected": True, "position": statement.excluded.position},
            where=and_(PARTIES.c.connected.is_(False)),
        )
    return statement.on_conflict_do_nothing(index_elements=["call_pk", "endpoint"])


@functools.cache
def _event_statement(dialect: str) -> Any:
    return _insert(dialect, EVENTS).on_conflict_do_nothing(index_elements=["call_pk", "key"])


def _insert(dialect: str, table: Table) -> Any:
    """INSERT ... ON CONFLICT in the connection's own dialect (SQLite and PostgreSQL share it)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _stamp(at: float | None) -> str:
    return "?" if at is None else f"{at:.3f}"
