"""After paying for a renewal by card, the demo customer sees one unread notice on the header's
bell, opens the notices page and reads the payment confirmation; the bell then goes quiet.

The renewal and payment are driven as in test_renew_journey.py, whose steps this test reuses.
"""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Notice
from plans.models import Line
from tests.browser.conftest import Screenshot
from tests.browser.test_renew_journey import (
    CARD_OK,
    expect_fulfilled,
    fill_card,
    log_in_in_english,
    renew_current_plan,
    shown,
)


@pytest.mark.browser
def test_after_a_card_renewal_the_bell_shows_one_unread_notice_and_the_notices_page_the_confirmation(
    live_server: LiveServer, localstripe: str, page: Page, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    line = Line.objects.get(msisdn="+8617012345678")  # the first demo line, on basic-30
    assert line.expires_at is not None
    new_expiry = line.expires_at + timedelta(days=30)
    bell = page.locator("nav a.bell")

    log_in_in_english(page, base)
    expect(bell).to_be_visible()
    expect(bell.locator(".bell-count")).to_have_count(0)

    public_id = renew_current_plan(page, base, line, "¥68.00", shown(new_expiry))
    fill_card(page, CARD_OK)
    page.locator("#card-pay").click()
    expect_fulfilled(page, base, public_id)

    page.goto(f"{base}/")
    expect(bell.locator(".bell-count")).to_have_text("1")
    expect(bell).to_have_attribute("aria-label", "Notices: 1 unread")
    screenshot(page, "bell-unread")

    bell.click()
    expect(page).to_have_url(f"{base}/notices/")
    notices = page.locator("ul.notices > li")
    expect(notices).to_have_count(1)
    confirmation = notices.first
    expect(confirmation).to_have_class(re.compile(r"\bnotice-unread\b"))
    expect(confirmation.locator("h2")).to_have_text("Payment received")
    expect(confirmation).to_contain_text(public_id)
    expect(confirmation).to_contain_text("¥68.00")
    expect(confirmation).to_contain_text(shown(new_expiry))
    expect(confirmation.locator("a.button")).to_have_attribute("href", f"/billing/orders/{public_id}/")
    screenshot(page, "notices")

    # Read now: the next page's bell has no count.
    page.goto(f"{base}/")
    expect(bell.locator(".bell-count")).to_have_count(0)
    notice = Notice.objects.get(user=line.owner, kind=Notice.Kind.PAYMENT_CONFIRMED)
    assert notice.read_at is not None
    assert notice.params["order"] == public_id
