"""The demo customer, on a phone and in Chinese, asks the calculator for a plan for a month with a
trip to Japan, presses "Buy this" on its suggestion (a plan, top-ups, a roaming pack), picks the
line, pays the whole suggestion once by card, and sees the order paid with every item listed."""

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

NEED = "data_gb=40&minutes=300&sms=20&trip1_country=JP&trip1_days=7&currency=CNY"


@pytest.mark.browser
def test_customer_buys_the_whole_suggestion_in_one_order_at_360px_in_chinese(
    live_server: LiveServer, localstripe: str, page: Page, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    second = Line.objects.get(msisdn="+8617012345679")
    buckets_before = Bucket.objects.filter(line=second).count()

    page.set_viewport_size(PHONE_VIEWPORT)
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(DEMO_PHONE)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    # The calculator's answer: each option can be bought.
    page.goto(f"{base}/plans/recommend/?{NEED}")
    best = page.locator("li.reco-best")
    expect(best.locator(".reco-items li")).to_have_count(3)
    expect(page.locator("a.reco-buy")).to_have_count(page.locator("li.reco-option").count())
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "recommend")
    best.get_by_role("link", name="购买此方案").click()

    # The suggestion page: each item at the catalogue's price, the total, the line to pick.
    expect(page).to_have_url(re.compile(r"/plans/recommend/buy/\?item="))
    items = page.locator(".suggestion-items li")
    expect(items).to_have_count(4)  # three items and the total
    total = items.last.locator("strong").inner_text()
    expect(page.get_by_role("radio")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "suggestion")
    page.locator(f'input[name="line"][value="{second.pk}"]').check()
    page.get_by_role("button", name=f"购买 {total}").click()

    # One order for all of it, paid once by card.
    expect(page).to_have_url(PAY_URL)
    match = PAY_URL.search(page.url)
    assert match
    public_id = match.group(1)
    expect(page.locator("#payment .price")).to_have_text(total)
    fill_card(page, CARD_OK)
    page.locator("#card-pay").click()
    expect(page).to_have_url(f"{base}/billing/orders/{public_id}/")
    expect(page.locator(".order .badge")).to_have_class(re.compile(r"\bstatus-fulfilled\b"), timeout=2 * TIMEOUT_MS)
    listed = page.locator(".order .order-items li")
    expect(listed).to_have_count(3)
    expect(page.locator(".order .pack-bought").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "paid")

    order = Order.objects.get(public_id=public_id)
    assert order.line_id == second.pk
    assert order.status == Order.Status.FULFILLED
    units = order.items.count()
    assert units >= 3
    assert sum(order.items.values_list("amount_minor", flat=True)) == order.amount_minor
    assert order.items.filter(bucket__isnull=True).count() == 0
    assert Bucket.objects.filter(line=second).count() == buckets_before + units

    # The same pages in English, for the desktop screenshots.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{base}/plans/recommend/?{NEED}")
    screenshot(page, "recommend-en")
    page.locator("a.reco-buy").first.click()
    expect(page.locator(".suggestion-items li")).to_have_count(4)
    screenshot(page, "suggestion-en")
    page.goto(f"{base}/billing/orders/{public_id}/")
    expect(page.locator(".order .order-items li")).to_have_count(3)
    screenshot(page, "paid-en")
