"""The centre's callback rules as pure decisions: which finished call needs a callback, who
to ring, what an attempt's result was and when (or whether) to try again.

Pure: plain data in, plain data out, time passed in. The desk (app/callbacks/desk.py) does the
waiting, storing and dialling around these decisions, so each rule is tested on its own and
a replayed stream gets the same answers as the live service.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from telephony.calls.model import CallEnded, Direction, LiveCall, Outcome

# Channel variables on every callback the service places (the tracker keeps CALLASSIST_*).
CALLBACK_TAG = "CALLASSIST_CALLBACK"  # the callback's id
ATTEMPT_TAG = "CALLASSIST_ATTEMPT"  # the attempt's id
CALLBACK_FOR_TAG = "CALLASSIST_CALLBACK_FOR"  # the call_id of the call it answers for
CUSTOMER_TAG = "CALLASSIST_CUSTOMER"  # the number being called back, known before it is dialled

# What an attempt came to.
REACHED = "reached"
BUSY = "busy"
NO_ANSWER = "no_answer"
REJECTED = "rejected"
FAILED = "failed"
AGENT_NO_ANSWER = "agent_no_answer"  # the agent's phone was not answered: try another agent
NOT_SENT = "not_sent"  # the PBX never got the Originate: the attempt does not count
UNKNOWN = "unknown"  # the PBX may have carried it out, and how it ended was never seen
ASK_A_PERSON = (
    "the last attempt may have reached the customer (lost in a link cut or a restart): "
    "a person decides whether to call again"
)

# What may go into an Originate. A caller chooses their own caller ID, and Asterisk splits an
# Originate's Variable values on commas (a name ending in ")" writes a dialplan function):
# a number is dialled only if it is a phone number; a phone is rung only if it is a channel.
DIALLABLE_NUMBER = r"\+?[0-9]{3,20}"
_CHANNEL = re.compile(
    r"Local/[A-Za-z0-9_.+*#-]+@[A-Za-z0-9_.-]+(/n)?"  # a dialplan extension as the phone
    r"|[A-Za-z0-9]+/[A-Za-z0-9_.+-]+"  # PJSIP/1001 and the like
)

_CAUSE_RESULTS = {17: BUSY, 18: NO_ANSWER, 19: NO_ANSWER, 21: REJECTED}
_ORIGINATE_ANSWERED = 4  # OriginateResponse Reason: the first channel (the agent) answered


@dataclass(frozen=True, slots=True)
class CallbackRules:
    """From settings: the schedule is seconds after the call ended, one entry per attempt."""

    schedule: tuple[float, ...] = (0.0, 120.0, 600.0)
    retry_causes: frozenset[int] = frozenset({17, 18, 19, 27, 34, 38, 41, 42, 44, 47, 102, 111})
    short_abandon_seconds: float = 5.0
    jumps_queue: bool = False
    diallable_number: str = DIALLABLE_NUMBER  # a regular expression, matched in full

    @property
    def max_attempts(self) -> int:
        return len(self.schedule)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A finished call the centre owes a callback."""

    call_id: str
    customer: str
    reason: str  # dropped, abandoned, missed
    auto: bool  # dialled by the service at once; else it waits in the callback queue
    agent: str | None  # who to ring first
    queue: str | None
    hangup_cause: int | None
    ended_at: float
    waiting_for: str | None = None  # why a person must take it (the number cannot be dialled)


def candidate(ended: CallEnded, rules: CallbackRules, at: float) -> Candidate | None:
    """Whether this finished call needs a callback, and of which kind.

    Only inbound customers are owed one; a callback's own call never spawns another (its
    result is the attempt's); a customer who hung up in an IVR, or gave up within the
    short-abandon threshold, did not wait for anyone.
    """
    record = ended.record
    customer = record.customer
    if record.direction is not Direction.INBOUND or not customer or _is_callback(ended):
        return None
    reason = _reason(ended, rules)
    if reason is None:
        return None
    why = undiallable(customer, rules)
    auto = reason == "dropped" and record.agent is not None and why is None
    return Candidate(
        call_id=record.call_id,
        customer=customer,
        reason=reason,
        auto=auto,
        agent=record.agents[-1] if record.agents else None,
        queue=record.queue,
        hangup_cause=record.hangup_cause,
        ended_at=record.ended_at if record.ended_at is not None else at,
        waiting_for=why,
    )


def undiallable(number: str, rules: CallbackRules) -> str | None:
    """Why this number must never reach an Originate, or None when it is a phone number.
    The raw caller ID stays on the call's record; this only keeps it off the PBX."""
    if _pattern(rules.diallable_number).fullmatch(number):
        return None
    shown = number if len(number) <= 60 else number[:60] + "..."
    return f"the caller's number cannot be dialled: {shown!r}"


def unringable(channel: str) -> str | None:
    """Why this agent phone must never be an Originate's Channel, or None."""
    if _CHANNEL.fullmatch(channel):
        return None
    return f"the phone {channel[:60]!r} cannot be rung: it is not a channel name"


@functools.cache
def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression)


def stays_automatic(found: Candidate, answered_by: str | None) -> Candidate:
    """A dropped call's callback is dialled at once through the agent who had the customer,
    also when the call's end no longer names them: a call re-adopted after a restart ends
    with what the PBX still listed, while the stored call (``answered_by``: its first
    connected agent) remembers who answered it before."""
    if found.auto or found.reason != "dropped" or found.agent or found.waiting_for:
        return found
    if not answered_by:
        return found
    return replace(found, auto=True, agent=answered_by)


def customer_of(live: LiveCall) -> str | None:
    """Whom a call in progress is with, as its agent is shown: a callback rings the agent
    before the PBX dials the customer, so until then the tracker knows no customer; the
    callback's own channel variable names the number it calls from the first ring on."""
    return dict(live.tags).get(CUSTOMER_TAG) or live.customer


def _is_callback(ended: CallEnded) -> bool:
    return any(name == CALLBACK_TAG for name, _ in ended.tags)


def _reason(ended: CallEnded, rules: CallbackRules) -> str | None:
    record = ended.record
    if record.outcome is Outcome.DROPPED:
        return "dropped"
    if record.outcome is Outcome.MISSED:
        return "missed"
    if record.outcome is not Outcome.ABANDONED:
        return None
    waited_for_someone = record.queue is not None or any(leg.role == "agent" for leg in ended.legs)
    waited = record.ring_seconds
    if waited is None and record.started_at is not None and record.ended_at is not None:
        waited = record.ended_at - record.started_at
    if not waited_for_someone or waited is None or waited <= rules.short_abandon_seconds:
        return None
    return "abandoned"


def result_of_call(answered: bool, hangup_cause: int | None) -> str:
    """An attempt's result from the callback call's own end: reached once the customer
    answered; otherwise what the cause says (busy, no answer, rejected, failed)."""
    if answered:
        return REACHED
    return _CAUSE_RESULTS.get(hangup_cause or 0, FAILED)


def result_of_originate(success: bool, reason: int | None) -> str | None:
    """An OriginateResponse that failed means the agent's phone was not answered (busy,
    no answer, unreachable); a success (Reason 4) decides nothing yet: None."""
    if success and reason == _ORIGINATE_ANSWERED:
        return None
    return AGENT_NO_ANSWER


@dataclass(frozen=True, slots=True)
class NextStep:
    """After an attempt: try again at ``at``, hand it to a person (``queued``, saying
    ``why``), or stop with ``status``."""

    status: str  # pending, queued, reached, not_reached
    at: float | None = None
    exclude_agent: str | None = None  # not the agent who did not answer, this time
    why: str | None = None  # why a person must decide (queued)


def next_step(
    rules: CallbackRules,
    *,
    result: str,
    attempts: int,
    hangup_cause: int | None,
    call_ended_at: float,
    now: float,
    agent: str | None = None,
) -> NextStep:
    """Retry after a network fault, busy or no answer by the schedule; never after the
    customer rejected the call. An agent who did not pick up costs the customer nothing:
    the next free agent is rung at once. ``attempts`` counts the attempts made so far.

    An attempt whose end nobody saw (``UNKNOWN``: the PBX took it, then a link cut or a
    restart hid how it went, and its channel is gone) may have reached the customer, who
    may even have hung up already: dialling again could call them twice. In doubt the
    service does not dial: the callback goes to the callback queue, where a person decides.
    """
    if result == REACHED:
        return NextStep("reached")
    if result == UNKNOWN:
        return NextStep("queued", why=ASK_A_PERSON)
    if result in (AGENT_NO_ANSWER, NOT_SENT):
        return NextStep("pending", now, exclude_agent=agent if result == AGENT_NO_ANSWER else None)
    retry = hangup_cause is not None and hangup_cause in rules.retry_causes
    if result == REJECTED or not retry or attempts >= rules.max_attempts:
        return NextStep("not_reached")
    return NextStep("pending", max(now, call_ended_at + rules.schedule[attempts]))


def choose_agent(
    preferred: str | None,
    agents: Sequence[str],
    busy: Iterable[str],
    exclude: Iterable[str] = (),
) -> str | None:
    """The agent to ring: the one who had the customer, if free; else the first free one
    in ``agents`` (the queue's agents first, as the desk orders them)."""
    unavailable = set(busy) | set(exclude)
    order = [preferred, *agents] if preferred else list(agents)
    return next((agent for agent in order if agent and agent not in unavailable), None)


def queue_wait(rules: CallbackRules, queue: str | None, waiting: dict[str, int]) -> str | None:
    """Why a callback must wait for the customers already queueing, or None.

    ``waiting`` is customers waiting per queue now. A callback for a queue waits for that
    queue; one with no queue waits for any queue, since any of its agents may be needed.
    """
    if rules.jumps_queue:
        return None
    count = waiting.get(queue, 0) if queue else sum(waiting.values())
    if count <= 0:
        return None
    where = f"queue {queue}" if queue else "the queues"
    return f"{count} customer{'s' if count != 1 else ''} waiting in {where}"
