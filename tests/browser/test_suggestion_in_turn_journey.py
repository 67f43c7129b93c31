"""The demo customer, on a phone and in Chinese, plans ten days in Korea: the calculator suggests two
7-day packs one after another, the suggestion page says so, and once paid the line shows the second
pack coming after the first."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
from billing.models import Order
from plans.models import Bucket, Line
from tests.browser.conftest import PHONE_VIEWPORT, TIMEOUT_MS, Screenshot
from tests.browser.test_renew_journey import CARD_OK, PAY_URL, fill_card

NEED = "data_gb=1&trip1_country=KR&trip1_days=10&currency=CNY"


@pytest.mark.browser
def test_packs_for_a_long_trip_are_bought_one_after_another_at_360px_in_chinese(
    live_server: LiveServer, localstripe: str, page: Page, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    line = Line.objects.get(msisdn="+8617012345679")

    page.set_viewport_size(PHONE_VIEWPORT)
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(DEMO_PHONE)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")

    page.goto(f"{base}/plans/recommend/?{NEED}")
    best = page.locator("li.reco-best")
    expect(best.locator(".reco-items li", has_text="依次使用")).to_have_count(1)
    screenshot(page, "recommend")
    best.get_by_role("link", name="购买此方案").click()

    expect(page).to_have_url(re.compile(r"item=roam-jpkr-7\.2\.t"))
    expect(page.locator(".suggestion-items li", has_text="依次使用")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "suggestion")
    page.locator(f'input[name="line"][value="{line.pk}"]').check()
    page.locator("form.suggestion button[type=submit]").click()

    expect(page).to_have_url(PAY_URL)
    fill_card(page, CARD_OK)
    page.locator("#card-pay").click()
    expect(page.locator(".order .badge")).to_have_class(re.compile(r"\bstatus-fulfilled\b"), timeout=2 * TIMEOUT_MS)
    expect(page.locator(".order .order-items li", has_text="依次使用")).to_have_count(1)
    screenshot(page, "paid")

    order = Order.objects.filter(line=line, status=Order.Status.FULFILLED, items__in_turn=True).distinct().get()
    first, second = Bucket.objects.filter(order_item__order=order, is_addon=True).order_by("starts_at")
    assert second.starts_at == first.expires_at
    page.goto(f"{base}/lines/{line.pk}/")
    expect(page.locator(".bucket")).to_have_count(
        Bucket.objects.filter(line=line, expires_at__gt=first.starts_at).count()
    )
    screenshot(page, "line")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{base}/billing/orders/{order.public_id}/")
    expect(page.locator(".order .order-items li", has_text="one after another")).to_have_count(1)
    screenshot(page, "paid-en")
