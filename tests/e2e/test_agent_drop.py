"""When something breaks under the agent, in a real browser: a call cut by the network says so
and follows the callback the service places at once; the agent's own phone going unreachable
asks for the equipment check until it is back; a line fault on the call offers the
line-fault procedure of the call script. Every state is saved as a screenshot to look at."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from app.db.tables import Callback, Incident
from tests.e2e.conftest import screenshot
from tests.e2e.harness import DemoService, start_demo
from tests.e2e.test_agent_console import CUSTOMER, field, log_in, step_title

AGENT = "PJSIP/1001"
TRUNK = "PJSIP/2001"  # the demo's trunk: the customer leg of every staged call
ALTERNATE = {"alternate_number": "400-820-8820", "alternate_email": "help@northwind.example"}
DROPPED = "dropped_network_cause"  # the fastest recorded drop: cause 38 right after answer


@pytest.fixture
def centre(tmp_path: Path) -> Iterator[DemoService]:
    """The demo service with the centre's other channels set, as an operator would."""
    service = start_demo(tmp_path, **ALTERNATE)
    yield service
    service.thread.stop()


def publish(demo: DemoService, message: dict[str, Any], audience: list[str]) -> None:
    """A message as the service's desks send it, through the service's own hub."""

    async def send() -> None:
        demo.services.hub.publish(message, audience)

    demo.thread.run(send())


def callback_view(**changes: Any) -> dict[str, Any]:
    """A callback as the contract's callback view has it."""
    now = time.time()
    view: dict[str, Any] = {
        "id": 41,
        "call_id": "1795000000.9001",
        "call_pk": None,
        "customer": CUSTOMER[0],
        "reason": "dropped",
        "status": "dialling",
        "auto": True,
        "attempts": 1,
        "next_attempt_at": None,
        "agent": AGENT,
        "queue": None,
        "hangup_cause": 38,
        "last_result": None,
        "waiting_for": None,
        "note": "",
        "created_at": now,
        "updated_at": now,
        "closed_at": None,
        "attempt": {
            "number": 1,
            "agent": AGENT,
            "channel_id": "callassist-cb-41-1",
            "status": "ringing_agent",
            "result": None,
            "hangup_cause": None,
            "created_at": now,
            "answered_at": None,
            "ended_at": None,
        },
    }
    view.update(changes)
    return view


def attempt(**changes: Any) -> dict[str, Any]:
    return {**callback_view()["attempt"], **changes}


def live_again(page: Page) -> None:
    """After a log-in or a reload: the console has its snapshot, so it is subscribed to what
    follows."""
    page.wait_for_function("() => window.callassistConsole()?.snapshotSeen === true")


def test_a_cut_call_says_so_and_the_callback_rings_the_agents_phone(
    demo: DemoService, page: Page
) -> None:
    page.goto(f"{demo.url}/agent/")
    log_in(page, demo, "agent1")
    call = demo.stage(CUSTOMER, scenario=DROPPED)
    call.ring()
    call.answer()
    expect(page.locator("[data-test=prompt]")).to_be_visible()
    call.hang_up()  # the network cuts the call

    banner = page.locator("[data-test=drop-banner]")
    expect(banner).to_contain_text("The call was cut.")
    expect(banner).to_contain_text(CUSTOMER[0])
    expect(banner).to_contain_text("Calling the customer back")
    # The cut call's call-script session is wrapped up as before.
    expect(page.locator("#state-pill")).to_have_text(re.compile("Wrap-up|Ringing"))
    screenshot(page, "drop-01-call-cut")

    # The callback desk (the lead's part of issue 6) rings this agent first.
    status = page.locator("[data-test=callback-status]")
    expect(status).to_contain_text("ringing your phone", timeout=20_000)
    pop = page.locator(".pop-card")
    expect(pop).to_contain_text("Callback of a cut call")
    expect(page.locator("[data-test=pop-number]")).to_have_text(CUSTOMER[0])
    screenshot(page, "drop-02-callback-ringing-your-phone")
    # Answered: the customer is being dialled; the cut call's wrap-up still waits.
    expect(status).to_contain_text(re.compile("calling the customer|customer reached"))
    expect(page.locator(".other-wrap_up")).to_contain_text(CUSTOMER[0])
    screenshot(page, "drop-02b-callback-answered-wrap-up-waiting")


def test_the_callback_status_reads_as_the_callback_desk_reports_it(
    demo: DemoService, page: Page
) -> None:
    """Driven by contract-shaped callback.updated messages: every wording, and a reload."""
    page.goto(f"{demo.url}/agent/")
    log_in(page, demo, "agent1")
    live_again(page)  # subscribed: what the desks publish from now on reaches this console
    banner = page.locator("[data-test=drop-banner]")
    status = page.locator("[data-test=callback-status]")

    publish(demo, {"type": "callback.updated", "callback": callback_view()}, [AGENT])
    expect(banner).to_contain_text("The call was cut.")
    expect(status).to_have_text(
        "Calling the customer back: ringing your phone — answer it to "
        "be put through to the customer"
    )
    screenshot(page, "drop-03-ringing-your-phone")

    other = callback_view(attempt=attempt(agent="PJSIP/1002"))
    publish(demo, {"type": "callback.updated", "callback": other}, [AGENT])
    expect(status).to_contain_text("ringing PJSIP/1002")

    answered = callback_view(attempt=attempt(status="agent_answered", answered_at=time.time()))
    publish(demo, {"type": "callback.updated", "callback": answered}, [AGENT])
    expect(status).to_contain_text("calling the customer")

    next_try = time.time() + 120
    retry = callback_view(
        status="pending",
        last_result="no_answer",
        next_attempt_at=next_try,
        attempt=attempt(status="ended", result="no_answer"),
    )
    publish(demo, {"type": "callback.updated", "callback": retry}, [AGENT])
    hh_mm = time.strftime("%H:%M", time.localtime(next_try))
    expect(status).to_contain_text(f"not reached (no answer), next try at {hh_mm}")
    screenshot(page, "drop-04-not-reached-next-try")

    page.reload()  # the banner and what it last knew survive a reload
    expect(status).to_contain_text(f"next try at {hh_mm}")
    live_again(page)

    waiting = callback_view(status="pending", waiting_for="customers are waiting in the queue")
    publish(demo, {"type": "callback.updated", "callback": waiting}, [AGENT])
    expect(status).to_contain_text("waiting: customers are waiting in the queue")

    queued = callback_view(status="queued", auto=False, attempt=None)
    publish(demo, {"type": "callback.updated", "callback": queued}, [AGENT])
    expect(status).to_contain_text("in the callback queue")

    reached = callback_view(status="reached", attempts=2, last_result="reached")
    publish(demo, {"type": "callback.updated", "callback": reached}, [AGENT])
    expect(status).to_contain_text("customer reached")
    expect(status).to_contain_text("attempt 2")
    screenshot(page, "drop-05-customer-reached")

    banner.get_by_role("button", name="Dismiss").click()
    expect(banner).to_be_hidden()


def test_the_equipment_check_shows_while_the_agents_phone_is_unreachable(
    demo: DemoService, page: Page
) -> None:
    page.goto(f"{demo.url}/agent/")
    log_in(page, demo, "agent1")
    check = page.locator("[data-test=equipment-check]")
    expect(page.locator("#state-pill")).to_have_text("Ready")
    expect(check).to_be_hidden()

    demo.thread.run(demo.pbx.server.set_contact(AGENT, "Unreachable"))
    expect(check).to_be_visible()
    expect(check).to_contain_text("Check your phone and headset")
    expect(check).to_contain_text(f"The PBX cannot reach your phone {AGENT}")
    expect(check).to_contain_text("headset plugged in")
    screenshot(page, "drop-06-equipment-check")

    page.reload()  # the WebSocket snapshot carries the phone's fault
    expect(check).to_be_visible()

    demo.thread.run(demo.pbx.server.set_contact(AGENT, "Reachable"))
    expect(check).to_be_hidden()
    expect(page.locator(".toast")).to_contain_text("Your phone is reachable again.")
    screenshot(page, "drop-07-phone-back")


def test_a_line_fault_on_the_call_offers_the_line_fault_procedure(
    centre: DemoService, page: Page
) -> None:
    demo = centre
    page.goto(f"{demo.url}/agent/")
    log_in(page, demo, "agent1")
    call = demo.stage(CUSTOMER)
    call.ring()
    call.answer()
    expect(page.locator("[data-test=prompt]")).to_be_visible()

    now = time.time()
    with demo.services.database.session() as db:
        incident = Incident(
            kind="trunk_down",
            location=TRUNK,
            level="I",
            status="open",
            opened_at=now,
            last_signal_at=now,
            updated_at=now,
        )
        db.add(incident)
        db.commit()
        db.refresh(incident)
        shown: dict[str, Any] = {
            "id": incident.id,
            "kind": "trunk_down",
            "location": TRUNK,
            "level": "I",
        }
    message = {"type": "line.incident", "incident": {**shown, "status": "open"}}
    publish(demo, {**message, "call_ids": [call.call_id]}, [AGENT])

    banner = page.locator("[data-test=line-incident]")
    expect(banner).to_contain_text("Line problem on this call")
    expect(banner).to_contain_text(f"Trunk down on {TRUNK} (level I)")
    screenshot(page, "drop-08-line-incident")

    page.reload()  # the console view reports the incident on the call's trunk
    expect(banner).to_contain_text("Line problem on this call")
    live_again(page)
    banner.get_by_role("button", name=re.compile("Line-fault procedure")).click()
    expect(step_title(page)).to_have_text("Line problem")
    prompt = page.locator("[data-test=prompt]")
    expect(prompt).to_contain_text("400-820-8820")
    expect(prompt).to_contain_text("help@northwind.example")
    field(page, "line_fault_choice").locator(
        "label.choice", has_text="A callback when the line is back"
    ).click()
    screenshot(page, "drop-09-line-fault-procedure")
    page.keyboard.press("Enter")
    expect(step_title(page)).to_have_text("Greeting")  # back where the branch was taken
    expect(page.locator(".toast")).to_contain_text("A callback to")
    expect(banner).to_contain_text("The customer's choice is recorded.")
    screenshot(page, "drop-10-choice-recorded")
    with demo.services.database.session() as db:
        (callback,) = db.exec(select(Callback)).all()
        assert (callback.customer, callback.reason, callback.status) == (
            CUSTOMER[0],
            "requested",
            "queued",
        )

    resolved = {**shown, "status": "resolved"}
    publish(demo, {**message, "incident": resolved, "call_ids": [call.call_id]}, [AGENT])
    expect(banner).to_be_hidden()
    expect(page.locator(".toast", has_text="over")).to_be_visible()
    call.hang_up()
