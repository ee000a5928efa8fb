"""The call-script engine: plain data in, plain data out (state, effects, errors)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from app.console.call_scripts import engine
from app.console.call_scripts.model import (
    Action,
    ActionKind,
    Applied,
    Branch,
    BranchKind,
    CallScript,
    Disposition,
    EmergencyDeclared,
    FieldSpec,
    FieldType,
    Jump,
    OfferCallback,
    Option,
    PromptContext,
    RecordComplaint,
    RequestTransfer,
    SessionState,
    SessionStatus,
    Step,
    StepKind,
    Transfer,
)
from app.console.call_scripts.prompts import render
from app.console.call_scripts.values import validate_field
from app.console.call_scripts.view import view as session_view

TODAY = date(2024, 5, 1)
CONTEXT = PromptContext(
    agent_name="Alice", agent_position="customer adviser", agent_id="1001", company="Acme"
)

NAME = FieldSpec(
    "customer_name", "Name", FieldType.TEXT, required=True, min_length=2, max_length=10
)
CONTACT = FieldSpec("contact", "Contact number", FieldType.PHONE, required=True)
PRODUCT = FieldSpec(
    "product",
    "Product",
    FieldType.CHOICE,
    options=(Option("broadband", "Broadband"), Option("mobile", "Mobile")),
)
SMS = FieldSpec("wants_sms", "SMS updates", FieldType.YES_NO)
SINCE = FieldSpec("since", "Problem since", FieldType.DATE, not_after="today")
VISIT = FieldSpec("visit", "Visit on", FieldType.DATE, not_before="today", not_after="2024-12-31")
ORDER = FieldSpec(
    "order_no",
    "Order number",
    FieldType.TEXT,
    pattern="^[A-Z]{2}[0-9]{6}$",
    pattern_hint="two letters and six digits, e.g. AB123456",
)
REFERENCE = FieldSpec("reference", "Reference", FieldType.TEXT, pattern="[0-9]+")
SATISFIED = FieldSpec("satisfied", "Satisfied", FieldType.YES_NO, required=True)
SEVERITY = (Option("low", "Low"), Option("high", "High"))

CALL_SCRIPT = CallScript(
    id="test",
    language="en",
    title="Test call script",
    steps=(
        Step(
            "greet",
            StepKind.GREET,
            "Greeting",
            "{{company}}, {{agent.name}}, your {{agent.position}} ({{agent.id}}).",
        ),
        Step(
            "collect",
            StepKind.COLLECT,
            "Details",
            "Thanks {{fields.customer_name}}, about {{fields.product}}?",
            fields=(NAME, CONTACT, PRODUCT, SMS, SINCE, VISIT, ORDER, REFERENCE),
            jumps=(Jump("product", "mobile", "mobile_answer"),),
        ),
        Step("answer", StepKind.ANSWER, "Answer", "Here is the answer, {{fields.customer_name}}."),
        Step(
            "confirm",
            StepKind.CONFIRM,
            "Confirm",
            fields=(SATISFIED,),
            jumps=(Jump("satisfied", "no", "answer"),),
        ),
        Step("close", StepKind.CLOSE, "Closing", "Thank you for calling {{company}}."),
        Step("mobile_answer", StepKind.ANSWER, "Mobile answer", next="confirm"),
        Step(
            "complaint",
            StepKind.COMPLAINT,
            "Complaint",
            fields=(
                FieldSpec("content", "Complaint", FieldType.TEXT, required=True),
                FieldSpec(
                    "category",
                    "Category",
                    FieldType.CHOICE,
                    options=(Option("billing", "Billing"),),
                ),
                FieldSpec(
                    "severity", "Severity", FieldType.CHOICE, required=True, options=SEVERITY
                ),
            ),
            returns=True,
        ),
        Step(
            "verify",
            StepKind.IDENTITY_CHECK,
            "Identity check",
            fields=(FieldSpec("verified", "Identity confirmed", FieldType.YES_NO, required=True),),
            jumps=(Jump("verified", "no", "refuse"),),
        ),
        Step("account", StepKind.ANSWER, "Account details", returns=True),
        Step("refuse", StepKind.ANSWER, "Unable to disclose", returns=True),
        Step(
            "refer",
            StepKind.LOOKUP,
            "Refer",
            notes=("Billing disputes: {{fields.product}} billing",),
            transfer=Transfer("2100", "Billing"),
            returns=True,
        ),
        Step(
            "emergency_plan",
            StepKind.EMERGENCY,
            "Emergency plan",
            checklist=(
                "Report to the supervisor at once",
                "Keep {{fields.customer_name}} informed",
            ),
            returns=True,
        ),
    ),
    dispositions=(Disposition("resolved", "Resolved"), Disposition("callback", "Call back")),
    branches=(
        Branch("complaint", BranchKind.COMPLAINT, "Complaint", "complaint", "c"),
        Branch("sensitive", BranchKind.SENSITIVE, "Sensitive", "verify", "s"),
        Branch("complex", BranchKind.COMPLEX, "Complex", "refer", "q"),
        Branch("emergency", BranchKind.EMERGENCY, "Emergency", "emergency_plan", "e"),
    ),
)
GOOD = {"customer_name": "Ann", "contact": "+44 20 7946-0000", "product": "broadband"}


def act(state: SessionState, kind: str, at: float = 10.0, **kw: Any) -> Applied:
    return engine.apply(CALL_SCRIPT, state, Action(kind, **kw), at=at, today=TODAY)


def ok(state: SessionState, kind: str, at: float = 10.0, **kw: Any) -> SessionState:
    applied = act(state, kind, at, **kw)
    assert applied.ok, (applied.error, applied.errors)
    return applied.state


def at_step(step: str, fields: dict[str, str] | None = None) -> SessionState:
    """A session walked to `step` along the main line (greet, collect, answer, ...)."""
    state = engine.start(CALL_SCRIPT, at=1.0)
    path = ["greet", "collect", "answer", "confirm", "close"]
    for here in path[: path.index(step)]:
        values = GOOD if here == "collect" else {"satisfied": "yes"} if here == "confirm" else {}
        state = ok(state, "next", values=values)
    if fields:
        state = SessionState.from_dict({**state.to_dict(), "fields": {**state.fields, **fields}})
    return state


def view(state: SessionState) -> dict[str, Any]:
    return session_view(CALL_SCRIPT, state, CONTEXT, today=TODAY)


def step_view(state: SessionState) -> dict[str, Any]:
    step = view(state)["step"]
    assert isinstance(step, dict)
    return step


# ---------------------------------------------------------------------------- start


def test_a_session_starts_on_the_first_step_when_the_call_is_answered() -> None:
    state = engine.start(CALL_SCRIPT, at=5.0)
    assert (state.step, state.status, state.version) == ("greet", SessionStatus.ACTIVE, 0)
    assert state.answered_at == 5.0
    assert [v.to_dict() for v in state.history] == [
        {"step": "greet", "entered_at": 5.0, "left_at": None}
    ]


# ---------------------------------------------------------------------------- field rules


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        (NAME, None, "Name is required."),
        (NAME, "   ", "Name is required."),
        (NAME, "A", "Name needs at least 2 characters."),
        (NAME, "Bartholomew Jr", "Name is at most 10 characters."),
        (NAME, "Ann", None),
        (ORDER, "AB12345", "Order number must be two letters and six digits, e.g. AB123456."),
        (ORDER, "AB123456", None),
        (REFERENCE, "12a", "Reference is not in the expected format."),
        (REFERENCE, "123", None),
        (CONTACT, None, "Contact number is required."),
        (CONTACT, "+44 (20) 7946-0000", None),
        (CONTACT, "123", None),
        (CONTACT, "12", "3 to 20 digits"),
        (CONTACT, "1" * 21, "3 to 20 digits"),
        (CONTACT, "call me 123", "3 to 20 digits"),
        (CONTACT, "12+345", "3 to 20 digits"),
        (PRODUCT, None, None),
        (PRODUCT, "mobile", None),
        (PRODUCT, "Mobile", "Product must be one of: Broadband, Mobile."),
        (SMS, "yes", None),
        (SMS, "no", None),
        (SMS, "maybe", "SMS updates must be yes or no."),
        (SINCE, "2024-04-30", None),
        (SINCE, "2024-05-01", None),
        (SINCE, "2024-05-02", "Problem since cannot be after today (2024-05-01)."),
        (SINCE, "2024-5-2", "Problem since must be a date written YYYY-MM-DD."),
        (SINCE, "2024-W18-1", "YYYY-MM-DD"),
        (SINCE, "2024-02-30", "YYYY-MM-DD"),
        (VISIT, "2024-05-01", None),
        (VISIT, "2024-04-30", "Visit on cannot be before today (2024-05-01)."),
        (VISIT, "2024-12-31", None),
        (VISIT, "2025-01-01", "Visit on cannot be after 2024-12-31."),
    ],
)
def test_each_field_rule_explains_what_is_wrong(
    spec: FieldSpec, value: str | None, expected: str | None
) -> None:
    problem = validate_field(spec, value, TODAY)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


def test_a_date_bound_of_today_follows_the_day_given() -> None:
    assert validate_field(SINCE, "2024-05-02", date(2024, 5, 2)) is None


# ---------------------------------------------------------------------------- set


def test_set_stores_a_trimmed_value_and_bumps_the_version() -> None:
    state = engine.start(CALL_SCRIPT, at=1.0)
    applied = act(state, "set", field="customer_name", value="  Ann ")
    assert applied.ok and applied.effects == ()
    assert applied.state.fields == {"customer_name": "Ann"}
    assert applied.state.version == 1


def test_set_keeps_an_invalid_value_and_reports_its_error() -> None:
    state = engine.start(CALL_SCRIPT, at=1.0)
    applied = act(state, "set", field="contact", value="12")
    assert applied.state.fields == {"contact": "12"}
    assert set(applied.errors) == {"contact"} and applied.error == applied.errors["contact"]
    assert applied.state.version == 1


def test_set_on_a_field_of_a_later_step_is_allowed_and_an_empty_value_clears_it() -> None:
    state = ok(engine.start(CALL_SCRIPT, at=1.0), "set", field="severity", value="high")
    assert state.fields == {"severity": "high"}
    assert ok(state, "set", field="severity", value="").fields == {}


def test_set_on_an_unknown_field_is_refused_and_changes_nothing() -> None:
    state = engine.start(CALL_SCRIPT, at=1.0)
    applied = act(state, "set", field="shoe_size", value="9")
    assert applied.state is state
    assert "shoe_size" in applied.errors


# ---------------------------------------------------------------------------- next


def test_next_refuses_a_step_with_missing_or_invalid_fields_and_changes_nothing() -> None:
    state = at_step("collect")
    applied = act(state, "next", values={"contact": "12", "product": "broadband"})
    assert applied.state is state
    assert set(applied.errors) == {"customer_name", "contact"}
    assert applied.errors["customer_name"] == "Name is required."
    assert applied.error is not None and applied.error.startswith("2 fields need attention")
    assert applied.effects == ()


def test_next_checks_every_rule_not_only_required_ones() -> None:
    applied = act(at_step("collect"), "next", values={**GOOD, "since": "2030-01-01"})
    assert set(applied.errors) == {"since"}
    assert applied.error == "Problem since cannot be after today (2024-05-01)."


def test_next_refuses_values_for_fields_of_another_step() -> None:
    applied = act(at_step("collect"), "next", values={**GOOD, "satisfied": "yes"})
    assert set(applied.errors) == {"satisfied"}


def test_next_stores_the_values_moves_on_and_times_the_steps() -> None:
    state = at_step("collect")
    moved = ok(state, "next", at=42.0, values=GOOD)
    assert moved.step == "answer"
    assert moved.fields == GOOD
    assert moved.history[-2].step == "collect" and moved.history[-2].left_at == 42.0
    assert moved.history[-1].to_dict() == {"step": "answer", "entered_at": 42.0, "left_at": None}
    assert moved.version == state.version + 1


def test_the_first_matching_jump_wins_over_the_following_step() -> None:
    state = ok(at_step("collect"), "next", values={**GOOD, "product": "mobile"})
    assert state.step == "mobile_answer"
    assert ok(state, "next").step == "confirm"  # its own `next`


def test_an_unsatisfied_customer_goes_back_to_the_answer() -> None:
    state = ok(at_step("confirm"), "next", values={"satisfied": "no"})
    assert state.step == "answer"


def test_completing_the_close_step_stays_there_and_the_call_still_needs_hanging_up() -> None:
    state = at_step("close")
    assert step_view(state)["is_last"] is True
    applied = act(state, "next")
    assert applied.ok and applied.effects == ()
    assert applied.state.step == "close" and applied.state.status is SessionStatus.ACTIVE
    assert applied.state.history == state.history
    assert applied.state.version == state.version + 1


# ---------------------------------------------------------------------------- back


def test_back_on_the_first_step_is_refused() -> None:
    state = engine.start(CALL_SCRIPT, at=1.0)
    applied = act(state, "back")
    assert applied.state is state and applied.error is not None


def test_back_returns_to_the_previous_step_and_keeps_the_fields() -> None:
    state = at_step("answer")
    back = ok(state, "back", at=50.0)
    assert back.step == "collect"
    assert back.fields == GOOD
    assert back.history[-1].to_dict() == {"step": "collect", "entered_at": 50.0, "left_at": None}
    assert ok(back, "back").step == "greet"


def test_back_out_of_a_branch_forgets_the_branch() -> None:
    state = at_step("answer")
    inside = ok(state, "branch", branch="sensitive")
    back = ok(inside, "back")
    assert (back.step, back.returns, back.gate) == ("answer", (), None)
    assert view(back)["branches"][1]["available"] is True


def test_back_after_returning_from_a_branch_goes_back_into_it() -> None:
    state = ok(at_step("answer"), "branch", branch="complex")
    returned = ok(state, "next")
    assert returned.step == "answer"
    again = ok(returned, "back")
    assert (again.step, again.returns) == ("refer", ("answer",))
    assert ok(again, "next").step == "answer"


# ---------------------------------------------------------------------------- branches


def test_an_unknown_branch_is_refused() -> None:
    state = at_step("answer")
    applied = act(state, "branch", branch="weather")
    assert applied.state is state and applied.error == 'unknown branch "weather"'


def test_a_complaint_is_recorded_when_its_step_is_completed_then_the_call_resumes() -> None:
    state = ok(at_step("answer"), "branch", branch="complaint")
    assert state.step == "complaint" and state.returns == ("answer",)
    refused = act(state, "next", values={"content": "Billed twice"})
    assert refused.effects == () and set(refused.errors) == {"severity"}
    applied = act(state, "next", values={"content": "Billed twice", "severity": "high"})
    assert applied.effects == (RecordComplaint("Billed twice", None, "high", "complaint"),)
    assert applied.state.step == "answer" and applied.state.returns == ()
    assert applied.state.complaints == 1


def test_taking_the_branch_of_the_current_step_again_changes_nothing_but_the_version() -> None:
    state = ok(at_step("answer"), "branch", branch="complaint")
    again = ok(state, "branch", branch="complaint")
    assert (again.step, again.returns, again.trail) == (state.step, state.returns, state.trail)


def test_branches_nest_and_each_returns_where_it_was_taken() -> None:
    state = ok(at_step("answer"), "branch", branch="emergency")
    state = ok(state, "branch", branch="complaint")
    assert state.returns == ("answer", "emergency_plan")
    applied = act(state, "next", values={"content": "x", "severity": "low"})
    assert applied.state.step == "emergency_plan"
    assert not any(isinstance(e, EmergencyDeclared) for e in applied.effects)  # not declared twice
    assert ok(applied.state, "next").step == "answer"


def test_the_identity_check_blocks_other_branches_until_it_is_completed() -> None:
    state = ok(at_step("answer"), "branch", branch="sensitive")
    assert state.step == "verify" and state.gate == "sensitive"
    for other in ("complaint", "complex", "emergency"):
        applied = act(state, "branch", branch=other)
        assert applied.state is state
        assert applied.error == "finish the identity check before taking another branch"
    assert ok(state, "branch", branch="sensitive").step == "verify"
    available = {b["id"]: b["available"] for b in view(state)["branches"]}
    assert available == {
        "complaint": False,
        "sensitive": True,
        "complex": False,
        "emergency": False,
    }


def test_a_confirmed_identity_opens_the_account_step_and_the_other_branches() -> None:
    state = ok(
        ok(at_step("answer"), "branch", branch="sensitive"), "next", values={"verified": "yes"}
    )
    assert (state.step, state.gate) == ("account", None)
    assert act(state, "branch", branch="complaint").ok
    assert ok(state, "next").step == "answer"


def test_an_unconfirmed_identity_leads_to_the_refusal_and_back_to_the_call() -> None:
    state = ok(
        ok(at_step("answer"), "branch", branch="sensitive"), "next", values={"verified": "no"}
    )
    assert (state.step, state.gate) == ("refuse", None)
    assert ok(state, "next").step == "answer"


def test_refer_requests_the_transfer_of_the_step() -> None:
    state = ok(at_step("answer"), "branch", branch="complex")
    applied = act(state, "refer")
    assert applied.effects == (RequestTransfer("2100", "Billing"),)
    assert applied.state.step == "refer" and applied.state.version == state.version + 1


def test_refer_without_a_department_is_refused() -> None:
    state = at_step("answer")
    applied = act(state, "refer")
    assert applied.state is state and applied.effects == () and applied.error is not None


def test_entering_an_emergency_step_declares_the_emergency_once() -> None:
    state = at_step("answer")
    applied = act(state, "branch", at=77.0, branch="emergency")
    assert applied.effects == (EmergencyDeclared("emergency_plan", 77.0),)
    assert act(applied.state, "next").effects == ()  # leaving it declares nothing
    back = act(act(applied.state, "next").state, "back")
    assert back.state.step == "emergency_plan" and back.effects == ()


def test_branches_are_closed_once_the_call_has_ended() -> None:
    state = ok(at_step("answer"), "hangup")
    applied = act(state, "branch", branch="complaint")
    assert applied.state is state and applied.error is not None
    assert not any(b["available"] for b in view(state)["branches"])


# ---------------------------------------------------------------------- notes, hangup, wrap-up


def test_note_replaces_the_notepad() -> None:
    state = ok(at_step("answer"), "note", text="first")
    assert ok(state, "note", text="first and second").notes == "first and second"


def test_a_note_too_long_is_refused() -> None:
    state = at_step("answer")
    applied = act(state, "note", text="x" * (engine.NOTES_MAX + 1))
    assert applied.state is state and "notes" in applied.errors


def test_hangup_moves_to_wrap_up_and_times_the_last_step() -> None:
    state = ok(at_step("answer"), "hangup", at=99.0)
    assert state.status is SessionStatus.WRAP_UP
    assert state.history[-1].to_dict() == {"step": "answer", "entered_at": 10.0, "left_at": 99.0}
    assert step_view(state)["can_back"] is False


@pytest.mark.parametrize("kind", ["next", "back", "refer", "hangup"])
def test_after_hangup_the_steps_no_longer_move(kind: str) -> None:
    state = ok(at_step("answer"), "hangup")
    applied = act(state, kind)
    assert applied.state is state
    assert applied.error == f'"{kind}" is not possible once the call has ended'


def test_after_hangup_fields_and_notes_can_still_be_completed() -> None:
    state = ok(at_step("answer"), "hangup")
    state = ok(state, "set", field="wants_sms", value="yes")
    assert ok(state, "note", text="sent SMS").notes == "sent SMS"


def test_wrap_up_waits_for_the_call_to_end() -> None:
    state = at_step("close")
    applied = act(state, "wrap_up", disposition="resolved")
    assert applied.state is state
    assert applied.error == "the call is still connected: wrap up once it has ended"


def test_wrap_up_needs_a_disposition_from_the_list() -> None:
    state = ok(at_step("close"), "hangup")
    applied = act(state, "wrap_up", disposition="lunch")
    assert applied.state is state
    assert applied.errors == {"disposition": "Choose a disposition: resolved, callback."}


def test_wrap_up_finishes_the_session_with_its_notes() -> None:
    state = ok(ok(at_step("close"), "hangup"), "note", text="draft")
    applied = act(state, "wrap_up", disposition="resolved", notes="all good")
    assert applied.effects == ()
    assert applied.state.status is SessionStatus.DONE
    assert (applied.state.disposition, applied.state.notes) == ("resolved", "all good")
    assert ok(state, "wrap_up", disposition="resolved").notes == "draft"


def test_a_callback_disposition_offers_a_callback_to_the_contact_number() -> None:
    state = ok(at_step("close"), "hangup")
    applied = act(state, "wrap_up", disposition="callback")
    assert applied.effects == (OfferCallback("+442079460000"),)
    assert applied.effects[0].contract() == {
        "kind": "callback",
        "number": "+442079460000",
        "note": "",
    }


def test_a_callback_without_a_contact_number_still_offers_one_to_fill_in() -> None:
    state = ok(engine.start(CALL_SCRIPT, at=1.0), "hangup")
    assert act(state, "wrap_up", disposition="callback").effects == (OfferCallback(None),)


@pytest.mark.parametrize("kind", [k.value for k in ActionKind])
def test_a_finished_session_accepts_nothing(kind: str) -> None:
    state = ok(ok(at_step("close"), "hangup"), "wrap_up", disposition="resolved")
    applied = act(state, kind, field="wants_sms", value="yes", disposition="resolved")
    assert applied.state is state
    assert applied.error == "the call-script session is finished"


def test_an_unknown_action_is_reported_not_raised() -> None:
    state = engine.start(CALL_SCRIPT, at=1.0)
    applied = act(state, "dance")
    assert applied.state is state and applied.error == 'unknown action "dance"'


def test_every_applied_action_bumps_the_version_and_refused_ones_do_not() -> None:
    state = engine.start(CALL_SCRIPT, at=1.0)
    versions = [state.version]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("next", {}),
        ("back", {}),  # applied
        ("back", {}),  # refused: first step
        ("next", {}),
        ("next", {"values": {"customer_name": "A"}}),  # refused: rules
        ("branch", {"branch": "complex"}),
        ("refer", {}),
        ("note", {"text": "n"}),
        ("hangup", {}),
        ("wrap_up", {"disposition": "resolved"}),
    ]
    for kind, kw in steps:
        state = act(state, kind, **kw).state
        versions.append(state.version)
    assert versions == [0, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8]


# ---------------------------------------------------------------------------- state and view


def test_the_state_round_trips_through_json() -> None:
    state = ok(at_step("answer"), "note", text="VIP")
    state = ok(ok(state, "branch", branch="emergency"), "branch", branch="sensitive")
    state = ok(state, "hangup", at=30.0)
    state = SessionState.from_dict({**state.to_dict(), "handed_over_from": "PJSIP/1002"})
    again = SessionState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    assert again.gate == "sensitive" and again.returns == ("answer", "emergency_plan")


def test_the_view_renders_the_prompt_with_the_agent_and_the_fields() -> None:
    state = engine.start(CALL_SCRIPT, at=1.0)
    assert step_view(state)["prompt"] == "Acme, Alice, your customer adviser (1001)."
    collect = ok(state, "next")
    assert step_view(collect)["prompt"] == "Thanks …, about …?"
    filled = ok(
        ok(collect, "set", field="customer_name", value="Ann"),
        "set",
        field="product",
        value="mobile",
    )
    assert (
        step_view(filled)["prompt"] == "Thanks Ann, about Mobile?"
    )  # an option reads as its label


def test_the_centres_other_channels_fill_their_templates_and_read_as_not_known_unset() -> None:
    text = "Call {{alternate.number}} or write to {{ alternate.email }}."
    centre = PromptContext("Alice", "adviser", "1001", "Acme", "400-820-8820", "help@acme.cn")
    assert render(text, CALL_SCRIPT, {}, centre) == "Call 400-820-8820 or write to help@acme.cn."
    assert render(text, CALL_SCRIPT, {}, CONTEXT) == "Call … or write to …."


def test_the_view_shows_values_their_errors_and_the_rules() -> None:
    state = act(at_step("collect"), "set", field="contact", value="12").state
    fields = {f["name"]: f for f in step_view(state)["fields"]}
    assert fields["contact"]["value"] == "12"
    assert "3 to 20 digits" in fields["contact"]["error"]
    assert fields["customer_name"]["error"] is None  # empty: not flagged before "next"
    assert fields["customer_name"]["required"] is True
    assert fields["product"]["options"] == [
        {"id": "broadband", "label": "Broadband"},
        {"id": "mobile", "label": "Mobile"},
    ]
    assert fields["since"]["not_after"] == "today" and fields["since"]["options"] is None
    assert fields["order_no"]["pattern_hint"] == "two letters and six digits, e.g. AB123456"


def test_the_view_carries_the_session_for_the_console() -> None:
    state = ok(ok(at_step("answer"), "branch", at=20.0, branch="emergency"), "note", text="n")
    shown = view(state)
    step = shown["step"]
    assert isinstance(step, dict)
    assert step["checklist"] == ["Report to the supervisor at once", "Keep Ann informed"]
    assert step["can_back"] is True and step["is_last"] is False
    assert shown["status"] == "active"
    assert shown["call_script"] == {"id": "test", "title": "Test call script", "language": "en"}
    assert shown["fields"] == GOOD
    assert shown["field_labels"]["severity"] == "Severity"
    assert shown["history"][-1] == {
        "step": "emergency_plan",
        "title": "Emergency plan",
        "entered_at": 20.0,
        "left_at": None,
    }
    assert shown["dispositions"] == [
        {"id": "resolved", "label": "Resolved"},
        {"id": "callback", "label": "Call back"},
    ]
    assert (shown["notes"], shown["complaints"], shown["disposition"]) == ("n", 0, None)
    assert shown["version"] == state.version and shown["answered_at"] == 1.0
    assert shown["branches"][0] == {
        "id": "complaint",
        "kind": "complaint",
        "label": "Complaint",
        "key": "c",
        "to": "complaint",
        "available": True,
    }


def test_the_view_shows_the_transfer_of_a_lookup_step() -> None:
    state = ok(at_step("answer"), "branch", branch="complex")
    step = step_view(state)
    assert step["transfer"] == {"target": "2100", "department": "Billing"}
    assert step["notes"] == ["Billing disputes: Broadband billing"]


def test_effects_describe_themselves_for_the_api() -> None:
    assert RecordComplaint("late", "billing", "high", "complaint").contract() == {
        "kind": "complaint",
        "content": "late",
        "category": "billing",
        "severity": "high",
        "step": "complaint",
    }
    assert RequestTransfer("2100", "Billing").contract() == {
        "kind": "transfer",
        "target": "2100",
        "department": "Billing",
    }
    assert EmergencyDeclared("emergency_plan", 3.0).contract() == {
        "kind": "emergency",
        "step": "emergency_plan",
        "at": 3.0,
    }


def test_an_action_from_the_api_body_reads_booleans_as_yes_or_no() -> None:
    action = Action.from_dict(
        {"kind": "next", "values": {"satisfied": True, "contact": 1234}, "field": None}
    )
    assert action == Action("next", values={"satisfied": "yes", "contact": "1234"})
    assert Action.from_dict({"kind": "set", "field": "wants_sms", "value": False}).value == "no"


def test_a_handed_over_session_keeps_the_step_and_fields_for_the_next_agent() -> None:
    state = ok(at_step("answer"), "hangup", at=40.0)
    taken = engine.hand_over(state, from_agent="PJSIP/1001", at=41.0)
    assert (taken.step, taken.fields, taken.status) == ("answer", GOOD, SessionStatus.ACTIVE)
    assert taken.handed_over_from == "PJSIP/1001"
    assert taken.history[-1].to_dict() == {"step": "answer", "entered_at": 41.0, "left_at": None}
    assert ok(taken, "next", values={}).step == "confirm"


def test_a_state_on_a_step_the_call_script_no_longer_has_is_reported() -> None:
    state = SessionState.from_dict({**at_step("answer").to_dict(), "step": "gone"})
    applied = act(state, "next")
    assert applied.state is state and applied.error == 'the call script has no step "gone"'
    assert step_view(state)["id"] == "gone"
