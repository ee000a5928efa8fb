"""The QA review page in a real browser. A dropped call is worked by an agent through the
console's API (call-script steps, a complaint, a hold, wrap-up with a callback) while the
demo PBX plays it, and its MixMonitor file is put in the recordings folder. Then a QA
reviewer finds it by filter (and the URL keeps the filter), exports the CSV, opens the call,
plays the recording, seeks it from the timeline and from a call-script step, scores it, and
moves its complaint to resolved. Every state is saved as a screenshot to look at."""

from __future__ import annotations

import asyncio
import math
import re
import struct
import time
import uuid
import wave
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.complaints.store import file_complaint
from tests.e2e.conftest import DESKTOP, LAPTOP, screenshot
from tests.e2e.harness import DemoService, start_demo

CUSTOMER = ("+8613800138000", "张三")
OTHER_CUSTOMER = ("+8613900139000", "李四")
COMPLAINT = "Third outage this week; wants compensation."
EARLIER_COMPLAINT = "Charged twice for March."
NOTES = "Line went dead while I was answering. Call back."
RECORDING_SECONDS = 12


@dataclass
class Worked:
    """The dropped call as QA will find it."""

    record: dict[str, Any]
    hang_up: Future[None]  # the capture's tail keeps playing after the drop; cancelled at the end


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    return folder


@pytest.fixture
def demo(tmp_path: Path, recordings: Path) -> Iterator[DemoService]:
    service = start_demo(tmp_path, recordings_dir=recordings)
    yield service
    service.thread.stop()


def write_wav(path: Path, seconds: int) -> None:
    """A quiet 440 Hz tone, 8 kHz mono 16-bit: what MixMonitor writes, in miniature."""
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(rate * seconds)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


def act(demo: DemoService, call_id: str, kind: str, **body: Any) -> dict[str, Any]:
    """One console action as agent1's console sends it."""
    reply = httpx.post(
        f"{demo.url}/api/console/calls/{call_id}/actions",
        json={"action_id": str(uuid.uuid4()), "kind": kind, **body},
        headers={"Authorization": f"Bearer {demo.token('agent1')}"},
    )
    reply.raise_for_status()
    result: dict[str, Any] = reply.json()
    assert not result.get("errors"), result
    return result


def work_dropped_call(demo: DemoService) -> Worked:
    """agent1 answers, greets, takes the details, files a complaint, holds; the line drops."""
    call = demo.stage(CUSTOMER, scenario="dropped_media_timeout")
    call.ring()
    call.answer()
    demo.get(f"/api/console/calls/{call.call_id}", "agent1")  # opens the call-script session
    time.sleep(1.0)
    act(demo, call.call_id, "next")
    time.sleep(1.0)
    details = {
        "customer_name": "Zhang San",
        "contact": "+86 138 0013 8000",
        "problem": "Broadband drops every evening",
        "product": "broadband",
    }
    act(demo, call.call_id, "next", values=details)
    call.hold()
    time.sleep(1.0)
    call.unhold()
    act(demo, call.call_id, "branch", branch="complaint")
    time.sleep(1.0)
    complaint = {"content": COMPLAINT, "category": "network", "severity": "high"}
    act(demo, call.call_id, "next", values=complaint)
    time.sleep(0.5)
    hang_up = asyncio.run_coroutine_threadsafe(call.staged.hang_up(), demo.thread.loop)
    demo.record(call.call_id)
    act(demo, call.call_id, "hangup")
    act(demo, call.call_id, "wrap_up", disposition="callback", notes=NOTES)
    return Worked(demo.record(call.call_id), hang_up)


def completed_call(demo: DemoService) -> dict[str, Any]:
    call = demo.stage(OTHER_CUSTOMER, agent="PJSIP/1002")
    call.ring()
    call.answer()
    call.hang_up()
    return demo.record(call.call_id)


def file_earlier_complaint(demo: DemoService) -> None:
    """A complaint from ten days ago (by letter: no call), long overdue."""
    services = demo.services
    with services.database.session() as db:
        file_complaint(
            db, call_id=None, call_pk=None, customer=CUSTOMER[0], content=EARLIER_COMPLAINT,
            category="billing", severity="critical", created_by=None,
            now=time.time() - 10 * 86400, due_hours=services.settings.complaint_due_hours,
        )
        db.commit()


def log_in(page: Page, demo: DemoService, username: str) -> None:
    page.fill("#login-username", username)
    page.fill("#login-password", demo.passwords[username])
    page.press("#login-password", "Enter")
    expect(page.locator("#who")).to_contain_text(username)


def rows(page: Page) -> Any:
    return page.locator("[data-test=calls] tbody tr")


def audio_state(page: Page) -> dict[str, float]:
    state: dict[str, float] = page.locator("[data-test=audio]").evaluate(
        "a => ({time: a.currentTime, ready: a.readyState, duration: a.duration})"
    )
    return state


def wait_audio(page: Page, condition: str) -> None:
    audio = "document.querySelector('[data-test=audio]')"
    page.wait_for_function(f"() => {{ const a = {audio}; return a && ({condition}); }}")


def test_qa_finds_plays_scores_and_resolves_a_dropped_call(
    demo: DemoService, page: Page, recordings: Path
) -> None:
    completed = completed_call(demo)
    worked = work_dropped_call(demo)
    dropped = worked.record
    file_earlier_complaint(demo)
    assert dropped["outcome"] == "dropped"
    assert dropped["recording"], "the staged call carries MixMonitor's file name"
    write_wav(recordings / Path(dropped["recording"]).name, RECORDING_SECONDS)
    placed = callback_call(demo, dropped["call_id"], recorded=True)
    # The callback call's MixMonitor heard nothing: its file is a WAV header and no sound.
    write_wav(recordings / Path(placed["recording"]).name, 0)
    try:
        review_the_call(demo, page, dropped, completed)
        an_empty_recording_is_no_recording(demo, page, dropped, placed)
    finally:
        worked.hang_up.cancel()


def an_empty_recording_is_no_recording(
    demo: DemoService, page: Page, dropped: dict[str, Any], placed: dict[str, Any]
) -> None:
    """In the list only the call with sound is "Recorded"; the empty one's page says why."""
    page.goto(f"{demo.url}/qa/")
    page.select_option("#language", "en")  # the review ended in Chinese
    expect(rows(page)).to_have_count(3)
    recorded = page.locator("[data-test=calls] tbody tr:has(.flag-recording)")
    expect(recorded).to_have_count(1)
    expect(recorded).to_have_attribute("data-call-id", dropped["call_id"])
    expect(recorded.locator(".flag-recording")).to_have_attribute("title", "Recorded")
    page.goto(f"{demo.url}/qa/?call={placed['id']}")
    expect(page.locator("[data-test=recording-missing]")).to_contain_text("Nothing to hear")
    expect(page.locator("[data-test=audio]")).to_have_count(0)
    screenshot(page, "qa-10-recording-empty")


def callback_call(
    demo: DemoService, dropped: str, within: float = 15.0, *, recorded: bool = False
) -> dict[str, Any]:
    """The call the service placed to call the dropped call's customer back (``recorded``:
    once MixMonitor named its file, when the agent answered)."""
    deadline = time.monotonic() + within
    while True:
        calls = demo.get("/api/calls", "qa", limit=50)["items"]
        placed = [c for c in calls if c.get("callback_for") == dropped]
        if placed and (placed[0]["recording"] or not recorded):
            return dict(placed[0])
        assert time.monotonic() < deadline, "no callback call was placed for the dropped call"
        time.sleep(0.2)


def review_the_call(
    demo: DemoService, page: Page, dropped: dict[str, Any], completed: dict[str, Any]
) -> None:
    page.goto(f"{demo.url}/qa/")
    expect(page.locator("#login-username")).to_be_focused()
    log_in(page, demo, "qa")
    expect(rows(page)).to_have_count(3)  # completed, dropped, and the dropped call's callback
    screenshot(page, "qa-01-call-list")

    # Find the dropped call by filter: the URL carries it, a reload and back/forward keep it.
    page.select_option("select[name=outcome]", "dropped")
    expect(rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]outcome=dropped"))
    expect(rows(page).first).to_contain_text(CUSTOMER[0])
    expect(rows(page).first).to_contain_text("44 Requested channel not available")
    page.reload()
    expect(page.locator("select[name=outcome]")).to_have_value("dropped")
    expect(rows(page)).to_have_count(1)
    page.go_back()
    expect(rows(page)).to_have_count(3)
    page.go_forward()
    expect(rows(page)).to_have_count(1)
    page.click("th a[data-sort=talk_seconds]")
    expect(page).to_have_url(re.compile(r"sort=talk_seconds"))
    screenshot(page, "qa-02-dropped-filter")

    csv = page.locator("#csv-export")
    expect(csv).to_have_attribute("href", re.compile(r"^/api/calls\.csv\?.*outcome=dropped"))
    with page.expect_download() as download_info:
        csv.click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert text.startswith("\ufeff"), "a BOM, so that Excel reads UTF-8"
    assert dropped["call_id"] in text and completed["call_id"] not in text

    # The call, whole.
    rows(page).first.locator("td.when a").click()
    expect(page).to_have_url(re.compile(rf"[?&]call={dropped['id']}"))
    expect(page.locator("[data-test=call-number]")).to_have_text(CUSTOMER[0])
    timeline = page.locator("[data-test=timeline]")
    ended = timeline.locator("tr[data-kind=ended]")
    expect(ended).to_contain_text("Hang-up: 44 Requested channel not available")
    expect(ended).to_contain_text("Ended by the network or the PBX")
    hold = timeline.locator("tr[data-kind=hold]")
    expect(hold).to_contain_text("Put on hold by PJSIP/1001 for 0:01")
    expect(timeline.locator("tr[data-kind=callback]")).to_contain_text("Callback created")
    expect(timeline.locator("tr[data-kind=complaint]")).to_contain_text("Complaint filed")
    steps = page.locator("[data-test=steps] tbody tr")
    expect(steps).to_have_count(5)
    expect(page.locator("[data-test=fields]")).to_contain_text("Zhang San")
    expect(page.locator("[data-test=notes]")).to_contain_text(NOTES)
    close_check = page.locator("[data-test=adherence] [data-rule=close_done]")
    expect(close_check).to_have_class(re.compile("check-fail"))

    # The recording: it loads, plays, and a timeline entry or a step seeks it.
    wait_audio(page, "a.readyState >= 1")
    assert audio_state(page)["duration"] == pytest.approx(RECORDING_SECONDS, abs=0.2)
    screenshot(page, "qa-03-call-view")
    ended.click()  # a user gesture: the browser lets the page play
    expected = float(ended.get_attribute("data-offset") or "nan")
    into_recording = dropped["ended_at"] - dropped["recording_started_at"]
    assert expected == pytest.approx(into_recording, abs=0.01)
    wait_audio(page, f"a.currentTime >= {expected - 0.05} && !a.paused")
    wait_audio(page, f"a.currentTime > {expected + 0.3}")  # it plays on from there
    screenshot(page, "qa-04-seeked-to-hang-up")
    complaint_step = steps.filter(has_text="complaint")
    complaint_step.click()
    at = float(complaint_step.get_attribute("data-offset") or "nan")
    assert at < expected
    wait_audio(page, f"a.currentTime >= {at - 0.05} && a.currentTime < {at + 1.5}")
    page.locator("[data-test=audio]").evaluate("a => a.pause()")

    # Score it; then change one score: the old value goes to the history.
    card = page.locator("[data-test=scorecard]")
    card.locator("[data-criterion=greeting] .score-choice", has_text="8").click()
    card.locator("[data-criterion=details_collected] input[type=number]").fill("12")
    card.locator("[data-criterion=courtesy] input[type=number]").fill("15")
    card.locator("[data-criterion=courtesy] .criterion-comment").fill("Calm and clear.")
    card.get_by_role("button", name="Save scores").click()
    expect(page.locator("[data-test=score-total]")).to_have_text("87.5 / 100")
    expect(page.locator("[data-test=call-score]")).to_have_text("87.5")
    card.locator("[data-criterion=greeting] .score-choice", has_text="10").click()
    card.get_by_role("button", name="Save scores").click()
    expect(page.locator("[data-test=score-history] summary")).to_have_text("History (1)")
    page.locator("[data-test=score-history] summary").click()
    screenshot(page, "qa-05-scored")
    scores = demo.get(f"/api/calls/{dropped['id']}", "qa")["scores"]
    assert {s["criterion"]: s["value"] for s in scores["current"]} == {
        "greeting": 10, "details_collected": 12, "courtesy": 15,
    }
    assert scores["history"][0]["value"] == 8

    page.set_viewport_size(DESKTOP)
    page.locator("#main").evaluate("main => main.scrollTo(0, 0)")
    screenshot(page, "qa-06-call-view-1920x1080")
    page.set_viewport_size(LAPTOP)

    # One story: the dropped call's callback, tried by the service, and the call it placed.
    callbacks = page.locator(".card-callbacks")
    expect(callbacks).to_contain_text("call dropped")
    expect(callbacks).to_contain_text("try 1: PJSIP/1001")
    callbacks.locator("a", has_text="callback call #").click()
    expect(page).to_have_url(re.compile(r"[?&]call=\d+"))
    expect(page.locator(".card-callbacks")).to_contain_text(f"Callback for call #{dropped['id']}")
    screenshot(page, "qa-06b-callback-call")
    page.locator(".card-callbacks a", has_text="Callback for call").click()
    expect(page).to_have_url(re.compile(rf"[?&]call={dropped['id']}"))

    # The complaint: from the call to its panel, through the workflow to resolved.
    page.locator(".card-complaints a", has_text="#").first.click()
    expect(page).to_have_url(re.compile(r"view=complaints"))
    panel = page.locator("[data-test=complaint-panel]")
    expect(panel.locator("[data-test=complaint-status]")).to_have_text("received")
    expect(panel).to_contain_text(COMPLAINT)
    expect(panel).to_contain_text(EARLIER_COMPLAINT)  # the customer's earlier complaint
    overdue = page.locator("[data-test=complaints] tr.overdue")
    expect(overdue).to_have_count(1)
    expect(overdue.locator("td.overdue-text")).to_have_attribute("title", "overdue")
    panel.get_by_role("button", name="Assign to me").click()
    expect(panel.locator("[data-test=owner]")).to_have_text("qa")
    panel.get_by_role("button", name="Start work").click()
    expect(panel.locator("[data-test=complaint-status]")).to_have_text("in progress")
    panel.locator("textarea").fill("Credit of one month agreed with the customer.")
    panel.get_by_role("button", name="Mark resolved").click()
    expect(panel.locator("[data-test=complaint-status]")).to_have_text("resolved")
    expect(panel.locator("[data-test=history]")).to_contain_text("Credit of one month agreed")
    expect(panel.locator("[data-test=history]")).to_contain_text("in progress → resolved")
    screenshot(page, "qa-07-complaint-resolved")
    (complaint,) = [
        c for c in demo.get("/api/complaints", "qa")["items"] if c["content"] == COMPLAINT
    ]
    assert complaint["status"] == "resolved" and complaint["owner"] == "qa"

    # Another call's file is not in the folder: the page says so plainly.
    page.goto(f"{demo.url}/qa/?call={completed['id']}")
    expect(page.locator("[data-test=recording-missing]")).to_contain_text(
        Path(completed["recording"]).name
    )
    screenshot(page, "qa-08-recording-missing")

    page.goto(f"{demo.url}/qa/?call={dropped['id']}")
    page.select_option("#language", "zh-CN")
    ended_zh = page.locator("[data-test=timeline] tr[data-kind=ended]")
    expect(ended_zh).to_contain_text("挂断：44 所请求的信道不可用")
    screenshot(page, "qa-09-zh-CN-call-view")
