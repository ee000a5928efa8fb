"""What a call script is, where an agent stands in it, and what the engine decides.

Everything here is plain, frozen data so the engine stays a function: a call script and a
session state go in, a new state and effects come out. Effects are past tense or requests
(RecordComplaint, RequestTransfer, ...); the service carries them out, never the core.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class StepKind(StrEnum):
    GREET = "greet"
    COLLECT = "collect"
    ANSWER = "answer"
    CONFIRM = "confirm"
    CLOSE = "close"
    COMPLAINT = "complaint"
    IDENTITY_CHECK = "identity_check"
    LOOKUP = "lookup"
    EMERGENCY = "emergency"
    LINE_FAULT = "line_fault"  # the line-fault procedure: tell, offer another channel, record


class FieldType(StrEnum):
    TEXT = "text"
    PHONE = "phone"
    CHOICE = "choice"
    YES_NO = "yes_no"
    DATE = "date"


class BranchKind(StrEnum):
    COMPLAINT = "complaint"
    SENSITIVE = "sensitive"
    COMPLEX = "complex"
    EMERGENCY = "emergency"
    LINE_FAULT = "line_fault"


class SessionStatus(StrEnum):
    ACTIVE = "active"  # the call is connected
    WRAP_UP = "wrap_up"  # the call has ended; the agent picks a disposition
    DONE = "done"


class ActionKind(StrEnum):
    SET = "set"
    NEXT = "next"
    BACK = "back"
    BRANCH = "branch"
    REFER = "refer"
    NOTE = "note"
    HANGUP = "hangup"
    WRAP_UP = "wrap_up"


# ---------------------------------------------------------------------------- call script


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One value the agent collects; values are always strings (an option id, "yes", a date)."""

    name: str
    label: str
    type: FieldType
    required: bool = False
    options: tuple[Option, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_hint: str | None = None
    not_before: str | None = None  # an ISO date or "today"
    not_after: str | None = None

    def option_label(self, option_id: str) -> str | None:
        return next((o.label for o in self.options if o.id == option_id), None)


@dataclass(frozen=True, slots=True)
class Jump:
    """Checked when its step is completed: if `field` equals `equals`, go to `to`."""

    field: str
    equals: str
    to: str


@dataclass(frozen=True, slots=True)
class Transfer:
    target: str  # the extension or queue the call is transferred to
    department: str


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    kind: StepKind
    title: str
    prompt: str = ""
    fields: tuple[FieldSpec, ...] = ()
    jumps: tuple[Jump, ...] = ()
    next: str | None = None
    returns: bool = False  # YAML `return: true`: go back to where the branch was taken
    notes: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    transfer: Transfer | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    id: str
    kind: BranchKind
    label: str
    to: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Disposition:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Match:
    queues: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CallScript:
    id: str
    language: str
    title: str
    steps: tuple[Step, ...]
    dispositions: tuple[Disposition, ...]
    branches: tuple[Branch, ...] = ()
    match: Match = Match()
    default: bool = False
    source: str = ""  # the file it was loaded from, for operators' error messages

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def following(self, step_id: str) -> Step | None:
        """The step written after this one; a close step has none (the call ends there)."""
        ids = [s.id for s in self.steps]
        if step_id not in ids:
            return None
        here = ids.index(step_id)
        if self.steps[here].kind is StepKind.CLOSE or here + 1 >= len(self.steps):
            return None
        return self.steps[here + 1]

    def branch(self, branch_id: str) -> Branch | None:
        return next((b for b in self.branches if b.id == branch_id), None)

    def disposition(self, disposition_id: str) -> Disposition | None:
        return next((d for d in self.dispositions if d.id == disposition_id), None)

    def all_fields(self) -> Iterator[FieldSpec]:
        for step in self.steps:
            yield from step.fields

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.all_fields() if f.name == name), None)


# ---------------------------------------------------------------------------- session state


@dataclass(frozen=True, slots=True)
class Visit:
    """One stay on one step: the step times QA sees."""

    step: str
    entered_at: float
    left_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "entered_at": self.entered_at, "left_at": self.left_at}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Visit:
        left = d.get("left_at")
        return cls(str(d["step"]), float(d["entered_at"]), None if left is None else float(left))


@dataclass(frozen=True, slots=True)
class Frame:
    """Where `back` returns to: the step left, with the branch bookkeeping of that moment."""

    step: str
    returns: tuple[str, ...] = ()
    gate: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "returns": list(self.returns), "gate": self.gate}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Frame:
        gate = d.get("gate")
        returns = tuple(str(s) for s in d.get("returns", ()))
        return cls(str(d["step"]), returns, None if gate is None else str(gate))


@dataclass(frozen=True, slots=True)
class SessionState:
    """One agent's progress through one call script on one call; stored as JSON."""

    call_script: str
    language: str
    step: str
    status: SessionStatus = SessionStatus.ACTIVE
    fields: Mapping[str, str] = dataclasses.field(default_factory=dict)
    notes: str = ""
    history: tuple[Visit, ...] = ()
    returns: tuple[str, ...] = ()  # the return stack: steps branches were taken from
    trail: tuple[Frame, ...] = ()  # what `back` undoes, newest last
    gate: str | None = None  # a sensitive branch whose identity check is not completed yet
    disposition: str | None = None
    complaints: int = 0
    version: int = 0
    handed_over_from: str | None = None
    answered_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_script": self.call_script,
            "language": self.language,
            "step": self.step,
            "status": self.status.value,
            "fields": dict(self.fields),
            "notes": self.notes,
            "history": [v.to_dict() for v in self.history],
            "returns": list(self.returns),
            "trail": [f.to_dict() for f in self.trail],
            "gate": self.gate,
            "disposition": self.disposition,
            "complaints": self.complaints,
            "version": self.version,
            "handed_over_from": self.handed_over_from,
            "answered_at": self.answered_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SessionState:
        """Rebuild a stored state; raises KeyError or ValueError when it is not one."""
        answered = d.get("answered_at")
        return cls(
            call_script=str(d["call_script"]),
            language=str(d["language"]),
            step=str(d["step"]),
            status=SessionStatus(d.get("status", SessionStatus.ACTIVE)),
            fields={str(k): str(v) for k, v in dict(d.get("fields", {})).items()},
            notes=str(d.get("notes", "")),
            history=tuple(Visit.from_dict(v) for v in d.get("history", ())),
            returns=tuple(str(s) for s in d.get("returns", ())),
            trail=tuple(Frame.from_dict(f) for f in d.get("trail", ())),
            gate=_optional_str(d.get("gate")),
            disposition=_optional_str(d.get("disposition")),
            complaints=int(d.get("complaints", 0)),
            version=int(d.get("version", 0)),
            handed_over_from=_optional_str(d.get("handed_over_from")),
            answered_at=None if answered is None else float(answered),
        )


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class Action:
    """What the agent (or the service, for hangup) asks of the session.

    `kind` stays a plain string so an unknown kind from the wire is an error the engine
    reports, not an exception at the boundary.
    """

    kind: str
    field: str | None = None  # set
    value: str | None = None  # set
    values: Mapping[str, str] | None = None  # next: values to store with the step
    branch: str | None = None  # branch
    text: str | None = None  # note: the whole notepad
    disposition: str | None = None  # wrap_up
    notes: str | None = None  # wrap_up: replaces the notepad when given

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Action:
        """An action from the API body; values become strings (true -> "yes")."""
        raw_values = d.get("values")
        values = (
            {str(k): _as_value(v) for k, v in raw_values.items()}
            if isinstance(raw_values, Mapping)
            else None
        )
        return cls(
            kind=str(d.get("kind", "")),
            field=_optional_str(d.get("field")),
            value=None if d.get("value") is None else _as_value(d.get("value")),
            values=values,
            branch=_optional_str(d.get("branch")),
            text=_optional_str(d.get("text")),
            disposition=_optional_str(d.get("disposition")),
            notes=_optional_str(d.get("notes")),
        )


def _as_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# ---------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class RecordComplaint:
    """A complaint step was completed: the service files the complaint."""

    content: str
    category: str | None
    severity: str | None
    step: str

    def contract(self) -> dict[str, Any]:
        return {
            "kind": "complaint",
            "content": self.content,
            "category": self.category,
            "severity": self.severity,
            "step": self.step,
        }


@dataclass(frozen=True, slots=True)
class RequestTransfer:
    """The agent pressed "refer to department": the service transfers the call."""

    target: str
    department: str

    def contract(self) -> dict[str, Any]:
        return {"kind": "transfer", "target": self.target, "department": self.department}


@dataclass(frozen=True, slots=True)
class EmergencyDeclared:
    """An emergency step was entered: the emergency plan starts (supervisor alerted)."""

    step: str
    at: float

    def contract(self) -> dict[str, Any]:
        return {"kind": "emergency", "step": self.step, "at": self.at}


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """The customer is to be called back: wrapped up with the "callback" disposition, or
    the callback chosen in the line-fault procedure. The service queues a callback."""

    number: str | None  # the collected contact number, dialable form; None if not collected
    note: str = ""  # why, for whoever works the callback queue

    def contract(self) -> dict[str, Any]:
        return {"kind": "callback", "number": self.number, "note": self.note}


Effect = RecordComplaint | RequestTransfer | EmergencyDeclared | OfferCallback


@dataclass(frozen=True, slots=True)
class Applied:
    """The engine's answer to one action. errors/error set => the action was refused
    (except `set`, which keeps the value it was given and still reports what is wrong)."""

    state: SessionState
    effects: tuple[Effect, ...] = ()
    errors: Mapping[str, str] = dataclasses.field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.errors


@dataclass(frozen=True, slots=True)
class PromptContext:
    """Who is speaking, for the prompt templates ({{agent.name}}, {{company}}, ...), and the
    centre's other channels ({{alternate.number}}, {{alternate.email}}) for when a line fails."""

    agent_name: str
    agent_position: str
    agent_id: str
    company: str
    alternate_number: str = ""
    alternate_email: str = ""
