"""The agent console's decisions, apart from its database code (store.py).

PURE: who answered a call and when, which call script a session runs, what time an action
typed offline is given, what of a session QA searches, what an earlier call says about the
caller, whether an incident still affects a call. The store asks, then reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from app.callbacks.rules import customer_of
from app.console.call_scripts.catalog import Catalog
from app.console.call_scripts.model import Applied, CallScript, PromptContext, SessionState
from telephony.calls.model import LiveCall

SEARCH_TEXT_MAX = 20_000


class ConsoleError(Exception):
    """The request cannot be served; the message says why, in words for the agent."""


class Agent(Protocol):
    """What a prompt says about the agent speaking (the stored user fits)."""

    @property
    def display_name(self) -> str: ...
    @property
    def position(self) -> str | None: ...
    @property
    def username(self) -> str: ...


class Signal(Protocol):
    """What decides whether an incident still affects a call (the stored incident fits)."""

    @property
    def recovered_at(self) -> float | None: ...
    @property
    def last_signal_at(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the live side knows of a call, for opening a session and for the caller panel."""

    call_id: str
    customer: str | None
    queue: str | None
    dialled: str | None
    answered_at: float | None  # when this agent answered; None: not answered by them
    live: bool
    parties: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Desk:
    """What every view needs beside the session: the call scripts and who is speaking."""

    catalog: Catalog
    company: str
    today: date
    complaint_due_hours: Mapping[str, float]  # by severity, from the settings
    alternate_number: str = ""  # the centre's other channels, offered when a line fails
    alternate_email: str = ""

    def context(self, user: Agent) -> PromptContext:
        return PromptContext(
            agent_name=user.display_name,
            agent_position=user.position or "",
            agent_id=user.username,
            company=self.company,
            alternate_number=self.alternate_number,
            alternate_email=self.alternate_email,
        )


def facts_from_live(live: LiveCall, endpoint: str, now: float) -> CallFacts:
    """A transferred-to agent's answer time is not in the live picture: it is about now,
    since their console asks the moment their phone is answered. A callback rings the agent
    before the customer is dialled: its own channel variable says whom it calls."""
    if live.agents[:1] == (endpoint,):
        answered_at = live.answered_at
    else:
        answered_at = now if endpoint in live.agents else None
    return CallFacts(
        live.call_id,
        customer_of(live),  # a callback: who it calls
        live.queue,
        live.dialled,
        answered_at,
        live=True,
        parties=live.parties,
    )


def call_script_of(catalog: Catalog, call_script: str, language: str) -> CallScript:
    """The call script a stored session runs; an operator may have removed it since."""
    found = catalog.get(call_script, language)
    if found is None:
        raise ConsoleError(f"call script {call_script!r} ({language}) is no longer installed")
    return found


def action_time(at: float | None, earliest: float, now: float) -> float:
    """The console's time for an action typed offline, never in the future or too old."""
    if at is None:
        return now
    return min(now, max(at, earliest))


def worth_storing(applied: Applied, kind: object) -> bool:
    """A refused value is still kept (and reported), so the agent's typing is never lost;
    any other refused action changes nothing."""
    return applied.ok or kind == "set"


def search_text(state: SessionState) -> str:
    """What QA searches a call by: the notes and field values as one lower-cased text (a
    call transferred in carries the earlier fields too)."""
    text = "\n".join([state.notes, *state.fields.values()]).strip().lower()
    return text[:SEARCH_TEXT_MAX]


def known_name(states: Iterable[Mapping[str, Any]]) -> str | None:
    """The first name collected in these stored session states, newest first."""
    for state in states:
        name = (state.get("fields") or {}).get("customer_name")
        if name:
            return str(name)
    return None


def still_affects(incident: Signal) -> bool:
    """An incident whose signal has cleared (recovered, and no new signal since) no longer
    affects the call."""
    if incident.recovered_at is None:
        return True
    return incident.last_signal_at is not None and incident.last_signal_at > incident.recovered_at
