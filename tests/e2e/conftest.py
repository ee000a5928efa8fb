"""Browser tests of the pages: Debian's chromium driven by Playwright, against the demo
service running in this process (see harness.py).

Chromium is not optional here: `make test` checks for it first (tests/needs.sh), and a
machine without /usr/bin/chromium fails these tests with a message saying how to install it;
Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.e2e.harness import DemoService, start_demo

CHROMIUM = Path(os.environ.get("CALLASSIST_E2E_CHROMIUM", "/usr/bin/chromium"))
# The machine's network is closed: without these chromium waits on services it cannot reach.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
expect.set_options(timeout=10_000)
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
DESKTOP: ViewportSize = {"width": 1920, "height": 1080}


@pytest.fixture(scope="package")  # closed before the async tests: its loop must not outlive them
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium. Install it "
            "with `apt-get install -y chromium` (`make test` does as root: tests/needs.sh), "
            "or point CALLASSIST_E2E_CHROMIUM at one.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoService]:
    """A fresh demo service per test: a test that fails halfway leaves nothing behind."""
    service = start_demo(tmp_path)
    yield service
    service.thread.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport=LAPTOP, locale="en-US")
    opened.set_default_timeout(10_000)
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page whose uncaught errors fail the test (network errors while offline are fine)."""
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.extend(_refused_by_policy(message.text)))
    yield opened
    assert not errors, f"the page threw: {errors}"


def _refused_by_policy(text: str) -> list[str]:
    """The browser's report of something the Content-Security-Policy blocked: a page that
    needs an inline script or a foreign file would be broken in production."""
    return [text] if "Content Security Policy" in text else []


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
