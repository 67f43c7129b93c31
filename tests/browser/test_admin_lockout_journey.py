"""A customer locked out from an address does not lock staff out of it: the customer presses on
with wrong passwords until the site pauses them, staff log in from the same address (with their
second step), unlock the customer from the customer's page, and the customer logs in."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts import lockout
from accounts.models import User
from tests.browser.conftest import PHONE_VIEWPORT, Screenshot
from tests.browser.staff import BROWSER_LOCALE, staff_admin
from tests.factories import PASSWORD

# More wrong posts than the lockout (5) and the per-address cap on log-in posts (20 a minute).
PRESSING_ON = 22
TEXT = {
    "en": {"paused": "Too many tries", "locked": "Locked out", "unlocked": "No failed log-ins: not locked out."},
    "zh-hans": {"paused": "尝试次数过多", "locked": "已锁定", "unlocked": "没有登录失败：未锁定。"},
}


def try_wrong_passwords(page: Page, base: str, login: str, count: int) -> None:
    for _ in range(count):
        page.goto(f"{base}/accounts/login/")
        page.locator("#id_username").fill(login)
        page.locator("#id_password").fill("wrong-guess")
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_locked_out_customer_does_not_lock_staff_out_and_staff_unlock_them(
    browser: Browser,
    live_server: LiveServer,
    customer: User,
    staff: User,
    screenshot: Screenshot,
    monkeypatch: pytest.MonkeyPatch,
    language: str,
) -> None:
    # The waits before each try of a locked account are not what this test is about.
    monkeypatch.setattr(lockout, "sleep", lambda seconds: None)
    base = live_server.url
    # A rate limit counts in one-minute windows: start at the top of one, so the test's posts fall
    # in a single window.
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=True) as clock:
        context = browser.new_context(viewport=PHONE_VIEWPORT, locale=BROWSER_LOCALE[language])
        shopper = context.new_page()
        shopper.goto(f"{base}/accounts/login/")
        try_wrong_passwords(shopper, base, "138 0013 8000", PRESSING_ON)
        expect(shopper.locator("main h1")).to_have_text(TEXT[language]["paused"])
        screenshot(shopper, f"customer-paused-{language}")

        # Staff, from the same address (every browser here is 127.0.0.1), still get in.
        desk = staff_admin(browser, live_server, staff, language)
        desk.goto(f"{base}/admin/accounts/user/{customer.pk}/change/")
        panel = desk.locator("#panel-lockout")
        expect(panel).to_contain_text(TEXT[language]["locked"])
        screenshot(desk, f"staff-sees-the-lockout-{language}")
        panel.locator("form.customer-action button[type=submit]").click()
        expect(desk.locator("#panel-lockout")).to_contain_text(TEXT[language]["unlocked"])
        screenshot(desk, f"staff-unlocked-{language}")

        # The cap on posts from the address ends with its minute; the lockout (15 minutes) would
        # not have, but staff lifted it: the customer's right password logs in.
        clock.shift(timedelta(seconds=60))
        shopper.goto(f"{base}/accounts/login/")
        shopper.locator("#id_username").fill("138 0013 8000")
        shopper.locator("#id_password").fill(PASSWORD)
        shopper.locator("main button[type=submit]").click()
        expect(shopper).to_have_url(f"{base}/")
        context.close()
