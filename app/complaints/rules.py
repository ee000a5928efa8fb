"""The complaint workflow: received -> in_progress -> resolved -> closed (a resolved complaint
may be reopened), a due date from the severity. PURE: a table and the decisions read from it,
so what may happen next is data the API can name in its refusals."""

from __future__ import annotations

from collections.abc import Mapping

STATUSES = ("received", "in_progress", "resolved", "closed")
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "received": ("in_progress",),
    "in_progress": ("resolved",),
    "resolved": ("closed", "in_progress"),  # reopened when the customer is not satisfied
    "closed": (),
}
OPEN = ("received", "in_progress")  # not yet resolved: the due date still runs
SEVERITIES = ("critical", "high", "medium", "low")
FALLBACK_SEVERITY = "medium"  # an operator's call script may offer severities of its own
OWNER_ROLES = ("qa", "supervisor", "admin")


class ComplaintError(Exception):
    """A change the workflow refuses; the message says why, for the reviewer."""


class IllegalTransition(ComplaintError):
    def __init__(self, current: str, wanted: str) -> None:
        self.allowed = allowed_next(current)
        if self.allowed:
            names = ", ".join(self.allowed)
            reason = f"a {current} complaint can only move to: {names}"
        else:
            reason = f"a {current} complaint is final and moves nowhere"
        super().__init__(f"cannot move from {current} to {wanted}: {reason}")


class BadChange(ComplaintError):
    """The request itself is wrong (an unknown owner, nothing to change)."""


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check_transition(current: str, wanted: str) -> None:
    """Raise IllegalTransition unless the workflow has this step."""
    if wanted not in allowed_next(current):
        raise IllegalTransition(current, wanted)


def due_at(severity: str, filed_at: float, due_hours: Mapping[str, float]) -> float | None:
    """When the complaint must be resolved; an unknown severity gets the medium one's time."""
    hours = due_hours.get(severity, due_hours.get(FALLBACK_SEVERITY))
    return None if hours is None else filed_at + hours * 3600.0


def is_overdue(status: str, due: float | None, now: float) -> bool:
    return status in OPEN and due is not None and due < now
