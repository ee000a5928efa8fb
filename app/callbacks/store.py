"""Callbacks in the database: created from finished calls, attempted, followed to the end.

The order of writes is what makes a callback exactly-once: an attempt is stored (with the
ChannelId its Originate will carry) before the Originate is sent, and the attempt's state
only moves forward. Whatever the service learns later (the PBX's answer, the callback call's
events, a reconnect's list of live channels) is matched by that ChannelId.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.callbacks.rules import (
    CallbackRules,
    Candidate,
    NextStep,
    stays_automatic,
    undiallable,
    unringable,
)
from app.db.tables import Callback, CallbackAttempt, CallParty, CallRow, User, table_of
from app.db.values import fitted
from app.pbxes.ids import DEFAULT_PBX, id_scope, split_call_id

OPEN = ("queued", "pending", "dialling")
CLOSED_RESULTS = ("reached", "not_reached", "closed")
IN_FLIGHT = ("placing", "sent", "ringing_agent", "agent_answered")  # attempt not yet ended
LOOP_OUTCOMES = ("dropped", "abandoned", "missed")
MAX_NOTE = 2000


class CallbackError(Exception):
    """A request the callback rules refuse; the message says why."""


class CallbackBusy(CallbackError):
    """Another callback to the same number is being dialled."""


class CallbackNotFound(CallbackError):
    pass


class CallbackUndiallable(CallbackError):
    """The number (or the phone to ring) must not reach an Originate: a person's task."""


class CallbackElsewhere(CallbackError):
    """The callback is dialled on another PBX: only that PBX's desk may place it."""


@dataclass(frozen=True, slots=True)
class Placed:
    """An attempt stored and about to be sent: everything the Originate needs."""

    callback_id: int
    attempt_id: int
    channel_id: str
    agent: str
    customer: str
    call_id: str | None


def owe(session: Session, found: Candidate) -> None:
    """The callback a finished call is owed, written in the transaction that stores the
    call's end (the record writer's, app/records/store.py): the call's end and its callback
    are stored together or not at all, so a crash or a database outage between the two
    cannot lose the callback, and the writer's retries until stored cover both. The desk
    then dials what the table holds. Not committed here; writing it twice is harmless
    (one per call: ``call_id`` is unique).

    A dropped call with an agent is dialled by the service (``pending``, due now); the
    others wait in the callback queue for a person (``queued``). It is owed from the call's
    end: its schedule counts from there (``created_at``).
    """
    found = stays_automatic(found, _first_agent(session, found.call_id))
    values = {
        "call_pk": session.exec(select(CallRow.id).where(CallRow.call_id == found.call_id)).first(),
        "call_id": found.call_id,
        "pbx": split_call_id(found.call_id)[0],  # dialled where the call came in
        "customer": found.customer,
        "reason": found.reason,
        "status": "pending" if found.auto else "queued",
        "auto": found.auto,
        "attempts": 0,
        "next_attempt_at": found.ended_at if found.auto else None,
        "agent": found.agent,
        "queue": found.queue,
        "hangup_cause": found.hangup_cause,
        "waiting_for": found.waiting_for,
        "note": "",
        "created_at": found.ended_at,
        "updated_at": found.ended_at,
    }
    insert = (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(
        table_of(Callback)
    )
    values = fitted(table_of(Callback), values)
    session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["call_id"]))


def _first_agent(session: Session, call_id: str) -> str | None:
    """The first agent the stored call was connected to (its parties outlive a restart)."""
    return session.exec(
        select(CallParty.endpoint)
        .join(CallRow, col(CallRow.id) == col(CallParty.call_pk))
        .where(CallRow.call_id == call_id, col(CallParty.connected).is_(True))
        .order_by(col(CallParty.position))
    ).first()


def _dialect(session: Session) -> str:
    return session.connection().dialect.name


def owed(session: Session, call_ids: Sequence[str]) -> list[Callback]:
    """The callbacks stored for these finished calls (those not stored yet are left out)."""
    return list(session.exec(select(Callback).where(col(Callback.call_id).in_(call_ids))))


def request(
    session: Session,
    *,
    customer: str,
    pbx: str,
    agent: str | None,
    queue: str | None,
    note: str,
    now: float,
) -> Callback:
    """A callback a person asks for without a call: it waits in the queue for a person,
    on the PBX named (whose trunks reach the customer). Once per number on a PBX: a
    customer already owed one there is not given a second one dialling them too."""
    if open_for(session, customer, pbx):
        raise CallbackBusy(f"{customer} is already owed a callback on PBX {pbx}")
    callback = Callback(
        pbx=pbx,
        customer=customer,
        reason="requested",
        status="queued",
        agent=agent,
        queue=queue,
        note=note[:MAX_NOTE],
        created_at=now,
        updated_at=now,
    )
    session.add(callback)
    session.commit()
    session.refresh(callback)
    return callback


def open_for(session: Session, customer: str, pbx: str) -> bool:
    """Whether the customer is owed a callback on that PBX already (one still open)."""
    found = session.exec(
        select(Callback.id).where(
            Callback.customer == customer,
            Callback.pbx == pbx,
            col(Callback.status).in_(OPEN),
        )
    ).first()
    return found is not None


def due(session: Session, now: float, pbx: str = DEFAULT_PBX) -> list[Callback]:
    """Callbacks the service dials itself on this PBX whose next attempt is due, oldest
    first: another PBX's are its own desk's to dial."""
    statement = (
        select(Callback)
        .where(
            Callback.pbx == pbx,
            Callback.status == "pending",
            col(Callback.auto).is_(True),
            col(Callback.next_attempt_at) <= now,
        )
        .order_by(col(Callback.next_attempt_at), col(Callback.id))
    )
    return list(session.exec(statement))


def note_waiting(session: Session, callback_id: int, why: str | None, now: float) -> bool:
    """Say why a due callback is not dialled yet; True when that changed (worth telling)."""
    changed = session.execute(
        update(Callback)
        .where(col(Callback.id) == callback_id, _differs(col(Callback.waiting_for), why))
        .values(waiting_for=why, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    return bool(changed)


def _differs(column: Any, value: str | None) -> ColumnElement[bool]:
    if value is None:
        changed: ColumnElement[bool] = column.is_not(None)
        return changed
    return or_(column.is_(None), column != value)


def start_attempt(
    session: Session,
    callback_id: int,
    agent: str,
    now: float,
    rules: CallbackRules,
    *,
    pbx: str = DEFAULT_PBX,
) -> Placed:
    """Store the attempt before anything is sent; refuse a second call to the same number,
    and a number or a phone that must not reach an Originate (rules.undiallable).

    The callback moves to ``dialling`` only if it is still open and no other callback to
    that number is dialling: two desks, or a person and the desk, cannot both pass. Only
    ``pbx``'s desk dials its callbacks, through a phone on that PBX: the Originate goes to
    that PBX, which knows only its own phones. The ChannelId carries the PBX's name, as
    every id past its link does, so the attempt's own call is matched to it.
    """
    callback = _diallable(session, callback_id, agent, rules, pbx)
    number = callback.attempts + 1
    moved = session.execute(
        update(Callback)
        .where(col(Callback.id) == callback_id, col(Callback.status).in_(("queued", "pending")))
        .values(status="dialling", attempts=Callback.attempts + 1, waiting_for=None, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        session.rollback()
        raise CallbackError(f"callback {callback_id} changed meanwhile: try again")
    attempt = CallbackAttempt(
        callback_id=callback_id,
        number=number,
        channel_id=f"{id_scope(pbx).prefix}callassist-cb{callback_id}-{number}-{secrets.token_hex(4)}",
        agent=agent,
        created_at=now,
    )
    session.add(attempt)
    session.commit()
    assert attempt.id is not None  # the commit gave it one
    return Placed(
        callback_id, attempt.id, attempt.channel_id, agent, callback.customer, callback.call_id
    )


def _diallable(
    session: Session, callback_id: int, agent: str, rules: CallbackRules, pbx: str
) -> Callback:
    """The callback, if ``pbx``'s desk may dial it now through ``agent``; else the refusal."""
    callback = session.get(Callback, callback_id)
    if callback is None:
        raise CallbackNotFound(f"there is no callback {callback_id}")
    if callback.pbx != pbx:
        raise CallbackElsewhere(f"callback {callback_id} is dialled on PBX {callback.pbx}")
    if callback.status not in ("queued", "pending"):
        raise CallbackError(f"callback {callback_id} is {callback.status}: it is not waiting")
    refused = undiallable(callback.customer, rules) or unringable(agent)
    if refused is not None:
        raise CallbackUndiallable(refused)
    elsewhere = _phone_elsewhere(session, agent, pbx)
    if elsewhere is not None:
        raise CallbackError(f"{agent} is a phone on PBX {elsewhere}, not on PBX {pbx}")
    if _dialling_to(session, callback.customer, pbx, callback_id):
        raise CallbackBusy(f"a callback to {callback.customer} is already being dialled")
    return callback


def to_a_person(session: Session, callback_id: int, why: str, now: float) -> None:
    """The service will not dial this one: it waits in the callback queue, saying why."""
    session.execute(
        update(Callback)
        .where(col(Callback.id) == callback_id, col(Callback.status).in_(("queued", "pending")))
        .values(status="queued", auto=False, waiting_for=why[:160], updated_at=now)
    )
    session.commit()


def phone_on(session: Session, endpoint: str | None, pbx: str) -> str | None:
    """The endpoint, unless it is a user's phone on another PBX: the PBX this callback is
    dialled on would ring a phone of its own of that name, or none."""
    if endpoint is None or _phone_elsewhere(session, endpoint, pbx) is not None:
        return None
    return endpoint


def _phone_elsewhere(session: Session, endpoint: str, pbx: str) -> str | None:
    """The PBX of the users' phones of that name when none of them is on ``pbx`` (an
    endpoint names a phone per PBX); None when one is on ``pbx``, or no user has it."""
    found = set(session.exec(select(User.pbx).where(User.endpoint == endpoint)).all())
    if not found or pbx in found:
        return None
    return min(found)


def _dialling_to(session: Session, customer: str, pbx: str, other_than: int) -> bool:
    return (
        session.exec(
            select(Callback.id).where(
                Callback.customer == customer,
                Callback.pbx == pbx,
                Callback.status == "dialling",
                col(Callback.id) != other_than,
            )
        ).first()
        is not None
    )


def attempt_sent(session: Session, channel_id: str, now: float) -> None:
    _move_attempt(session, channel_id, ("placing",), status="sent", sent_at=now)


def attempt_status(session: Session, channel_id: str, status: str, now: float) -> None:
    """Forward only: a late message never moves an attempt back."""
    earlier = IN_FLIGHT[: IN_FLIGHT.index(status)] if status in IN_FLIGHT else IN_FLIGHT
    values: dict[str, Any] = {"status": status}
    if status == "agent_answered":
        values["answered_at"] = now
    _move_attempt(session, channel_id, earlier, **values)


def _move_attempt(
    session: Session, channel_id: str, from_statuses: Sequence[str], **values: Any
) -> None:
    session.execute(
        update(CallbackAttempt)
        .where(
            col(CallbackAttempt.channel_id) == channel_id,
            col(CallbackAttempt.status).in_(from_statuses),
        )
        .values(**values)
    )
    session.commit()


def in_flight(session: Session, pbx: str = DEFAULT_PBX) -> list[CallbackAttempt]:
    """The PBX's attempts not yet ended: after a restart these are looked for among its
    live channels (another PBX's are not among them, and are its own desk's)."""
    return list(
        session.exec(
            select(CallbackAttempt)
            .join(Callback, col(Callback.id) == col(CallbackAttempt.callback_id))
            .where(col(CallbackAttempt.status).in_(IN_FLIGHT), Callback.pbx == pbx)
        )
    )


def attempt_by_channel(session: Session, channel_id: str) -> CallbackAttempt | None:
    return session.exec(
        select(CallbackAttempt).where(CallbackAttempt.channel_id == channel_id)
    ).first()


def end_attempt(
    session: Session,
    channel_id: str,
    *,
    result: str,
    hangup_cause: int | None,
    step: NextStep,
    now: float,
    detail: str = "",
    originate_reason: int | None = None,
) -> Callback | None:
    """Record an attempt's result and move its callback on; None if it had already ended
    (its result was recorded from another message: the first one wins)."""
    ended = session.execute(
        update(CallbackAttempt)
        .where(
            col(CallbackAttempt.channel_id) == channel_id,
            col(CallbackAttempt.status).in_(IN_FLIGHT),
        )
        .values(
            status="ended",
            result=result,
            hangup_cause=hangup_cause,
            originate_reason=originate_reason,
            detail=detail,
            ended_at=now,
        )
    ).rowcount  # type: ignore[attr-defined]
    attempt = attempt_by_channel(session, channel_id)
    if not ended or attempt is None:
        session.rollback()
        return None
    callback = session.get(Callback, attempt.callback_id)
    if callback is None:
        session.rollback()
        return None
    _move_on(callback, result, step, now)
    session.add(callback)
    if step.status == "reached":
        _close_others_reached(session, callback, now)
    session.commit()
    session.refresh(callback)
    return callback


def _move_on(callback: Callback, result: str, step: NextStep, now: float) -> None:
    """The callback after one of its attempts ended, as the policy's next step says."""
    callback.last_result = result
    callback.status = step.status
    callback.next_attempt_at = step.at if step.status == "pending" else None
    if step.status == "pending" and not callback.auto:
        callback.status = "queued"  # a person took it; it goes back to the queue
    callback.waiting_for = step.why  # why a person must decide, when one must
    if result == "not_sent":
        callback.attempts -= 1  # the PBX never got it: the customer was not called
    if step.status in CLOSED_RESULTS:
        callback.closed_at = now
    callback.updated_at = now


def _close_others_reached(session: Session, reached: Callback, now: float) -> None:
    """The customer is reached: their other waiting callbacks on that PBX are answered by
    this one (a number names a customer through one PBX's trunks)."""
    session.execute(
        update(Callback)
        .where(
            col(Callback.customer) == reached.customer,
            col(Callback.pbx) == reached.pbx,
            col(Callback.id) != reached.id,
            col(Callback.status).in_(("queued", "pending")),
        )
        .values(
            status="reached",
            last_result="reached",
            note=f"reached on callback {reached.id}",
            closed_at=now,
            updated_at=now,
        )
    )


def close(
    session: Session, callback_id: int, user: User, *, result: str, note: str, now: float
) -> Callback:
    """A person closes a callback by hand (they reached the customer some other way)."""
    if result not in CLOSED_RESULTS:
        raise CallbackError(f"result must be one of {', '.join(CLOSED_RESULTS)}")
    callback = session.get(Callback, callback_id)
    if callback is None:
        raise CallbackNotFound(f"there is no callback {callback_id}")
    if callback.status not in ("queued", "pending"):
        raise CallbackError(
            f"callback {callback_id} is {callback.status}: only a waiting one can be closed"
        )
    callback.status = result
    callback.last_result = callback.last_result if result == "closed" else result
    callback.note = note[:MAX_NOTE]
    callback.closed_by = user.id
    callback.closed_at = now
    callback.updated_at = now
    session.add(callback)
    session.commit()
    session.refresh(callback)
    return callback


def get(session: Session, callback_id: int) -> Callback:
    callback = session.get(Callback, callback_id)
    if callback is None:
        raise CallbackNotFound(f"there is no callback {callback_id}")
    return callback


def agent_endpoints(session: Session, queue: str | None, pbx: str = DEFAULT_PBX) -> list[str]:
    """Active agents' endpoints on this PBX (an Originate rings a phone of the PBX it is
    sent to), those who took this queue's calls most recently first (their phones name
    them on one PBX: users.endpoint is unique)."""
    agents = session.exec(
        select(User.endpoint).where(
            User.role == "agent",
            col(User.active).is_(True),
            col(User.endpoint).is_not(None),
            User.pbx == pbx,
        )
    ).all()
    endpoints = sorted(a for a in agents if a)
    if queue is None:
        return endpoints
    recent = session.exec(
        select(CallRow.agent, func.max(CallRow.ended_at).label("last"))
        .where(CallRow.queue == queue, col(CallRow.agent).in_(endpoints))
        .group_by(col(CallRow.agent))
        .order_by(func.max(CallRow.ended_at).desc())
    ).all()
    first = [agent for agent, _ in recent if agent in endpoints]
    return [*first, *(e for e in endpoints if e not in first)]
