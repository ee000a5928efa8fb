"""The agent console in a real browser: log in, the shift check, a call that rings and is
answered, the call script walked with the keyboard (a complaint on the way), a reload in
the middle of the call, wrap-up, and what QA then finds on the call record; changes typed
while offline; the console in Chinese. Every state is saved as a screenshot to look at."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import DESKTOP, LAPTOP, screenshot
from tests.e2e.harness import Call, DemoService

CUSTOMER = ("+8613800138000", "张三")
NAME = "Zhang San"
CONTACT = "+86 138 0013 8000"
PROBLEM = "Broadband drops every evening since Monday."
NOTES = "Customer calm; broadband slow at night."
COMPLAINT = "Third outage this week; wants compensation."


ENDPOINTS = {"agent1": "PJSIP/1001", "agent2": "PJSIP/1002"}


def log_in(page: Page, demo: DemoService, username: str) -> None:
    page.fill("#login-username", username)
    page.fill("#login-password", demo.passwords[username])
    page.press("#login-password", "Enter")
    expect(page.locator("#who")).to_contain_text(ENDPOINTS[username])


def field(page: Page, name: str) -> Any:
    return page.locator(f"[data-field={name}]")


def step_title(page: Page) -> Any:
    return page.locator(".step-card .step-title")


def choose(page: Page, name: str, option: str) -> None:
    field(page, name).locator("label.choice", has_text=option).click()


def eventually(check: Callable[[], bool], what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.1)


def open_session(demo: DemoService, username: str) -> dict[str, Any]:
    (session,) = demo.get("/api/console", username)["sessions"]
    return session  # type: ignore[no-any-return]


def ring_and_answer(page: Page, demo: DemoService, agent: str = "PJSIP/1001") -> Call:
    call = demo.stage(CUSTOMER, agent=agent)
    call.ring()
    expect(page.locator("[data-test=pop-number]")).to_have_text(CUSTOMER[0])
    call.answer()
    expect(page.locator("[data-test=prompt]")).to_be_visible()
    return call


def test_agent_takes_a_call_from_the_pop_to_the_wrap_up(demo: DemoService, page: Page) -> None:
    page.goto(f"{demo.url}/agent/")
    expect(page.locator("#login-username")).to_be_focused()
    screenshot(page, "01-login")

    log_in(page, demo, "agent1")
    check = page.locator("[data-test=shift-check]")
    expect(check.locator(".shift-verdict")).to_have_text(re.compile("All good"))
    expect(check).to_contain_text("Phone PJSIP/1001")
    expect(page.locator("#state-pill")).to_have_text("Ready")
    screenshot(page, "02-idle-shift-check")
    recorded = demo.get("/api/shift-checks/latest", "agent1")
    assert recorded["ok"] is True
    assert recorded["rtt_ms"] is not None  # measured over the WebSocket ping/pong

    call = demo.stage(CUSTOMER)
    call.ring()
    expect(page.locator("[data-test=pop-number]")).to_have_text(CUSTOMER[0])
    expect(page.locator("#state-pill")).to_have_text("Ringing")
    expect(page.locator(".pop-name")).to_contain_text("New caller")
    screenshot(page, "03-ringing-pop")

    call.answer()
    prompt = page.locator("[data-test=prompt]")
    expect(prompt).to_contain_text("My name is Agent One")
    expect(page.locator("#state-pill")).to_have_text("On call")
    expect(page.locator("[data-test=talk-timer]")).to_have_text(re.compile(r"^0:0\d$"))
    expect(page.locator(".branches [data-branch=complaint]")).to_contain_text("Alt+C")
    screenshot(page, "04-on-call")
    call.hold()
    expect(page.locator("[data-test=call-status]")).to_contain_text("On hold")
    screenshot(page, "04c-on-hold")
    call.unhold()
    expect(page.locator("[data-test=call-status]")).not_to_contain_text("On hold")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "04b-on-call-1920x1080")
    page.set_viewport_size(LAPTOP)

    page.keyboard.press("Enter")  # the greeting is done: on to the customer's details
    expect(step_title(page)).to_have_text("Customer details")
    expect(field(page, "customer_name").locator("input")).to_be_focused()
    page.keyboard.type(NAME)
    contact = field(page, "contact")
    contact.locator("input").fill("12ab")
    expect(contact.locator(".field-error")).to_contain_text("A phone number")  # as you type
    expect(contact).to_have_class(re.compile("invalid"))
    page.keyboard.press("Enter")  # refused here: the step cannot be left with a bad value
    expect(step_title(page)).to_have_text("Customer details")
    contact.locator("input").fill(CONTACT)
    expect(contact.locator(".field-error")).to_be_hidden()
    field(page, "problem").locator("textarea").fill(PROBLEM)
    choose(page, "product", "Broadband")
    page.locator("#call-notes").fill(NOTES)

    page.keyboard.press("Alt+c")  # the complaint branch, from inside the notes box
    expect(step_title(page)).to_have_text("Complaint")
    field(page, "content").locator("textarea").fill(COMPLAINT)
    screenshot(page, "05-complaint-branch")

    page.reload()
    expect(step_title(page)).to_have_text("Complaint")
    expect(field(page, "content").locator("textarea")).to_have_value(COMPLAINT)
    expect(page.locator("#call-notes")).to_have_value(NOTES)
    expect(page.locator("[data-test=call-number]")).to_have_text(CUSTOMER[0])
    expect(page.locator(".progress-list li")).to_have_count(3)
    screenshot(page, "06-after-reload")
    eventually(
        lambda: open_session(demo, "agent1")["fields"].get("content") == COMPLAINT,
        "the complaint typed before the reload reaches the server",
    )

    choose(page, "category", "Quality of service")
    choose(page, "severity", "High")
    page.keyboard.press("Enter")  # files the complaint, back to where the branch was taken
    expect(page.locator(".toast")).to_contain_text("Complaint recorded")
    expect(step_title(page)).to_have_text("Customer details")
    expect(field(page, "customer_name").locator("input")).to_have_value(NAME)
    expect(field(page, "contact").locator("input")).to_have_value(CONTACT)

    page.keyboard.press("Enter")
    expect(step_title(page)).to_have_text("Answer")
    expect(prompt).to_contain_text(f"Thank you, {NAME}")
    choose(page, "answered", "Yes")
    page.keyboard.press("Enter")
    expect(step_title(page)).to_have_text("Confirm")
    page.keyboard.press("Alt+Backspace")
    expect(step_title(page)).to_have_text("Answer")
    page.keyboard.press("Enter")
    choose(page, "satisfied", "Yes")
    page.keyboard.press("Enter")
    expect(step_title(page)).to_have_text("Closing")

    call.hang_up()
    expect(page.locator("#state-pill")).to_have_text("Wrap-up")
    summary = page.locator(".wrapup-summary")
    expect(summary).to_contain_text(NAME)
    expect(summary).to_contain_text("Broadband")
    expect(summary).to_contain_text("Complaints filed: 1")
    screenshot(page, "07-wrap-up")
    page.keyboard.press("Alt+4")
    expect(page.locator("#disposition-complaint_filed")).to_be_checked()
    notes = page.locator("#wrapup-notes")
    expect(notes).to_have_value(NOTES)
    notes.press("End")
    notes.type(" Offered a credit note.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#state-pill")).to_have_text("Ready")
    expect(page.locator(".ready-card")).to_be_visible()

    record = demo.record(call.call_id)
    (session,) = record["call_script_sessions"]
    assert session["status"] == "done"
    assert session["disposition"] == "complaint_filed"
    assert session["notes"] == NOTES + " Offered a credit note."
    assert session["fields"] == {
        "customer_name": NAME,
        "contact": CONTACT,
        "problem": PROBLEM,
        "product": "broadband",
        "content": COMPLAINT,
        "category": "service",
        "severity": "high",
        "answered": "yes",
        "satisfied": "yes",
    }
    visited = [step["step"] for step in session["steps"]]
    assert visited[:4] == ["greet", "collect", "complaint", "collect"]
    assert visited[-1] == "close"
    (complaint,) = record["complaints"]
    assert (complaint["content"], complaint["category"], complaint["severity"]) == (
        COMPLAINT,
        "service",
        "high",
    )

    # The same customer again: the pop knows the name, the last call and the complaint.
    again = demo.stage(CUSTOMER)
    again.ring()
    expect(page.locator(".pop-name")).to_contain_text(NAME)
    expect(page.locator("#view-ringing .caller-complaints")).to_contain_text(COMPLAINT)
    expect(page.locator("#view-ringing .caller-last-calls")).to_contain_text("completed")
    screenshot(page, "03b-ringing-known-caller")
    again.answer()
    again.hang_up()
    expect(page.locator("#state-pill")).to_have_text("Wrap-up")
    page.keyboard.press("Alt+1")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#state-pill")).to_have_text("Ready")


def test_what_is_typed_offline_reaches_the_server_when_the_link_returns(
    demo: DemoService, context: BrowserContext, page: Page
) -> None:
    page.goto(f"{demo.url}/agent/")
    log_in(page, demo, "agent1")
    expect(page.locator(".shift-verdict")).to_be_visible()
    call = ring_and_answer(page, demo)
    page.keyboard.press("Enter")
    expect(step_title(page)).to_have_text("Customer details")

    context.set_offline(True)
    banner = page.locator("#banner")
    expect(banner).to_contain_text("Offline")
    field(page, "customer_name").locator("input").fill("Li Si")
    page.locator("#call-notes").fill("Typed while the network was down.")
    expect(banner).to_contain_text("Offline — 2 change(s) will be sent")
    screenshot(page, "09-offline-banner")
    assert "customer_name" not in open_session(demo, "agent1")["fields"]

    context.set_offline(False)
    expect(banner).to_be_hidden(timeout=20_000)
    session = open_session(demo, "agent1")
    assert session["fields"]["customer_name"] == "Li Si"
    assert session["notes"] == "Typed while the network was down."
    expect(field(page, "customer_name").locator("input")).to_have_value("Li Si")

    call.hang_up()
    expect(page.locator("#state-pill")).to_have_text("Wrap-up")
    page.keyboard.press("Alt+1")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#state-pill")).to_have_text("Ready")
    record = demo.record(call.call_id)
    assert record["call_script_sessions"][0]["fields"]["customer_name"] == "Li Si"


def test_the_console_speaks_chinese_and_remembers_it(demo: DemoService, page: Page) -> None:
    page.goto(f"{demo.url}/agent/")
    log_in(page, demo, "agent2")
    page.select_option("#language", "zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#state-pill")).to_have_text("就绪")
    expect(page.locator("[data-test=shift-check] h2")).to_have_text("班前检查")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")  # remembered
    expect(page.locator(".ready-card h2")).to_have_text("就绪，等待来电")

    call = ring_and_answer(page, demo, agent="PJSIP/1002")
    expect(page.locator("#state-pill")).to_have_text("通话中")
    expect(page.locator("[data-test=prompt]")).to_contain_text("Agent Two")  # the zh-CN call script
    expect(page.locator("[data-test=prompt]")).to_contain_text("欢迎致电")
    expect(page.locator(".step-nav .btn-primary")).to_contain_text("下一步")
    expect(page.locator(".notes-card")).to_contain_text("备注")
    page.keyboard.press("Enter")
    expect(step_title(page)).to_have_text("客户信息")
    contact = field(page, "contact")
    contact.locator("input").fill("电话")
    expect(contact.locator(".field-error")).to_contain_text("电话号码")
    screenshot(page, "08-zh-CN-on-call")

    call.hang_up()
    expect(page.locator("#state-pill")).to_have_text("话后整理")
    expect(page.locator(".wrapup-card")).to_contain_text("通话中已解决")
    page.keyboard.press("Alt+1")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#state-pill")).to_have_text("就绪")


def test_a_transferred_call_arrives_with_its_call_script_and_shows_who_handed_it_over(
    demo: DemoService, browser: Browser, page: Page
) -> None:
    page.goto(f"{demo.url}/agent/")
    log_in(page, demo, "agent1")
    other_context = browser.new_context(viewport=LAPTOP, locale="en-US")
    try:
        other = other_context.new_page()
        other.goto(f"{demo.url}/agent/")
        log_in(other, demo, "agent2")
        expect(other.locator("#state-pill")).to_have_text("Ready")

        call = demo.stage(CUSTOMER, scenario="transfer_and_hold")
        call.ring()
        expect(page.locator("[data-test=pop-number]")).to_have_text(CUSTOMER[0])
        call.answer()
        expect(step_title(page)).to_have_text("Greeting")
        page.keyboard.press("Enter")
        expect(step_title(page)).to_have_text("Customer details")
        field(page, "customer_name").locator("input").fill(NAME)
        page.locator("#call-notes").fill(NOTES)
        eventually(
            lambda: open_session(demo, "agent1")["notes"] == NOTES,
            "agent1's notes reach the server before the transfer",
        )

        call.transfer_to("PJSIP/1002")
        # The agent who transferred it wraps up; the one who took it carries on.
        expect(page.locator("#state-pill")).to_have_text("Wrap-up")
        expect(page.locator(".wrapup-head")).to_contain_text("transferred to")
        screenshot(page, "10-transferred-away-wrap-up")
        expect(other.locator("#state-pill")).to_have_text("On call")
        expect(other.locator(".callbar")).to_contain_text("Handed over from PJSIP/1001")
        expect(step_title(other)).to_have_text("Customer details")
        expect(field(other, "customer_name").locator("input")).to_have_value(NAME)
        expect(other.locator("#call-notes")).to_have_value(NOTES)
        screenshot(other, "11-handed-over-on-call")

        page.keyboard.press("Alt+3")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#state-pill")).to_have_text("Ready")
        call.hang_up()
        expect(other.locator("#state-pill")).to_have_text("Wrap-up")
        other.keyboard.press("Alt+1")
        other.keyboard.press("Control+Enter")
        expect(other.locator("#state-pill")).to_have_text("Ready")
    finally:
        other_context.close()

    record = demo.record(call.call_id)
    sessions = {s["agent"]: s for s in record["call_script_sessions"]}
    assert sessions["PJSIP/1001"]["disposition"] == "escalated"
    assert sessions["PJSIP/1002"]["handed_over_from"] == "PJSIP/1001"
    assert sessions["PJSIP/1002"]["fields"]["customer_name"] == NAME
    assert sessions["PJSIP/1002"]["disposition"] == "resolved"
