"""What the console shows of a call-script session: the contract's SessionView, less the
parts only the service knows (id, call_id, agent)."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.console.call_scripts.engine import branch_refusal, destination
from app.console.call_scripts.model import (
    CallScript,
    FieldSpec,
    FieldType,
    PromptContext,
    SessionState,
    SessionStatus,
    Step,
    StepKind,
)
from app.console.call_scripts.prompts import render
from app.console.call_scripts.values import validate_field


def view(
    call_script: CallScript, state: SessionState, context: PromptContext, *, today: date
) -> dict[str, Any]:
    """The call-script part of the contract's SessionView (the service adds id, call_id, agent)."""
    step = call_script.step(state.step) or Step(state.step, StepKind.CLOSE, state.step)
    titles = {s.id: s.title for s in call_script.steps}
    return {
        "status": state.status.value,
        "call_script": {
            "id": call_script.id,
            "title": call_script.title,
            "language": call_script.language,
        },
        "version": state.version,
        "step": _step_view(call_script, state, step, context, today),
        "branches": [
            {
                "id": b.id,
                "kind": b.kind.value,
                "label": b.label,
                "key": b.key,
                "to": b.to,  # the console tells when the agent is inside the branch
                "available": branch_refusal(state, b) is None,
            }
            for b in call_script.branches
        ],
        "fields": dict(state.fields),
        "field_labels": {f.name: f.label for f in call_script.all_fields()},
        "notes": state.notes,
        "history": [{**v.to_dict(), "title": titles.get(v.step, v.step)} for v in state.history],
        "answered_at": state.answered_at,
        "dispositions": [{"id": d.id, "label": d.label} for d in call_script.dispositions],
        "disposition": state.disposition,
        "complaints": state.complaints,
        "handed_over_from": state.handed_over_from,
    }


def _step_view(
    cs: CallScript, state: SessionState, step: Step, ctx: PromptContext, today: date
) -> dict[str, Any]:
    onward = destination(cs, step, {}, state.returns)[0]
    return {
        "id": step.id,
        "kind": step.kind.value,
        "title": step.title,
        "prompt": render(step.prompt, cs, state.fields, ctx),
        "fields": [_field_view(spec, state.fields.get(spec.name), today) for spec in step.fields],
        "notes": [render(n, cs, state.fields, ctx) for n in step.notes],
        "checklist": [render(c, cs, state.fields, ctx) for c in step.checklist],
        "transfer": (
            None
            if step.transfer is None
            else {"target": step.transfer.target, "department": step.transfer.department}
        ),
        "can_back": state.status is SessionStatus.ACTIVE and bool(state.trail),
        "is_last": onward is None and not step.jumps,
    }


def _field_view(spec: FieldSpec, value: str | None, today: date) -> dict[str, Any]:
    """A field for the form; its error shows only once something was typed."""
    return {
        "name": spec.name,
        "label": spec.label,
        "type": spec.type.value,
        "required": spec.required,
        "options": (
            [{"id": o.id, "label": o.label} for o in spec.options]
            if spec.type is FieldType.CHOICE
            else None
        ),
        "min_length": spec.min_length,
        "max_length": spec.max_length,
        "pattern": spec.pattern,
        "pattern_hint": spec.pattern_hint,
        "not_before": spec.not_before,
        "not_after": spec.not_after,
        "value": value,
        "error": None if value is None else validate_field(spec, value, today),
    }
