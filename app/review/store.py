"""Scoring a call against the scorecard, and the review view of a call (adherence, scores).

A changed score is never overwritten: the old row gets ``superseded_at`` and a new row is
written, so the review keeps its history. A score sent again unchanged keeps its row (and
its reviewer and time). The call's ``score`` column holds the current total so that QA's
list filters and sorts on it without reading the scores table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.console.call_scripts.catalog import Catalog
from app.console.call_scripts.model import CallScript
from app.db.tables import CallRow, Score, User
from app.review.adherence import AdherenceRules, adherence
from app.review.scorecards.loader import Scorecard


class ScoreError(Exception):
    """The scores cannot be recorded as sent; the message says why, for the reviewer."""


class UnknownCall(ScoreError):
    pass


class InvalidScore(ScoreError):
    pass


@dataclass(frozen=True, slots=True)
class CriterionScore:
    """One criterion's score as the reviewer sends it."""

    criterion: str
    value: int
    comment: str = ""


def score_call(
    db: Session,
    call_pk: int,
    user: User,
    scores: Sequence[CriterionScore],
    now: float,
    *,
    scorecard: Scorecard,
) -> dict[str, Any]:
    """Record a reviewer's scores on a call in one transaction; returns the "scores" object.

    Criteria not sent keep their current score. Raises UnknownCall or InvalidScore.
    """
    _check(scores, scorecard)
    # Locks the call row on PostgreSQL so two reviewers' changes to it queue, never interleave
    # (SQLite has one writer at a time anyway).
    call = db.exec(select(CallRow).where(col(CallRow.id) == call_pk).with_for_update()).first()
    if call is None:
        raise UnknownCall(f"no call {call_pk}")
    current = {row.criterion: row for row in _current_rows(db, call_pk)}
    for given in scores:
        comment = given.comment.strip()
        old = current.get(given.criterion)
        if old is not None and (old.value, old.comment) == (given.value, comment):
            continue
        if old is not None:
            old.superseded_at = now
            db.add(old)
        new = Score(
            call_pk=call_pk,
            criterion=given.criterion,
            value=given.value,
            comment=comment,
            scored_by=_id(user),
            scored_at=now,
        )
        db.add(new)
        current[given.criterion] = new
    db.exec(
        update(CallRow)
        .where(col(CallRow.id) == call_pk)
        .values(score=total_of(current.values(), scorecard))
    )
    db.commit()
    return scores_of(db, call_pk, scorecard)


def _check(scores: Sequence[CriterionScore], scorecard: Scorecard) -> None:
    seen: set[str] = set()
    for given in scores:
        criterion = scorecard.criterion(given.criterion)
        if criterion is None:
            known = ", ".join(c.id for c in scorecard.criteria)
            raise InvalidScore(
                f'unknown criterion "{given.criterion}" (the scorecard has: {known})'
            )
        if given.criterion in seen:
            raise InvalidScore(f'criterion "{given.criterion}" is scored twice in one request')
        seen.add(given.criterion)
        if not 0 <= given.value <= criterion.max:
            raise InvalidScore(
                f'"{criterion.label}" is scored from 0 to {criterion.max}, not {given.value}'
            )


def total_of(rows: Iterable[Score], scorecard: Scorecard) -> float | None:
    """Points given over points possible, in percent, over the criteria scored so far (a
    criterion left unscored, e.g. complaint handling on a call without one, does not count);
    None when nothing is scored. Scores of criteria no longer on the scorecard are left out."""
    given = possible = 0
    for row in rows:
        criterion = scorecard.criterion(row.criterion)
        if criterion is not None:
            given += row.value
            possible += criterion.max
    if possible == 0:
        return None
    return round(given / possible * 100, 1)


def scores_of(db: Session, call_pk: int, scorecard: Scorecard) -> dict[str, Any]:
    """The "scores" object of a call: criteria, current scores, history, total."""
    rows = db.exec(
        select(Score, User.username)
        .join(User, col(User.id) == col(Score.scored_by))
        .where(col(Score.call_pk) == call_pk)
        .order_by(col(Score.scored_at), col(Score.id))
    ).all()
    order = {c.id: index for index, c in enumerate(scorecard.criteria)}
    current = sorted(
        (row for row in rows if row[0].superseded_at is None),
        key=lambda row: (order.get(row[0].criterion, len(order)), row[0].criterion),
    )
    history = sorted(
        (row for row in rows if row[0].superseded_at is not None),
        key=lambda row: (-(row[0].superseded_at or 0.0), -(row[0].id or 0)),
    )
    return {
        "criteria": [c.contract() for c in scorecard.criteria],
        "current": [_entry(score, username) for score, username in current],
        "history": [
            {**_entry(score, username), "superseded_at": score.superseded_at}
            for score, username in history
        ],
        "total": total_of((score for score, _ in current), scorecard),
    }


def _entry(score: Score, username: str) -> dict[str, Any]:
    return {
        "criterion": score.criterion,
        "value": score.value,
        "comment": score.comment,
        "scored_by": username,
        "scored_at": score.scored_at,
    }


def _current_rows(db: Session, call_pk: int) -> list[Score]:
    return list(
        db.exec(
            select(Score).where(col(Score.call_pk) == call_pk, col(Score.superseded_at).is_(None))
        )
    )


def review_of(
    db: Session,
    item: dict[str, Any],
    catalog: Catalog,
    scorecard: Scorecard,
    rules: AdherenceRules,
) -> dict[str, Any]:
    """A call detail (app.records.query.get_call) with its "adherence" and "scores"."""
    sessions: list[Mapping[str, Any]] = item.get("call_script_sessions") or []
    call_scripts = _call_scripts_of(sessions, catalog)
    item["adherence"] = adherence(
        item,
        sessions,
        required_fields_of(call_scripts),
        rules,
        step_kinds=step_kinds_of(call_scripts),
    )
    item["scores"] = scores_of(db, int(item["id"]), scorecard)
    for session in item.get("call_script_sessions") or []:
        _name_things(session, catalog)
    return item


def _name_things(session: dict[str, Any], catalog: Catalog) -> None:
    """Step titles and field labels in the call script's own words, for the reviewer."""
    call_script = catalog.get(str(session.get("call_script")), session.get("language"))
    if call_script is None:
        return
    session["call_script_title"] = call_script.title
    session["field_labels"] = {spec.name: spec.label for spec in call_script.all_fields()}
    for visit in session.get("steps") or []:
        step = call_script.step(str(visit.get("step")))
        if step is not None:
            visit["title"] = step.title


def _call_scripts_of(sessions: Sequence[Mapping[str, Any]], catalog: Catalog) -> list[CallScript]:
    """The call scripts the sessions followed (one no longer installed is left out: its
    step ids then stand for their kinds, and its required fields are unknown)."""
    found: list[CallScript] = []
    for session in sessions:
        call_script = catalog.get(str(session.get("call_script")), session.get("language"))
        if call_script is not None and call_script not in found:
            found.append(call_script)
    return found


def required_fields_of(call_scripts: Iterable[CallScript]) -> dict[str, tuple[str, ...]]:
    """Step id -> the names of its required fields, for the adherence check."""
    required: dict[str, tuple[str, ...]] = {}
    for call_script in call_scripts:
        for step in call_script.steps:
            names = tuple(f.name for f in step.fields if f.required)
            required[step.id] = tuple(dict.fromkeys((*required.get(step.id, ()), *names)))
    return required


def step_kinds_of(call_scripts: Iterable[CallScript]) -> dict[str, str]:
    """Step id -> its kind (greet, confirm, close, ...); the first call script's wins."""
    kinds: dict[str, str] = {}
    for call_script in call_scripts:
        for step in call_script.steps:
            kinds.setdefault(step.id, step.kind.value)
    return kinds


def _id(user: User) -> int:
    if user.id is None:
        raise ValueError("a user who was never stored cannot score a call")
    return user.id
