"""The pages with several PBXs (issue 16, CALLASSIST_PBXES). The IT board: a link pill per
PBX, each line with its PBX, and a PBX whose link goes down says so on its own pill only, in
English and in Chinese. QA: a call on another PBX carries its name, and the PBX filter shows
up. The demo PBX is the default one; a second simulator is the south PBX."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Page, expect

from app.demo.pbx import DEMO_TRUNKS
from telephony.simulator.server import AmiServer
from tests.conftest import CAPTURES
from tests.e2e.conftest import screenshot
from tests.e2e.harness import DemoService, start_demo
from tests.e2e.test_it_board import log_in, no_table_overflows
from tests.e2e.test_qa_review import log_in as qa_log_in

T = TypeVar("T")
USER, SECRET = "south-svc", "south-Secret-Not-For-Logs"


class SouthPbx:
    """A second simulator on a loop of its own: the south PBX."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="south", daemon=True)
        self.thread.start()
        self.server = AmiServer(username=USER, secret=SECRET)
        self.run(self.server.start())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # a test may have closed it already
            self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def two_pbxes(tmp_path: Path) -> Iterator[tuple[DemoService, SouthPbx]]:
    south = SouthPbx()
    pbxes = [
        # the demo's simulator takes the first PBX's place; its URL is never dialled
        {"name": "default", "ami_url": "ami://demo:unused@127.0.0.1:1", "trunks": DEMO_TRUNKS},
        {
            "name": "south",
            "ami_url": f"ami://{USER}:{SECRET}@127.0.0.1:{south.server.port}",
            "trunks": "PJSIP/gw-south",
        },
    ]
    service = start_demo(tmp_path, trunks="", pbxes=json.dumps(pbxes))
    south.run(south.server.wait_logged_in(timeout=20))
    yield service, south
    service.thread.stop()
    south.stop()


def test_each_pbx_has_its_own_link_and_lines_on_the_it_board(
    two_pbxes: tuple[DemoService, SouthPbx], page: Page
) -> None:
    demo, south = two_pbxes
    south.run(south.server.set_contact("PJSIP/gw-south", "Unreachable"))
    log_in(page, demo, "it")
    links = page.locator("[data-test=pbx-link]")
    expect(links).to_have_count(2)
    first, other = links.nth(0), links.nth(1)
    expect(first).to_have_attribute("data-status", "connected")
    expect(other).to_have_attribute("data-pbx", "south")
    expect(other).to_have_attribute("data-status", "connected")
    expect(other).to_contain_text("PBX south")
    row = page.locator("tr[data-pbx=south][data-endpoint='PJSIP/gw-south']")
    expect(row).to_have_attribute("data-state", "unreachable")
    expect(row).to_contain_text("PBX south")

    south.run(south.server.close())  # the south PBX goes away; the default one stays
    expect(other).to_have_attribute("data-status", "down")
    expect(first).to_have_attribute("data-status", "connected")
    no_table_overflows(page)
    screenshot(page, "it_board_pbxes")

    page.select_option("#language", "zh-CN")
    expect(other).to_contain_text("交换机 south")
    expect(row).to_contain_text("交换机 south")
    screenshot(page, "it_board_pbxes_zh")


def test_qa_tells_the_calls_of_the_pbxs_apart(
    two_pbxes: tuple[DemoService, SouthPbx], page: Page
) -> None:
    demo, south = two_pbxes
    south.run(south.server.play_capture(CAPTURES / "normal_inbound_caller_hangup.ami"))
    page.goto(f"{demo.url}/qa/")
    qa_log_in(page, demo, "qa")
    calls = page.locator("[data-test=calls] tbody tr")
    expect(calls).to_have_count(1)
    expect(calls.first.locator("[data-test=pbx]")).to_have_text("south")
    pbx_filter = page.locator("input[name=pbx]")
    expect(pbx_filter).to_be_visible()  # shown once a call names another PBX
    pbx_filter.fill("default")
    pbx_filter.dispatch_event("change")
    expect(calls).to_have_count(0)  # no call on the demo PBX yet
    expect(page.locator("[data-test=total]")).to_have_text("0–0 of 0")
    screenshot(page, "qa_pbxes_filtered")
    pbx_filter.fill("south")
    pbx_filter.dispatch_event("change")
    expect(calls).to_have_count(1)
    expect(calls.first.locator("[data-test=pbx]")).to_have_text("south")
    link = calls.first.locator("td.when a")
    page.goto(f"{demo.url}{link.get_attribute('href')}")
    expect(page.locator("[data-test=call-pbx]")).to_contain_text("PBX south")
    screenshot(page, "qa_pbxes_call")
