"""``browse``: drives headless Chromium (Playwright) for the pages checked under the
Content-Security-Policy in a real browser.

Playwright's sync API allows one running instance per thread, and tests/browser keeps its own
for the whole session, so each scenario here runs in a thread of its own with its own instance.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP_VIEWPORT, TIMEOUT_MS

T = TypeVar("T")
Browse = Callable[[Callable[[Page], T]], tuple[T, list[str]]]


def _run(scenario: Callable[[Page], T]) -> tuple[T, list[str]]:
    blocked: list[str] = []

    def listen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            blocked.append(message.text)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=DESKTOP_VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on("console", listen)
            result = scenario(page)
        finally:
            browser.close()
    return result, blocked


@pytest.fixture
def browse() -> Iterator[Browse]:
    """``result, blocked = browse(scenario)``: runs ``scenario(page)`` in a fresh browser, and
    returns what it returned and the console's reports of anything the policy blocked."""
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is missing: the browser tests need {CHROMIUM}.", pytrace=False)
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield lambda scenario: pool.submit(_run, scenario).result(timeout=120)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The clock stopped at the start of the next hour; ``clock.shift(seconds)`` moves it. A rate
    limit counts in fixed windows (a minute, an hour): started mid-window, a test's few seconds
    could cross into the next window and find the count reset (the SMS cap's hour, once, when a
    run reached these tests at 06:59)."""
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller
