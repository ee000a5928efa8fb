"""The call-script engine: (call script, state, action) -> new state + effects.

A session walks the steps in order ("next" defaults to the step written after, a close step
ends the walk). Branches (complaint, sensitive, complex, emergency, line_fault) are taken
from any step: the step left is pushed on the return stack and a step marked `return: true`
pops it. A sensitive branch closes a gate that only its identity check step opens again, so
no other branch can be taken halfway through checking who the caller is. `back` undoes one
move using the trail, which remembers the return stack and the gate of each step left. A
line-fault step completed with the "callback" choice asks for a callback (OfferCallback).

Status: active -(hangup)-> wrap_up -(wrap_up)-> done. Time comes in as `at`, the date as
`today`; nothing here reads a clock, and a bad action is reported, never raised. What a
field's value must be is in values.py, what the console shows of a session in view.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date

from app.console.call_scripts.model import (
    Action,
    ActionKind,
    Applied,
    Branch,
    BranchKind,
    CallScript,
    Effect,
    EmergencyDeclared,
    FieldType,
    Frame,
    OfferCallback,
    RecordComplaint,
    RequestTransfer,
    SessionState,
    SessionStatus,
    Step,
    StepKind,
    Visit,
)
from app.console.call_scripts.values import validate_field

NOTES_MAX = 4000
CALLBACK = "callback"  # the disposition id that queues a callback

Handler = Callable[[CallScript, SessionState, Action, float, date], Applied]

_ALLOWED: dict[SessionStatus, frozenset[str]] = {
    SessionStatus.ACTIVE: frozenset(ActionKind) - {ActionKind.WRAP_UP},
    SessionStatus.WRAP_UP: frozenset({ActionKind.SET, ActionKind.NOTE, ActionKind.WRAP_UP}),
    SessionStatus.DONE: frozenset(),
}


def start(call_script: CallScript, *, at: float) -> SessionState:
    """A new session on the first step, as the agent answers the call."""
    first = call_script.steps[0].id
    return SessionState(
        call_script=call_script.id,
        language=call_script.language,
        step=first,
        history=(Visit(first, at),),
        answered_at=at,
    )


def hand_over(state: SessionState, *, from_agent: str, at: float) -> SessionState:
    """The receiving agent's copy of a transferred call's session: same step and fields."""
    history = state.history
    if not history or history[-1].left_at is not None:
        history = (*history, Visit(state.step, at))
    return dataclasses.replace(
        state,
        status=SessionStatus.ACTIVE,
        history=history,
        disposition=None,
        handed_over_from=from_agent,
        version=state.version + 1,
    )


def apply(
    call_script: CallScript, state: SessionState, action: Action, *, at: float, today: date
) -> Applied:
    """Apply one action; a refused action leaves the state as it was and says why."""
    handler = _HANDLERS.get(action.kind)
    if handler is None:
        return _refused(state, f'unknown action "{action.kind}"')
    if action.kind not in _ALLOWED[state.status]:
        return _refused(state, _not_now(action.kind, state.status))
    applied = handler(call_script, state, action, at, today)
    if applied.error is not None and applied.state is state:
        return applied
    bumped = dataclasses.replace(applied.state, version=state.version + 1)
    return dataclasses.replace(applied, state=bumped)


def _not_now(kind: str, status: SessionStatus) -> str:
    if status is SessionStatus.DONE:
        return "the call-script session is finished"
    if kind == ActionKind.WRAP_UP:
        return "the call is still connected: wrap up once it has ended"
    return f'"{kind}" is not possible once the call has ended'


def _refused(state: SessionState, error: str, errors: Mapping[str, str] | None = None) -> Applied:
    return Applied(state=state, errors=dict(errors or {}), error=error)


def _field_errors(state: SessionState, errors: Mapping[str, str]) -> Applied:
    summary = (
        next(iter(errors.values()))
        if len(errors) == 1
        else (f"{len(errors)} fields need attention: " + "; ".join(errors.values()))
    )
    return _refused(state, summary, errors)


# ---------------------------------------------------------------------------- handlers


def _set(cs: CallScript, state: SessionState, action: Action, at: float, today: date) -> Applied:
    name = action.field or ""
    spec = cs.field(name)
    if spec is None:
        return _field_errors(state, {name: f'"{name}" is not a field of this call script'})
    fields = _with_value(state.fields, name, action.value)
    changed = dataclasses.replace(state, fields=fields)
    problem = validate_field(spec, fields.get(name), today)
    if problem is not None and name in fields:  # kept, and reported
        return Applied(state=changed, errors={name: problem}, error=problem)
    return Applied(state=changed)


def _next(cs: CallScript, state: SessionState, action: Action, at: float, today: date) -> Applied:
    step = cs.step(state.step)
    if step is None:
        return _refused(state, f'the call script has no step "{state.step}"')
    fields = dict(state.fields)
    own = {f.name for f in step.fields}
    errors: dict[str, str] = {}
    for name, value in (action.values or {}).items():
        if name in own:
            fields = _with_value(fields, name, value)
        else:
            errors[name] = f'"{name}" is not a field of step "{step.id}"'
    for spec in step.fields:
        problem = validate_field(spec, fields.get(spec.name), today)
        if problem is not None:
            errors[spec.name] = problem
    if errors:
        return _field_errors(state, errors)
    completed = dataclasses.replace(state, fields=fields)
    effects: list[Effect] = []
    if step.kind is StepKind.COMPLAINT:
        effects.append(_complaint(step, fields))
        completed = dataclasses.replace(completed, complaints=state.complaints + 1)
    if step.kind is StepKind.IDENTITY_CHECK:
        completed = dataclasses.replace(completed, gate=None)
    if step.kind is StepKind.LINE_FAULT:
        effects.extend(_line_fault_callback(step, fields))
    to, returns, returning = destination(cs, step, fields, state.returns)
    if to is None:  # the close step: nothing further, the call still needs ending
        return Applied(state=completed, effects=tuple(effects))
    moved = _move(state, completed, to, returns, at)
    target = cs.step(to)
    if target is not None and target.kind is StepKind.EMERGENCY and not returning:
        effects.append(EmergencyDeclared(to, at))
    return Applied(state=moved, effects=tuple(effects))


def _back(cs: CallScript, state: SessionState, action: Action, at: float, today: date) -> Applied:
    if not state.trail:
        return _refused(state, "this is the first step: there is nothing to go back to")
    frame = state.trail[-1]
    return Applied(
        state=dataclasses.replace(
            state,
            step=frame.step,
            history=_entered(state.history, frame.step, at),
            returns=frame.returns,
            trail=state.trail[:-1],
            gate=frame.gate,
        )
    )


def _branch(cs: CallScript, state: SessionState, action: Action, at: float, today: date) -> Applied:
    branch = cs.branch(action.branch or "")
    if branch is None:
        return _refused(state, f'unknown branch "{action.branch}"')
    refusal = branch_refusal(state, branch)
    if refusal is not None:
        return _refused(state, refusal)
    if state.step == branch.to:  # already there: taking it again changes nothing
        return Applied(state=state)
    # Re-taking the sensitive branch inside its own check restarts it, not a second level.
    returns = state.returns if state.gate == branch.id else (*state.returns, state.step)
    gate = branch.id if branch.kind is BranchKind.SENSITIVE else state.gate
    moved = _move(state, dataclasses.replace(state, gate=gate), branch.to, returns, at)
    target = cs.step(branch.to)
    effects: tuple[Effect, ...] = ()
    if target is not None and target.kind is StepKind.EMERGENCY:
        effects = (EmergencyDeclared(branch.to, at),)
    return Applied(state=moved, effects=effects)


def _refer(cs: CallScript, state: SessionState, action: Action, at: float, today: date) -> Applied:
    step = cs.step(state.step)
    if step is None or step.transfer is None:
        return _refused(state, "this step has no department to refer the call to")
    transfer = RequestTransfer(step.transfer.target, step.transfer.department)
    return Applied(state=state, effects=(transfer,))


def _note(cs: CallScript, state: SessionState, action: Action, at: float, today: date) -> Applied:
    text = action.text or ""
    if len(text) > NOTES_MAX:
        return _field_errors(state, {"notes": f"Notes are at most {NOTES_MAX} characters."})
    return Applied(state=dataclasses.replace(state, notes=text))


def _hangup(cs: CallScript, state: SessionState, action: Action, at: float, today: date) -> Applied:
    return Applied(
        state=dataclasses.replace(
            state, status=SessionStatus.WRAP_UP, history=_left(state.history, at)
        )
    )


def _wrap_up(
    cs: CallScript, state: SessionState, action: Action, at: float, today: date
) -> Applied:
    disposition = cs.disposition(action.disposition or "")
    if disposition is None:
        choices = ", ".join(d.id for d in cs.dispositions)
        return _field_errors(state, {"disposition": f"Choose a disposition: {choices}."})
    notes = state.notes if action.notes is None else action.notes
    if len(notes) > NOTES_MAX:
        return _field_errors(state, {"notes": f"Notes are at most {NOTES_MAX} characters."})
    done = dataclasses.replace(
        state, status=SessionStatus.DONE, disposition=disposition.id, notes=notes
    )
    effects: tuple[Effect, ...] = ()
    if disposition.id == CALLBACK:
        effects = (OfferCallback(_dialable(state.fields.get("contact"))),)
    return Applied(state=done, effects=effects)


_HANDLERS: dict[str, Handler] = {
    ActionKind.SET: _set,
    ActionKind.NEXT: _next,
    ActionKind.BACK: _back,
    ActionKind.BRANCH: _branch,
    ActionKind.REFER: _refer,
    ActionKind.NOTE: _note,
    ActionKind.HANGUP: _hangup,
    ActionKind.WRAP_UP: _wrap_up,
}


# ---------------------------------------------------------------------------- moving


def destination(
    cs: CallScript, step: Step, fields: Mapping[str, str], returns: tuple[str, ...]
) -> tuple[str | None, tuple[str, ...], bool]:
    """Where completing `step` leads: (step id or None, return stack, whether returning)."""
    for jump in step.jumps:
        if fields.get(jump.field) == jump.equals:
            return jump.to, returns, False
    if step.returns and returns:
        return returns[-1], returns[:-1], True
    if step.next is not None:
        return step.next, returns, False
    following = cs.following(step.id)
    return (None if following is None else following.id), returns, False


def _move(
    before: SessionState, after: SessionState, to: str, returns: tuple[str, ...], at: float
) -> SessionState:
    """Go to `to`, leaving a trail frame that lets `back` restore `before`."""
    frame = Frame(before.step, before.returns, before.gate)
    return dataclasses.replace(
        after,
        step=to,
        history=_entered(after.history, to, at),
        returns=returns,
        trail=(*after.trail, frame),
    )


def _left(history: tuple[Visit, ...], at: float) -> tuple[Visit, ...]:
    if not history or history[-1].left_at is not None:
        return history
    return (*history[:-1], dataclasses.replace(history[-1], left_at=at))


def _entered(history: tuple[Visit, ...], step: str, at: float) -> tuple[Visit, ...]:
    return (*_left(history, at), Visit(step, at))


def branch_refusal(state: SessionState, branch: Branch) -> str | None:
    """Why a branch cannot be taken now; the view offers it exactly when this is None."""
    if state.status is not SessionStatus.ACTIVE:
        return "branches are only available while the call is connected"
    if state.gate is not None and state.gate != branch.id:
        return "finish the identity check before taking another branch"
    return None


def _with_value(fields: Mapping[str, str], name: str, value: str | None) -> dict[str, str]:
    """Store a value as typed, trimmed; an empty value clears the field."""
    out = dict(fields)
    cleaned = (value or "").strip()
    if cleaned:
        out[name] = cleaned
    else:
        out.pop(name, None)
    return out


def _complaint(step: Step, fields: Mapping[str, str]) -> RecordComplaint:
    return RecordComplaint(
        content=fields.get("content", ""),
        category=fields.get("category"),
        severity=fields.get("severity"),
        step=step.id,
    )


def _line_fault_callback(step: Step, fields: Mapping[str, str]) -> tuple[OfferCallback, ...]:
    """The customer chose "a callback when the line is back": a number typed in the step
    wins, then the contact collected earlier; none: the service uses the caller's number."""
    chosen = [
        f for f in step.fields if f.type is FieldType.CHOICE and fields.get(f.name) == CALLBACK
    ]
    if not chosen:
        return ()
    typed = next(
        (fields[f.name] for f in step.fields if f.type is FieldType.PHONE and fields.get(f.name)),
        None,
    )
    label = chosen[0].option_label(CALLBACK) or CALLBACK
    return (OfferCallback(_dialable(typed or fields.get("contact")), f"{step.title}: {label}"),)


def _dialable(number: str | None) -> str | None:
    """A phone number as typed (spaces, dashes, brackets) reduced to what can be dialled."""
    if number is None:
        return None
    digits = "".join(c for c in number if c.isdigit())
    return ("+" + digits) if number.startswith("+") else digits
