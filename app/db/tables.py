"""The database tables (SQLModel), and nothing else. The schema itself is Alembic's.

Times are epoch seconds (float): the tracker's event times, which come from Asterisk's
Timestamp header or the arrival time, so records and timelines compare without conversion.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel, col


class User(SQLModel, table=True):
    __tablename__ = "users"
    # An endpoint names a phone on one PBX: PJSIP/1001 may be on each.
    __table_args__ = (UniqueConstraint("pbx", "endpoint", name="uq_users_pbx_endpoint"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=128)
    role: str = Field(max_length=16)  # agent, qa, it, supervisor, admin
    endpoint: str | None = Field(default=None, max_length=128)  # agents: PJSIP/1001
    pbx: str = Field(default="default", max_length=40)  # the PBX the agent's phone is on
    position: str | None = Field(default=None, max_length=128)  # said in the greeting
    password_hash: str = Field(max_length=256)
    active: bool = True
    created_at: float
    # Bumped when the user is disabled or their password changes: every token carries the
    # generation it was issued in, and one from an older generation is refused.
    token_generation: int = 0


class RevokedToken(SQLModel, table=True):
    """A token logged out before it expired (its ``jti``), kept until it would have expired;
    in the database, so a restart or another instance refuses it too."""

    __tablename__ = "revoked_tokens"

    token_id: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64)
    expires_at: float = Field(index=True)


class CallRow(SQLModel, table=True):
    """One call as the customer lived it: the replay contract's fields and its state."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_started_at_id", "started_at", "id"),
        Index("ix_calls_outcome_started_at", "outcome", "started_at"),
        Index("ix_calls_trunk_ended_at", "trunk", "ended_at"),
        Index("ix_calls_pbx_started_at", "pbx", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # (pbx, Linkedid): the Linkedid on the default PBX, <pbx>:<Linkedid> on another
    call_id: str = Field(max_length=64, unique=True)
    pbx: str = Field(default="default", max_length=40)
    status: str = Field(default="live", max_length=8)  # live, ended
    direction: str | None = Field(default=None, max_length=8)
    customer: str | None = Field(default=None, max_length=255, index=True)  # caller ID as sent
    agent: str | None = Field(default=None, max_length=128, index=True)
    queue: str | None = Field(default=None, max_length=128, index=True)
    started_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    ring_seconds: float | None = None
    talk_seconds: float | None = None
    hold_seconds: float | None = None
    hangup_cause: int | None = None
    ended_by: str | None = Field(default=None, max_length=8)
    outcome: str | None = Field(default=None, max_length=16)
    drop_reason: str | None = Field(default=None, max_length=512)
    transfers: int = 0
    recording: str | None = Field(default=None, max_length=512)
    ended_in_gap: bool = False  # ended while the service was not listening
    # Taken up again after a restart or an outage: some of its events were not seen.
    events_missed: bool = False
    pops_missed: int = 0  # agents whose console never acknowledged this call's pop
    # Kept from the call-script sessions and the scorecard, so that QA's filters are one
    # indexed query, not joins across three tables on every page.
    disposition: str | None = Field(default=None, max_length=64, index=True)
    score: float | None = Field(default=None, index=True)  # latest scorecard total, 0-100
    search_text: str = ""  # notes and field values, for QA's free-text filter
    connected_agents: str = ""  # "PJSIP/1001;PJSIP/1002": the parties, for the CSV export
    trunk: str | None = Field(default=None, max_length=128)  # the customer leg's endpoint
    callback_for: str | None = Field(default=None, max_length=64, index=True)  # a callback's call
    updated_at: float


# QA's list in its own order, descending with empty values last (migration 0004; on SQLite,
# where a descending index puts NULLs last anyway, it is spelled without NULLS LAST). Declared
# after the class because the ordering needs the columns themselves.
Index(
    "ix_calls_started_at_desc",
    col(CallRow.started_at).desc().nulls_last(),
    col(CallRow.id).desc(),
)
Index(
    "ix_calls_talk_seconds_desc",
    col(CallRow.talk_seconds).desc().nulls_last(),
    col(CallRow.id).desc(),
)


class CallParty(SQLModel, table=True):
    """An agent endpoint a call rang at or was connected to: who may see the call."""

    __tablename__ = "call_parties"
    __table_args__ = (UniqueConstraint("call_pk", "endpoint"),)

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int = Field(foreign_key="calls.id", ondelete="CASCADE", index=True)
    endpoint: str = Field(max_length=128, index=True)
    connected: bool = False  # talked with the customer (else only rang)
    position: int = 0  # order of connection, for the agents list


class CallEvent(SQLModel, table=True):
    """One entry of a call's timeline. ``key`` makes writing it twice harmless."""

    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_pk", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int = Field(foreign_key="calls.id", ondelete="CASCADE", index=True)
    key: str = Field(max_length=160)
    kind: str = Field(max_length=24)  # ringing, answered, hold, unhold, transferred, ended
    at: float | None = None
    endpoint: str | None = Field(default=None, max_length=128)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Complaint(SQLModel, table=True):
    __tablename__ = "complaints"

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int | None = Field(default=None, foreign_key="calls.id", index=True)
    call_id: str | None = Field(default=None, max_length=64, index=True)  # filed during a call
    customer: str | None = Field(default=None, max_length=255, index=True)
    content: str
    category: str = Field(max_length=64)
    severity: str = Field(max_length=16)  # low, medium, high, critical
    status: str = Field(default="received", max_length=16)
    owner_id: int | None = Field(default=None, foreign_key="users.id")
    due_at: float | None = None
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: float
    updated_at: float


class ComplaintEvent(SQLModel, table=True):
    """One change of a complaint: the workflow's history, never rewritten."""

    __tablename__ = "complaint_events"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaints.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=24)  # received, status, owner, note
    at: float
    user_id: int | None = Field(default=None, foreign_key="users.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Score(SQLModel, table=True):
    """One criterion's score on one call by one reviewer. A changed score is a new row; the
    old one keeps its values and gets ``superseded_at``: the history of a review."""

    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_call_current", "call_pk", "superseded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int = Field(foreign_key="calls.id", ondelete="CASCADE")
    criterion: str = Field(max_length=64)
    value: int
    comment: str = ""
    scored_by: int = Field(foreign_key="users.id")
    scored_at: float
    superseded_at: float | None = None


class Callback(SQLModel, table=True):
    """A task to call a customer back after a dropped, abandoned or missed call.

    One per call (``call_id``). Dropped calls with an agent are dialled by the service at
    once (``auto``); the others wait in the callback queue for a person to take them.
    """

    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_status_due", "status", "next_attempt_at"),
        Index("ix_callbacks_pbx_status", "pbx", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    call_pk: int | None = Field(default=None, foreign_key="calls.id", index=True)
    call_id: str | None = Field(default=None, max_length=64, unique=True)  # the call to answer for
    pbx: str = Field(default="default", max_length=40)  # where it is dialled: the call's PBX
    customer: str = Field(max_length=255, index=True)
    reason: str = Field(max_length=16)  # dropped, abandoned, missed, requested
    # queued (waits for a person), pending (next attempt due at next_attempt_at), dialling,
    # reached, not_reached (gave up), closed (closed by a person)
    status: str = Field(default="pending", max_length=16)
    auto: bool = False  # the service dials it by itself
    attempts: int = 0
    next_attempt_at: float | None = None
    agent: str | None = Field(default=None, max_length=128)  # who to ring first
    queue: str | None = Field(default=None, max_length=128)
    hangup_cause: int | None = None  # of the call it answers for
    last_result: str | None = Field(default=None, max_length=24)
    waiting_for: str | None = Field(default=None, max_length=160)  # why it is not dialled now
    note: str = ""
    closed_by: int | None = Field(default=None, foreign_key="users.id")
    closed_at: float | None = None
    created_at: float
    updated_at: float


class CallbackAttempt(SQLModel, table=True):
    """One Originate for a callback. Stored before it is sent: its ``channel_id`` is the new
    channel's Uniqueid (and so the callback call's id), which finds it again after a cut."""

    __tablename__ = "callback_attempts"

    id: int | None = Field(default=None, primary_key=True)
    callback_id: int = Field(foreign_key="callbacks.id", ondelete="CASCADE", index=True)
    number: int  # 1 for the first attempt
    channel_id: str = Field(max_length=64, unique=True)
    agent: str = Field(max_length=128)
    # placing (stored, not yet answered by the PBX), sent (Originate queued), ringing_agent,
    # agent_answered, then a result: reached, busy, no_answer, rejected, failed,
    # agent_no_answer, not_sent, unknown
    status: str = Field(default="placing", max_length=24)
    result: str | None = Field(default=None, max_length=24)
    hangup_cause: int | None = None
    originate_reason: int | None = None  # OriginateResponse Reason (4: answered)
    detail: str = ""
    created_at: float
    sent_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None


class Incident(SQLModel, table=True):
    """A line fault: a kind, where, how bad, where it stands."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_location", "status", "location"),
        Index("ix_incidents_pbx_location", "pbx", "location"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    pbx: str = Field(default="default", max_length=40)  # the PBX whose line it is
    location: str = Field(max_length=256, index=True)
    level: str = Field(max_length=4)  # I (highest) to IV
    status: str = Field(default="open", max_length=16)  # open, acknowledged, resolved, reviewed
    summary: str = ""  # what was detected, in words
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    signals: int = 1  # fault signals joined into it
    opened_at: float
    last_signal_at: float | None = None
    acknowledged_at: float | None = None
    owner_id: int | None = Field(default=None, foreign_key="users.id")
    last_progress_at: float | None = None
    reminded_at: float | None = None
    recovered_at: float | None = None  # the signal cleared
    resolved_at: float | None = None
    cause: str = ""
    reviewed_at: float | None = None
    review_summary: str = ""
    review_actions: str = ""
    updated_at: float


class IncidentEvent(SQLModel, table=True):
    """One entry of an incident's timeline, never rewritten."""

    __tablename__ = "incident_events"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", ondelete="CASCADE", index=True)
    # detected, reported, signal, acknowledged, progress, reminder, recovered, resolved, reviewed
    kind: str = Field(max_length=24)
    at: float
    user_id: int | None = Field(default=None, foreign_key="users.id")
    note: str = ""
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CallScriptSession(SQLModel, table=True):
    """One agent's progress through one call script on one call.

    Keyed by the call's Linkedid, not the call row: the console opens it the moment the
    agent answers, which may be before the recorder has written the call.
    """

    __tablename__ = "call_script_sessions"
    __table_args__ = (UniqueConstraint("call_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(max_length=64, index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    agent: str = Field(max_length=128)  # the agent's endpoint when it was opened
    call_script: str = Field(max_length=128)
    language: str = Field(max_length=16)
    status: str = Field(max_length=8)  # active, wrap_up, done
    version: int = 0  # bumped by every applied action: concurrent actions retry, never clobber
    disposition: str | None = Field(default=None, max_length=64, index=True)
    handed_over_from: str | None = Field(default=None, max_length=128)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: float
    updated_at: float


class CallScriptAction(SQLModel, table=True):
    """An applied agent action: the session's audit trail, and what makes re-sends harmless."""

    __tablename__ = "call_script_actions"
    __table_args__ = (UniqueConstraint("session_id", "action_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="call_script_sessions.id", ondelete="CASCADE", index=True)
    action_id: str = Field(max_length=64)  # chosen by the console
    kind: str = Field(max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: float  # when the agent did it (the console's clock, bounded by the server's)
    received_at: float


class ShiftCheck(SQLModel, table=True):
    """The equipment check at the start of a shift: phone, AMI link, round trip."""

    __tablename__ = "shift_checks"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    endpoint: str | None = Field(default=None, max_length=128)
    checked_at: float
    ok: bool
    registered: bool | None = None
    reachable: bool | None = None
    contact_status: str | None = Field(default=None, max_length=32)
    contact_roundtrip_ms: float | None = None
    link_up: bool
    link_status: str = Field(max_length=32)
    rtt_ms: float | None = None
    problems: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def table_of(model: type[SQLModel]) -> Table:
    """A model's Core table, typed, for the bulk upserts of the recorder."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table
