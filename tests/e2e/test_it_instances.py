"""The IT board where several instances may run (issue 16): it says which instance owns the
PBX, which one served the page, and whether Redis relays the live messages, in English and
in Chinese. One instance here, with Redis configured; the two-instance story is
tests/service/test_failover.py's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.harness import DemoService, start_demo
from tests.e2e.test_it_board import log_in


@pytest.fixture
def relayed(tmp_path: Path, redis_settings: dict[str, str]) -> Iterator[DemoService]:
    service = start_demo(tmp_path, instance_name="app1", **redis_settings)
    yield service
    service.thread.stop()


def test_the_it_board_names_the_pbx_owner_and_the_relay(relayed: DemoService, page: Page) -> None:
    log_in(page, relayed, "it")
    expect(page.locator("[data-test=pbx-link]")).to_have_attribute("data-status", "connected")
    serving = page.locator("[data-test=pbx-instances]")
    expect(serving).to_contain_text("PBX owner: app1")
    expect(serving).to_contain_text("this page from: app1")
    expect(serving).to_contain_text("Redis connected")
    screenshot(page, "it_board_instances")

    page.select_option("#language", "zh-CN")
    expect(serving).to_contain_text("PBX 主实例：app1")
    expect(serving).to_contain_text("本页来自：app1")
    expect(serving).to_contain_text("Redis 已连接")
    screenshot(page, "it_board_instances_zh")
