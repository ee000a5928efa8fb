"""The IT board in a real browser, against the demo service and its simulated PBX.

IT logs in and sees the lines (the trunk and the phones qualifying), the drop rate of the
demo trunk over the last day (earlier calls seeded as rows, plus a call the simulator drops
now) and the callbacks (a missed call waiting in the queue; the closed loop per call). Then
the trunk stops answering qualify: without a reload the board raises a level I incident
with an alert and shows the trunk unreachable. IT opens it, acknowledges, reports progress,
tries to resolve without a cause (the server's 422 shows under the form), sees the trunk come
back (its last fault stays the outage), resolves with the cause and reviews it; the timeline
tells the whole story. An agent who opens the page is told it is for IT and supervisors.
After the lab's line checks and the probe's contact lapsing, the board shows every line
answering, no probe among them and no incident. Every state is a screenshot."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.db.tables import CallRow
from tests.conftest import CAPTURES
from tests.e2e.conftest import screenshot
from tests.e2e.harness import DemoService, start_demo

TRUNK = "PJSIP/2001"  # the demo trunk (DEMO_TRUNKS)
PROBE = "PJSIP/callassist-probe"  # the line probe's endpoint as shipped
DROPPED_CUSTOMER = ("+8613800138000", "张三")
MISSED_CUSTOMER = ("+8613700137000", "王五")
PROGRESS = "Carrier ticket 4711 opened; their SBC does not answer OPTIONS."
CAUSE = "Carrier SBC rebooted after a failed firmware update."
REVIEW = "Trunk down 4 minutes; calls moved to the backup number."
ACTIONS = "Ask the carrier for maintenance notices; add a second trunk."


@pytest.fixture
def board_page(page: Page) -> Iterator[Page]:
    """The page, also failing the test on a console error the page logs itself."""
    errors: list[str] = []

    def console(message: object) -> None:
        text = getattr(message, "text", "")
        if getattr(message, "type", "") == "error" and "Failed to load resource" not in text:
            errors.append(text)

    page.on("console", console)
    yield page
    assert not errors, f"the page logged errors: {errors}"


def seed_history(demo: DemoService, now: float) -> None:
    """A day of earlier calls over the demo trunk: a few an hour, some of them dropped."""
    with demo.services.database.session() as db:
        for hour in range(1, 24):
            for n in range(hour % 5 + 1):
                ended = now - hour * 3600 + n * 300
                outcome = "dropped" if (hour, n) in {(3, 0), (9, 1), (15, 0)} else "completed"
                db.add(
                    CallRow(
                        call_id=f"seed-{uuid.uuid4().hex[:12]}",
                        status="ended",
                        direction="inbound",
                        customer=f"+86138000{hour:02d}{n:03d}",
                        agent="PJSIP/1001",
                        started_at=ended - 120,
                        answered_at=ended - 110,
                        ended_at=ended,
                        talk_seconds=110,
                        ended_by="system" if outcome == "dropped" else "customer",
                        outcome=outcome,
                        hangup_cause=38 if outcome == "dropped" else 16,
                        trunk=TRUNK,
                        updated_at=ended,
                    )
                )
        db.commit()


def drop_a_call(demo: DemoService) -> tuple[dict[str, object], Future[None]]:
    """agent1 answers a customer over the trunk; the network cuts the call."""
    call = demo.stage(DROPPED_CUSTOMER, scenario="dropped_network_cause")
    call.ring()
    call.answer()
    # The capture's tail plays on after the drop: let it, and collect it at the end.
    tail = asyncio.run_coroutine_threadsafe(call.staged.hang_up(), demo.thread.loop)
    return demo.record(call.call_id), tail


def miss_a_call(demo: DemoService) -> dict[str, object]:
    """A customer rings agent2 and gives up before an answer: a callback waits in the queue."""
    traffic = demo.pbx.traffic
    call_id = demo.thread.run(
        traffic.place("missed_customer_cancels", customer=MISSED_CUSTOMER, agents=["PJSIP/1002"])
    )
    return demo.record(call_id)


def set_contact(demo: DemoService, endpoint: str, status: str) -> None:
    demo.thread.run(demo.pbx.server.set_contact(endpoint, status))


def log_in(page: Page, demo: DemoService, username: str) -> None:
    page.goto(f"{demo.url}/it/")
    page.fill("#login-username", username)
    page.fill("#login-password", demo.passwords[username])
    page.press("#login-password", "Enter")


def no_table_overflows(page: Page) -> None:
    """At 1366 px every table fits its card: nothing hides behind a sideways scroll."""
    wide = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap')]
            .filter((w) => w.offsetParent && w.scrollWidth > w.clientWidth + 1)
            .map((w) => w.querySelector('table')?.dataset.test || w.className)"""
    )
    assert wide == [], f"tables wider than their card: {wide}"


def test_it_board_follows_a_trunk_outage_from_alert_to_review(
    demo: DemoService, board_page: Page, context: BrowserContext
) -> None:
    page = board_page
    now = time.time()
    for endpoint in (TRUNK, "PJSIP/1001", "PJSIP/1002"):
        set_contact(demo, endpoint, "Reachable")
    seed_history(demo, now)
    dropped, tail = drop_a_call(demo)
    assert dropped["outcome"] == "dropped"
    missed_call = miss_a_call(demo)
    assert missed_call["outcome"] in {"abandoned", "missed"}

    log_in(page, demo, "it")
    expect(page.locator("#who")).to_contain_text("Ivy IT")
    expect(page.locator("[data-test=pbx-link]")).to_have_attribute("data-status", "connected")
    expect(page.locator("#live-status")).to_have_attribute("data-connected", "true")
    # One instance on SQLite without Redis: nothing about instances to say.
    expect(page.locator("[data-test=pbx-instances]")).to_be_hidden()
    page.evaluate("() => { window.notReloaded = true; }")

    # The lines: the trunk and both phones qualify, with their round trip.
    trunk_row = page.locator(f"[data-test=endpoints] tr[data-endpoint='{TRUNK}']")
    expect(trunk_row).to_have_attribute("data-state", "reachable")
    expect(trunk_row).to_contain_text("trunk")
    expect(trunk_row.locator("td.rtt")).to_contain_text("ms")
    expect(page.locator("[data-test=endpoints] tr[data-endpoint='PJSIP/1001']")).to_contain_text(
        "Agent One"
    )
    expect(page.locator("[data-test=incidents] + .card-empty")).to_contain_text(
        "No active incidents"
    )

    # The drop rate of the trunk: the seeded day and the call dropped just now, as bars.
    chart = page.locator(f"figure.trunk-chart[data-trunk='{TRUNK}']")
    expect(chart).to_be_visible()
    seeded_calls = sum(h % 5 + 1 for h in range(1, 24))
    expect(chart).to_have_attribute("data-dropped", "4")
    # (the callback of the dropped call may go out over the trunk too: at least one more call)
    assert int(chart.get_attribute("data-calls") or 0) >= seeded_calls + 1
    expect(chart.locator("figcaption")).to_contain_text("4 dropped")
    assert chart.locator("svg .bar-calls").count() >= 20
    assert chart.locator("svg .bar-drops").count() == 4
    latest = chart.locator("svg .bar").last
    assert int(latest.get_attribute("data-dropped") or 0) == 1, "the drop of just now, last hour"

    # The callbacks: the missed call waits in the queue; the closed loop lists both calls.
    missed = page.locator(f"[data-test=callbacks] tr[data-customer='{MISSED_CUSTOMER[0]}']")
    expect(missed).to_be_visible()
    expect(missed).to_have_attribute("data-status", "queued")
    expect(missed.locator(f".reason-{missed_call['outcome']}")).to_be_visible()
    expect(missed).to_contain_text("in the queue")
    screenshot(page, "it_board")
    no_table_overflows(page)

    page.click("button[data-tab=loop]")
    loop = page.locator("[data-test=callback-loop]")
    dropped_row = loop.locator(f"tr[data-customer='{DROPPED_CUSTOMER[0]}']")
    expect(dropped_row).to_contain_text("dropped")
    expect(dropped_row).to_have_attribute("data-called-back", "true", timeout=20_000)
    missed_row = loop.locator(f"tr[data-customer='{MISSED_CUSTOMER[0]}']")
    expect(missed_row).to_have_attribute("data-called-back", "false")
    expect(missed_row.locator(".yn-no").first).to_be_visible()
    screenshot(page, "it_callback_loop")
    no_table_overflows(page)
    page.click("button[data-tab=open]")

    # The trunk stops answering qualify: a level I incident, at once, with an alert.
    set_contact(demo, TRUNK, "Unreachable")
    alert = page.locator("[data-test=alert-opened]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(f"New level I incident: Trunk down at {TRUNK}")
    row = page.locator(f"[data-test=incidents] tr[data-location='{TRUNK}']")
    expect(row).to_have_attribute("data-level", "I")
    expect(row).to_have_attribute("data-status", "open")
    expect(row.locator(".level")).to_have_text("I")
    expect(row).to_have_class(re.compile(r"\bis-new\b"))
    expect(trunk_row).to_have_attribute("data-state", "unreachable")
    expect(page.locator("[data-test=incidents-summary]")).to_contain_text("1 at level I")
    assert page.evaluate("() => window.notReloaded === true"), "the board was reloaded"
    age = row.locator("[data-tick=age]")
    first_age = age.inner_text()
    expect(age).not_to_have_text(first_age, timeout=3_000)  # the age ticks
    screenshot(page, "it_incident_alert")
    no_table_overflows(page)

    # The incident view from the alert: the timeline says detected, then reported.
    alert.locator(".alert-open").click()
    view = page.locator("[data-test=incident-view]")
    expect(view).to_be_visible()
    expect(alert).to_be_hidden()
    timeline = view.locator("[data-test=timeline]")
    expect(timeline.locator("li[data-kind=detected]")).to_have_count(1)
    expect(timeline.locator("li[data-kind=reported]")).to_have_count(1)
    expect(view.locator("[data-test=incident-status]")).to_have_text("open")

    view.locator("button[data-action=acknowledge]").click()
    expect(view.locator("[data-test=incident-status]")).to_have_text("acknowledged")
    expect(timeline.locator("li[data-kind=acknowledged]")).to_contain_text("it")
    expect(row.locator("td.owner")).to_have_text("it")  # the owner, in the list too

    view.locator("form[data-form=progress] textarea").fill(PROGRESS)
    view.locator("button[data-action=progress]").click()
    expect(timeline.locator("li[data-kind=progress]")).to_contain_text(PROGRESS)

    # Resolving without a cause: the server refuses, and says so under the form.
    view.locator("button[data-action=resolve]").click()
    error = view.locator("[data-error=resolve]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("422")
    expect(view.locator("[data-test=incident-status]")).to_have_text("acknowledged")
    screenshot(page, "it_incident_error")

    # The trunk answers again: the table shows it, the incident records the recovery, and
    # the trunk's last fault is still the outage (a recovery is no fault).
    set_contact(demo, TRUNK, "Reachable")
    expect(trunk_row).to_have_attribute("data-state", "reachable")
    expect(timeline.locator("li[data-kind=recovered]")).to_have_count(1)
    expect(trunk_row.locator("td.last-fault .fault")).to_have_class(
        re.compile(r"\bfault-unreachable\b")
    )

    view.locator("form[data-form=resolve] textarea").fill(CAUSE)
    view.locator("button[data-action=resolve]").click()
    expect(view.locator("[data-test=incident-status]")).to_have_text("resolved")
    expect(error).to_be_hidden()
    expect(row).to_have_count(0)  # no longer active
    view.locator("form[data-form=review] textarea[name=summary]").fill(REVIEW)
    view.locator("form[data-form=review] textarea[name=actions]").fill(ACTIONS)
    view.locator("button[data-action=review]").click()
    expect(view.locator("[data-test=incident-status]")).to_have_text("reviewed")
    kinds = [
        "detected",
        "reported",
        "acknowledged",
        "progress",
        "recovered",
        "resolved",
        "reviewed",
    ]
    expect(timeline.locator("li")).to_have_count(len(kinds))
    seen = timeline.locator("li").evaluate_all("(items) => items.map((li) => li.dataset.kind)")
    assert seen == kinds
    expect(timeline.locator("li[data-kind=resolved]")).to_contain_text(CAUSE)
    expect(view).to_contain_text(ACTIONS)
    screenshot(page, "it_incident_reviewed")
    timeline.locator("li").last.scroll_into_view_if_needed()
    screenshot(page, "it_incident_timeline")

    # The incident is found under "All" afterwards, reviewed.
    view.locator("[data-test=close-incident]").click()
    page.click("button[data-filter=all]")
    expect(page.locator(f"[data-test=incidents] tr[data-location='{TRUNK}']")).to_have_attribute(
        "data-status", "reviewed"
    )

    # The same board in Chinese.
    page.select_option("#language", "zh-CN")
    expect(page.locator("#card-lines h2")).to_have_text("终端与中继")
    screenshot(page, "it_board_zh")
    no_table_overflows(page)
    page.select_option("#language", "en")

    # An agent is told, plainly, that this page is not theirs.
    other = context.new_page()
    log_in(other, demo, "agent1")
    expect(other.locator("[data-test=refused]")).to_contain_text(
        "This page is for IT and supervisors."
    )
    expect(other.locator("#view-board")).to_be_hidden()
    screenshot(other, "it_refused")
    other.close()

    tail.cancel()


def test_the_board_after_a_line_check_shows_no_false_incident(
    demo: DemoService, board_page: Page
) -> None:
    # The lab: two line checks (the probe registers and calls *77), then the probe's contact
    # lapsing 120 s later, which opened "Agent phone PJSIP/callassist-probe is unreachable".
    page = board_page
    for endpoint in (TRUNK, "PJSIP/1001", "PJSIP/1002"):
        set_contact(demo, endpoint, "Reachable")
    log_in(page, demo, "it")
    expect(page.locator("#live-status")).to_have_attribute("data-connected", "true")
    expect(page.locator("[data-test=lines-summary]")).to_have_text("3 of 3 reachable")

    for name in ("lab2_g_linecheck_probe_call", "lab2_g2_probe_registration_expires"):
        demo.thread.run(demo.pbx.server.play_capture(CAPTURES / f"{name}.ami"))
    wait_for(lambda: demo.term.pipeline.line_checks == 2, "the line checks were not seen")
    wait_for(lambda: PROBE in demo.term.lines.last_faults, "the probe's lapse was not seen")
    page.reload()  # what a board opened now shows, not only what it heard

    expect(page.locator("#live-status")).to_have_attribute("data-connected", "true")
    expect(page.locator("[data-test=lines-summary]")).to_have_text("3 of 3 reachable")
    expect(page.locator("[data-test=incidents] + .card-empty")).to_contain_text(
        "No active incidents"
    )
    expect(page.locator(f"[data-test=endpoints] tr[data-endpoint='{PROBE}']")).to_have_count(0)
    expect(page.locator("[data-test=alert-opened]")).to_have_count(0)
    assert demo.get("/api/incidents", "it", status="all")["items"] == []
    calls = demo.get("/api/calls", "qa", limit=500)["items"]
    assert calls == [], "a line check is no call for QA"
    screenshot(page, "it_board_after_line_check")
    no_table_overflows(page)


def wait_for(ready: Callable[[], bool], failure: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not ready():
        assert time.monotonic() < deadline, failure
        time.sleep(0.1)


@pytest.fixture
def quick_reminders(tmp_path: Path) -> Iterator[DemoService]:
    """The demo service with level I/II reminders due after 3 s without a sign of life."""
    service = start_demo(tmp_path, incident_reminder_minutes=0.05)
    yield service
    service.thread.stop()


def test_a_level_i_incident_nobody_acts_on_is_flagged_until_acknowledged(
    quick_reminders: DemoService, board_page: Page
) -> None:
    demo, page = quick_reminders, board_page
    set_contact(demo, TRUNK, "Reachable")
    log_in(page, demo, "supervisor")
    expect(page.locator("#who")).to_contain_text("Sam Supervisor")
    row = page.locator(f"[data-test=incidents] tr[data-location='{TRUNK}']")
    expect(page.locator(f"[data-test=endpoints] tr[data-endpoint='{TRUNK}']")).to_have_attribute(
        "data-state", "reachable"
    )

    set_contact(demo, TRUNK, "Unreachable")
    expect(row).to_have_attribute("data-level", "I")
    page.locator("[data-test=alert-opened] .alert-close").click()
    expect(row.locator("[data-test=reminder]")).to_have_count(0)

    time.sleep(3.5)  # the reminder period passes with nobody acting
    assert demo.thread.run(demo.term.incidents.remind_due()) >= 1
    reminder = page.locator("[data-test=alert-reminder]")
    expect(reminder).to_contain_text(f"Reminder: level I incident Trunk down at {TRUNK}")
    expect(row).to_have_class(re.compile(r"\bis-reminded\b"))
    expect(row.locator("[data-test=reminder]")).to_have_text("progress report overdue")
    screenshot(page, "it_incident_reminder")

    row.click()
    view = page.locator("[data-test=incident-view]")
    expect(view.locator("[data-test=timeline] li[data-kind=reminder]")).to_have_count(1)
    view.locator("button[data-action=acknowledge]").click()
    expect(view.locator("[data-test=incident-status]")).to_have_text("acknowledged")
    expect(row.locator("[data-test=reminder]")).to_have_count(0)
    expect(reminder).to_have_count(0)


def test_what_the_pbx_does_not_provide_is_on_the_board_until_it_is_fixed(
    demo: DemoService, board_page: Page
) -> None:
    page, server = board_page, demo.pbx.server
    permitted, dialplan = set(server.write_classes), dict(server.dialplan)
    server.write_classes = {"reporting"}  # manager.conf without write originate
    server.dialplan.pop("callassist-callback", None)
    try:
        demo.thread.run(server.drop_sessions())  # the check runs at the next login
        log_in(page, demo, "it")
        problems = page.locator("[data-test=pbx-problems]")
        expect(problems).to_contain_text("may not send Originate", timeout=30_000)
        expect(problems).to_contain_text("no context callassist-callback")
        screenshot(page, "it_pbx_check_problems")
    finally:
        server.write_classes, server.dialplan = permitted, dialplan
    demo.thread.run(server.drop_sessions())
    expect(page.locator("[data-test=pbx-problems]")).to_be_hidden(timeout=30_000)
