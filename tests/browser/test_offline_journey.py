"""Like an app: the manifest and the service worker register cleanly, the last balances show
offline with the time they were seen, and nothing of the customer's shows after log-out."""

import contextlib
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Error, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import demo_log_in

HOME_STORED = "caches.open('boom-home-v1').then((cache) => cache.match('/')).then((page) => !!page)"


@pytest.mark.browser
def test_last_balances_show_offline_with_their_time_and_not_after_log_out(live_server: LiveServer, page: Page) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    demo_log_in(page, base)
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    manifest = page.context.new_cdp_session(page).send("Page.getAppManifest")
    assert manifest["url"] == f"{base}/manifest.webmanifest?lang=zh-hans"
    assert manifest["errors"] == []
    # The page the worker now controls is stored as it passes.
    page.reload()
    page.wait_for_function(HOME_STORED)
    cards = page.locator("li.card.line")
    expect(cards).to_have_count(2)
    expect(page.locator(".offline-mark")).to_be_hidden()

    page.context.set_offline(True)
    page.reload()
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("+86 170 1234 5678")
    mark = page.locator(".offline-mark")
    expect(mark).to_be_visible()
    expect(mark).to_have_text(re.compile(r"^当前离线，数据截至 \d\d:\d\d$"))
    expect(mark).to_have_attribute("data-copy", "stored")  # served by the worker, not the network
    page.context.set_offline(False)

    page.goto(f"{base}/")
    page.locator("nav button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert page.evaluate(HOME_STORED) is False

    page.context.set_offline(True)
    with contextlib.suppress(Error):  # the browser's own offline page: nothing stored answers
        page.goto(f"{base}/")
    expect(page.locator("li.card.line")).to_have_count(0)
    assert errors == [], errors


@pytest.mark.browser
def test_next_customer_never_sees_the_last_ones_stored_balances(live_server: LiveServer, page: Page) -> None:
    """A session that ran out (no log-out): reaching the log-in page forgets the stored page."""
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    demo_log_in(page, base)
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.reload()
    page.wait_for_function(HOME_STORED)

    page.context.clear_cookies()
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.wait_for_function(f"{HOME_STORED}.then((stored) => !stored)")
    assert page.evaluate(HOME_STORED) is False
