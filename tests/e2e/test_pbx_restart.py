"""When the PBX restarts: the agent console and the IT board say the link is down while it is,
and say nothing of it once the link is back, without a reload (link.down, then link.up); a
shift check the agent ran while the PBX was away runs again by itself.

Right after the demo PBX is up again the IT board also shows its trunk reachable: the trunk's
static contact is read at login (PJSIPShowEndpoints, PJSIPShowEndpoint), not left unknown.
"""

from __future__ import annotations

import dataclasses
import re

from playwright.sync_api import BrowserContext, Page, expect

from telephony.simulator.channels import LiveChannels
from tests.e2e.conftest import screenshot
from tests.e2e.harness import DemoService
from tests.e2e.test_agent_console import log_in as console_log_in
from tests.e2e.test_it_board import TRUNK
from tests.e2e.test_it_board import log_in as board_log_in


def reconnect_fast(demo: DemoService) -> None:
    link = demo.term.link
    link.settings = dataclasses.replace(link.settings, backoff_initial=0.1, backoff_max=0.5)


def pbx_goes_down(demo: DemoService) -> None:
    demo.thread.run(demo.pbx.server.close())


def pbx_comes_back(demo: DemoService) -> None:
    """Asterisk started again: no channels, a fresh uptime, the same port."""
    server = demo.pbx.server

    async def start() -> None:
        server.channels = LiveChannels()
        server.uptime = 3
        await server.start()

    demo.thread.run(start())


def test_after_a_pbx_restart_the_console_and_the_board_clear_their_pbx_down(
    demo: DemoService, page: Page, context: BrowserContext
) -> None:
    reconnect_fast(demo)
    page.goto(f"{demo.url}/agent/")
    console_log_in(page, demo, "agent1")
    link = page.locator("#link-status")
    expect(link).to_have_class("link-status up")
    board = context.new_page()
    board_log_in(board, demo, "it")
    pill = board.locator("[data-test=pbx-link]")
    expect(pill).to_have_attribute("data-status", "connected")
    trunk = board.locator(f"[data-test=endpoints] tr[data-endpoint='{TRUNK}']")
    expect(trunk).to_have_attribute("data-state", "reachable")  # from the first login on

    verdict = page.locator(".shift-verdict")
    expect(verdict).to_have_class(re.compile("level-green"))

    pbx_goes_down(demo)
    expect(link.locator(".link-pbx-down")).to_have_text(" · PBX link down")
    expect(pill).to_have_attribute("data-status", "down")
    page.keyboard.press("Alt+k")  # the agent checks again while the PBX is away
    expect(verdict).to_have_class(re.compile("level-red"))
    screenshot(page, "restart-1-console-pbx-down")
    screenshot(board, "restart-1-board-pbx-down")

    pbx_comes_back(demo)
    expect(link.locator(".link-pbx-down")).to_have_count(0, timeout=20_000)
    expect(link).to_contain_text("Live")
    expect(pill).to_have_attribute("data-status", "connected", timeout=20_000)
    expect(trunk).to_have_attribute("data-state", "reachable")
    expect(verdict).to_have_class(re.compile("level-green"))  # checked again by itself
    screenshot(page, "restart-2-console-link-back")
    screenshot(board, "restart-2-board-link-back")
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    board.close()
