"""The shipped call scripts, walked end to end as an agent would, in both languages."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.console.call_scripts import engine
from app.console.call_scripts.loader import DEFAULTS_DIR, load_file
from app.console.call_scripts.model import (
    Action,
    CallScript,
    EmergencyDeclared,
    OfferCallback,
    PromptContext,
    RecordComplaint,
    RequestTransfer,
    SessionState,
    SessionStatus,
)
from app.console.call_scripts.view import view

TODAY = date(2024, 5, 1)
CONTEXT = PromptContext("Alice", "customer adviser", "1001", "Acme Telecom")
SHIPPED = sorted(DEFAULTS_DIR.glob("*.yaml"))
COLLECTED = {
    "customer_name": "Ann",
    "contact": "+44 20 7946 0000",
    "problem": "No internet since Monday",
    "product": "broadband",
}


class Walk:
    """An agent's hands on one session: every action must be accepted."""

    def __init__(self, call_script: CallScript) -> None:
        self.call_script = call_script
        self.state = engine.start(call_script, at=0.0)
        self.clock = 0.0
        self.effects: list[Any] = []
        self.seen = {self.state.step}

    def do(self, kind: str, **kw: Any) -> SessionState:
        self.clock += 1.0
        applied = engine.apply(
            self.call_script, self.state, Action(kind, **kw), at=self.clock, today=TODAY
        )
        assert applied.ok, (self.state.step, kind, applied.error, applied.errors)
        self.state = applied.state
        self.effects += applied.effects
        self.seen.add(self.state.step)
        step = view(self.call_script, self.state, CONTEXT, today=TODAY)["step"]
        for text in [step["prompt"], *step["notes"], *step["checklist"]]:
            assert "{{" not in text and "}}" not in text
        return self.state


@pytest.fixture(params=SHIPPED, ids=lambda p: p.name)
def call_script(request: pytest.FixtureRequest) -> CallScript:
    path: Path = request.param
    return load_file(path)


def test_both_languages_are_shipped() -> None:
    assert [p.name for p in SHIPPED] == ["general.en.yaml", "general.zh-CN.yaml"]


def test_the_greeting_introduces_the_agent_by_name_position_and_number(
    call_script: CallScript,
) -> None:
    state = engine.start(call_script, at=0.0)
    prompt = view(call_script, state, CONTEXT, today=TODAY)["step"]["prompt"]
    for said in ("Alice", "customer adviser", "1001", "Acme Telecom"):
        assert said in prompt


def test_the_main_line_runs_from_greeting_to_close_with_one_round_of_doubt(
    call_script: CallScript,
) -> None:
    walk = Walk(call_script)
    assert walk.do("next").step == "collect"
    assert walk.do("next", values=COLLECTED).step == "answer"
    assert walk.do("next", values={"answered": "yes"}).step == "confirm"
    assert walk.do("next", values={"satisfied": "no"}).step == "answer"  # not satisfied
    walk.do("next")
    assert walk.do("next", values={"satisfied": "yes"}).step == "close"
    prompt = view(call_script, walk.state, CONTEXT, today=TODAY)["step"]["prompt"]
    assert "Ann" in prompt and "…" not in prompt
    walk.do("next")
    assert walk.state.step == "close" and walk.state.status is SessionStatus.ACTIVE
    walk.do("hangup")
    assert walk.do("wrap_up", disposition="callback").status is SessionStatus.DONE
    assert walk.effects == [OfferCallback("+442079460000")]


def test_every_branch_goes_out_and_comes_back(call_script: CallScript) -> None:
    walk = Walk(call_script)
    walk.do("next")
    walk.do("next", values=COLLECTED)
    assert walk.state.step == "answer"

    walk.do("branch", branch="complaint")
    walk.do(
        "next", values={"content": "Engineer never came", "category": "service", "severity": "high"}
    )
    assert walk.state.step == "answer" and walk.state.complaints == 1

    walk.do("branch", branch="sensitive")
    assert walk.state.gate == "sensitive"
    walk.do("next", values={"identity_confirmed": "yes"})
    assert walk.state.step == "sensitive_answer"
    assert walk.do("next").step == "answer"

    walk.do("branch", branch="sensitive")
    assert walk.do("next", values={"identity_confirmed": "no"}).step == "refuse_disclosure"
    assert walk.do("next").step == "answer"

    walk.do("branch", branch="complex")
    assert walk.do("next", values={"handling": "answered"}).step == "answer"
    walk.do("branch", branch="complex")
    walk.do("back")
    walk.do("branch", branch="complex")
    walk.do("set", field="handling", value="billing")
    assert walk.do("next").step == "refer_billing"
    walk.do("refer")
    assert walk.do("next").step == "answer"
    walk.do("branch", branch="complex")
    assert walk.do("next", values={"handling": "technical"}).step == "refer_technical"
    walk.do("refer")
    assert walk.do("next").step == "answer"

    walk.do("branch", branch="emergency")
    emergency = {"event_type": "outage", "level": "level_2", "supervisor_informed": "yes"}
    assert walk.do("next", values=emergency).step == "answer"

    walk.do("branch", branch="line_fault")
    assert walk.do("next", values={"line_fault_choice": "email"}).step == "answer"

    assert walk.seen == {s.id for s in call_script.steps} - {"confirm", "close"}
    kinds = [type(e) for e in walk.effects]
    assert kinds == [RecordComplaint, RequestTransfer, RequestTransfer, EmergencyDeclared]
    assert [e.target for e in walk.effects if isinstance(e, RequestTransfer)] == ["2100", "2200"]
    walk.do("hangup")
    walk.do("wrap_up", disposition="complaint_filed", notes="See complaint")


def test_the_line_fault_procedure_tells_offers_the_other_channels_and_records_the_choice(
    call_script: CallScript,
) -> None:
    walk = Walk(call_script)
    walk.do("next")
    walk.do("next", values=COLLECTED)
    walk.do("branch", branch="line_fault")
    assert walk.state.step == "line_fault"
    centre = dataclasses.replace(
        CONTEXT, alternate_number="400-820-8820", alternate_email="help@acme.example"
    )
    step = view(call_script, walk.state, centre, today=TODAY)["step"]
    assert step["kind"] == "line_fault"
    assert "400-820-8820" in step["prompt"] and "help@acme.example" in step["prompt"]
    assert len(step["checklist"]) == 3  # tell, offer another channel, record
    (choice,) = [f for f in step["fields"] if f["name"] == "line_fault_choice"]
    assert [o["id"] for o in choice["options"]] == [
        "callback",
        "alternate_number",
        "email",
        "stay",
    ]
    assert walk.do("next", values={"line_fault_choice": "callback"}).step == "answer"
    assert walk.state.fields["line_fault_choice"] == "callback"
    (offer,) = walk.effects
    assert isinstance(offer, OfferCallback)
    assert offer.number == "+442079460000"  # the contact collected earlier
    assert offer.note.startswith(call_script.branch("line_fault").label)  # type: ignore[union-attr]


def test_a_callback_number_typed_in_the_line_fault_step_is_the_one_called(
    call_script: CallScript,
) -> None:
    walk = Walk(call_script)
    walk.do("branch", branch="line_fault")  # from the greeting: nothing collected yet
    values = {"line_fault_choice": "callback", "callback_number": "+86 10 6552 9988"}
    assert walk.do("next", values=values).step == "greet"
    assert [e.number for e in walk.effects] == ["+861065529988"]


def test_without_a_callback_choice_the_line_fault_step_asks_for_no_callback(
    call_script: CallScript,
) -> None:
    walk = Walk(call_script)
    walk.do("branch", branch="line_fault")
    applied = engine.apply(call_script, walk.state, Action("next"), at=9.0, today=TODAY)
    assert applied.errors.keys() == {"line_fault_choice"}  # the choice must be recorded
    walk.do("next", values={"line_fault_choice": "stay"})
    assert walk.effects == []


def test_the_languages_are_variants_of_one_call_script() -> None:
    """Same steps, fields, options and dispositions, so a call handed from an English
    console to a Chinese one keeps its place and QA compares like with like."""
    english, chinese = (load_file(p) for p in SHIPPED)

    def shape(cs: CallScript) -> object:
        return (
            cs.id,
            cs.default,
            [
                (s.id, s.kind, s.jumps, s.next, s.returns, s.transfer and s.transfer.target)
                for s in cs.steps
            ],
            [(f.name, f.type, f.required, [o.id for o in f.options]) for f in cs.all_fields()],
            [(b.id, b.kind, b.key, b.to) for b in cs.branches],
            [d.id for d in cs.dispositions],
        )

    assert shape(english) == shape(chinese)
    assert [d.id for d in english.dispositions] == [
        "resolved",
        "callback",
        "escalated",
        "complaint_filed",
        "no_action",
    ]
    assert english.match.queues == () and english.match.numbers == ()
