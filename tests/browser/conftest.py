"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Fixtures:

- ``browser``: one headless Chromium for the session;
- ``page``: a fresh context and page per test, so no cookies leak between tests;
- ``sms_code``: reads the 6-digit code out of the SMS sent to a number;
- ``screenshot``: saves a page at phone and desktop sizes under ``var/screenshots/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from accounts import sms

# Playwright's sync API keeps an event loop running in the test thread; without this Django
# refuses database access from that thread (SynchronousOnlyOperation).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_DIR = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_DIR / "var" / "screenshots"
PHONE_VIEWPORT: ViewportSize = {"width": 360, "height": 780}  # the narrowest phone the site is made for
DESKTOP_VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
# Fail fast: every page here is local, so nothing should take seconds.
TIMEOUT_MS = 10_000

SMS_CODE_RE = re.compile(r"\b(\d{6})\b")

Screenshot = Callable[[Page, str], list[Path]]


def demo_log_in(page: Page, base: str) -> None:
    """Log the demo customer in (``make run``'s, seeded by ``seed_demo``), landing on their lines."""
    from playwright.sync_api import expect

    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill("138 0013 8000")
    page.locator("#id_password").fill("boom-demo-2026")
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is missing: the browser tests need {CHROMIUM}. "
            "`make test` installs it with apt-get (apt-get install chromium).",
            pytrace=False,
        )
    browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a new context, as a Chinese customer's browser would be set up (the site's market)."""
    context = browser.new_context(viewport=DESKTOP_VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sms_code(sms_outbox: list[sms.SmsMessage]) -> Callable[[str], str]:
    """``sms_code("+8613912345678")``: the 6-digit code in the one SMS sent to that number (E.164).

    Fails if there is not exactly one message to that number, or it has no code.
    """

    def read(to: str) -> str:
        bodies = [message.body for message in sms_outbox if message.to == to]
        assert len(bodies) == 1, f"expected one SMS to {to}, the outbox has {sms_outbox!r}"
        match = SMS_CODE_RE.search(bodies[0])
        assert match, f"no 6-digit code in the SMS {bodies[0]!r}"
        return match.group(1)

    return read


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshot:
    """``screenshot(page, "step")`` saves ``<test>-<step>-phone.png`` and ``-desktop.png``; returns the paths.

    The page is put back at its own viewport size afterwards.
    """
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Page, step: str) -> list[Path]:
        original = page.viewport_size
        paths = []
        for size_name, viewport in (("phone", PHONE_VIEWPORT), ("desktop", DESKTOP_VIEWPORT)):
            page.set_viewport_size(viewport)
            path = SCREENSHOT_DIR / f"{test_name}-{step}-{size_name}.png"
            page.screenshot(path=path, full_page=True)
            paths.append(path)
        if original is not None:
            page.set_viewport_size(original)
        return paths

    return take
