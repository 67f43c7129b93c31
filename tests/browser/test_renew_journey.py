"""The demo customer renews a line by card: a plain card, then one that needs 3-D Secure (asked
once), then a card the bank declines followed by a good card on the same order.

Stripe is localstripe, and Stripe.js is localstripe's stand-in: its card element is five plain
inputs, and 3-D Secure is a box with 'Complete authentication' / 'Fail authentication' buttons.
"""

import re
import time
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
from billing.models import Order
from plans.models import Line
from tests.browser.conftest import TIMEOUT_MS, Screenshot

CARD_OK = "4242 4242 4242 4242"
CARD_3DS = "4000 0025 0000 3155"
CARD_DECLINED = "4000 0000 0000 0341"
CUSTOMER_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")  # the demo customer's time zone
PAY_URL = re.compile(r"/billing/orders/([^/]+)/pay/$")


def shown(when: datetime | None) -> str:
    """A date as the pages show it to the demo customer."""
    assert when is not None
    return timezone.localtime(when, CUSTOMER_ZONE).strftime("%Y-%m-%d %H:%M")


def log_in_in_english(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(DEMO_PHONE)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    # The demo customer reads Chinese; the header switch saves English as their language.
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def renew_current_plan(page: Page, base: str, line: Line, price: str, new_expiry: str) -> str:
    """From the home page: Renew on ``line``, check the offer, open the order. Returns its id."""
    page.goto(f"{base}/")
    card = page.locator("li.card.line").filter(has=page.locator(f'a[href="/lines/{line.pk}/renew/"]'))
    card.locator(f'a[href="/lines/{line.pk}/renew/"]').click()
    expect(page).to_have_url(f"{base}/lines/{line.pk}/renew/")
    offer = page.locator("section.renew-current")
    expect(offer.locator(".price")).to_have_text(price)
    expect(offer.locator("strong")).to_have_text(new_expiry)
    offer.get_by_role("button", name=f"Renew for {price}").click()
    expect(page).to_have_url(PAY_URL)
    match = PAY_URL.search(page.url)
    assert match
    public_id = match.group(1)
    expect(page.locator("#payment .price")).to_have_text(price)
    expect(page.locator("#payment dd").last).to_have_text(public_id)
    return public_id


def fill_card(page: Page, number: str) -> None:
    """Type a card into the stand-in's card element (number, MM, YY, CVC)."""
    element = page.locator("#card-element")
    element.locator('input[placeholder="number"]').fill(number.replace(" ", ""))
    element.locator('input[placeholder="exp_month"]').fill("12")
    element.locator('input[placeholder="exp_year"]').fill("34")
    element.locator('input[placeholder="cvc"]').fill("123")


def expect_fulfilled(page: Page, base: str, public_id: str) -> None:
    """The order page: it asks Stripe and refreshes itself every 3 s until the order is final."""
    expect(page).to_have_url(f"{base}/billing/orders/{public_id}/")
    expect(page.locator(".order .badge")).to_have_class(re.compile(r"\bstatus-fulfilled\b"), timeout=2 * TIMEOUT_MS)
    expect(page.locator(".order .message-success")).to_have_text("Payment received. Your line is renewed.")


def complete_3d_secure(page: Page, base: str, public_id: str, screenshot: Screenshot) -> int:
    """Press 'Complete authentication' in each 3-D Secure box until the page leaves for the
    order page. Returns how many boxes there were."""
    order_url = f"{base}/billing/orders/{public_id}/"
    complete = page.get_by_role("button", name="Complete authentication")
    boxes = 0
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while page.url != order_url:
        assert time.monotonic() < deadline, f"still on {page.url} after {boxes} 3-D Secure box(es)"
        if complete.count() and complete.is_visible():
            expect(page.get_by_role("button", name="Fail authentication")).to_be_visible()
            if boxes == 0:
                screenshot(page, "3ds-box")
            complete.click()
            boxes += 1
        page.wait_for_timeout(50)
    return boxes


@pytest.mark.browser
def test_customer_renews_by_card_then_with_3d_secure_and_sees_new_expiry_and_receipt(
    live_server: LiveServer, localstripe: str, page: Page, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    line = Line.objects.get(msisdn="+8617012345678")  # the first demo line, on basic-30
    assert line.plan is not None
    assert line.plan.code == "basic-30"
    before = line.expires_at
    assert before is not None
    assert before > timezone.now()

    log_in_in_english(page, base)
    first = page.locator("li.card.line").first
    expect(first.locator(f'a[href="/lines/{line.pk}/renew/"]')).to_be_visible()
    expect(first.locator(".expiry")).to_contain_text(shown(before))

    # 1. A plain card: paid and fulfilled at once.
    public_id = renew_current_plan(page, base, line, "¥68.00", shown(before + timedelta(days=30)))
    screenshot(page, "pay")
    fill_card(page, CARD_OK)
    page.locator("#card-pay").click()
    expect_fulfilled(page, base, public_id)
    line.refresh_from_db()
    assert line.expires_at == before + timedelta(days=30)
    expect(page.locator(".order strong")).to_have_text(shown(line.expires_at))
    screenshot(page, "fulfilled")

    page.goto(f"{base}/")
    expect(page.locator("li.card.line").first.locator(".expiry")).to_contain_text(shown(line.expires_at))
    screenshot(page, "home-renewed")

    page.goto(f"{base}/billing/orders/{public_id}/")
    page.get_by_role("link", name="Receipt").click()
    expect(page).to_have_url(f"{base}/billing/orders/{public_id}/receipt/")
    receipt = page.locator("article.receipt")
    expect(receipt).to_contain_text(public_id)
    expect(receipt).to_contain_text("¥68.00")
    expect(receipt).to_contain_text("Visa •••• 4242")
    screenshot(page, "receipt")
    order = Order.objects.get(public_id=public_id)
    assert (order.status, order.card_last4, order.amount_minor, order.currency) == ("fulfilled", "4242", 6800, "CNY")

    # 2. A card whose bank wants 3-D Secure: asked once, as the page confirms the payment.
    second_before = line.expires_at
    public_id = renew_current_plan(page, base, line, "¥68.00", shown(second_before + timedelta(days=30)))
    fill_card(page, CARD_3DS)
    page.locator("#card-pay").click()
    assert complete_3d_secure(page, base, public_id, screenshot) == 1
    expect_fulfilled(page, base, public_id)
    line.refresh_from_db()
    assert line.expires_at == second_before + timedelta(days=30)
    expect(page.locator(".order strong")).to_have_text(shown(line.expires_at))
    assert Order.objects.get(public_id=public_id).card_last4 == "3155"
    screenshot(page, "3ds-fulfilled")

    # 3. A declined card: the bank's reason on the page; a good card then pays the same order.
    third_before = line.expires_at
    orders_before = Order.objects.filter(line=line).count()
    public_id = renew_current_plan(page, base, line, "¥68.00", shown(third_before + timedelta(days=30)))
    fill_card(page, CARD_DECLINED)
    page.locator("#card-pay").click()
    error = page.locator("#pay-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("Your bank declined the payment. Try another card, or ask your bank why.")
    expect(page).to_have_url(f"{base}/billing/orders/{public_id}/pay/")
    expect(page.locator("#card-pay")).to_be_enabled()
    order = Order.objects.get(public_id=public_id)
    assert order.is_open
    line.refresh_from_db()
    assert line.expires_at == third_before
    screenshot(page, "declined")

    fill_card(page, CARD_OK)
    page.locator("#card-pay").click()
    expect_fulfilled(page, base, public_id)
    line.refresh_from_db()
    assert line.expires_at == third_before + timedelta(days=30)
    assert Order.objects.filter(line=line).count() == orders_before + 1
    order = Order.objects.get(public_id=public_id)
    assert (order.status, order.card_last4) == ("fulfilled", "4242")
    screenshot(page, "retry-fulfilled")
