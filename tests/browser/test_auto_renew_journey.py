"""Auto-renew: the demo customer saves a card on a line's auto-renew page, then turns auto-renew
off; and a Chinese customer on a phone saves the card they pay with (3-D Secure once), which
auto-renew then charges.

Stripe is localstripe, and Stripe.js is localstripe's stand-in: its card element is five plain
inputs (number, exp_month, exp_year, cvc, postal_code).
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
from accounts.models import EmailDelivery, Notice
from billing.models import Order, PaymentProfile
from billing.sweeps import auto_renew_run
from plans.models import Bucket, Line
from tests.billing.stripe_events import stripe_get
from tests.browser.conftest import SCREENSHOT_DIR, TIMEOUT_MS, Screenshot
from tests.browser.test_renew_journey import CARD_3DS, CARD_DECLINED, PAY_URL, complete_3d_secure, fill_card


@pytest.mark.browser
def test_customer_saves_a_card_for_auto_renew_then_turns_it_off(
    live_server: LiveServer, localstripe: str, page: Page, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    line = Line.objects.get(msisdn="+8617012345678")
    assert not line.auto_renew
    assert not PaymentProfile.objects.filter(user=line.owner).exists()
    line_url = f"{base}/lines/{line.pk}/"
    auto_renew_url = f"{base}/lines/{line.pk}/auto-renew/"
    auto_renew_link = page.locator(f'main a[href="/lines/{line.pk}/auto-renew/"]')

    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(DEMO_PHONE)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # The line's page says auto-renew is off and links to its page.
    page.locator("li.card.line").first.locator(f'a[href="/lines/{line.pk}/"]').click()
    expect(page).to_have_url(line_url)
    expect(auto_renew_link).to_have_text("Auto-renew: off")
    auto_renew_link.click()
    expect(page).to_have_url(auto_renew_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Auto-renew")
    expect(page.locator("main")).to_contain_text("Auto-renew is off.")
    expect(page.get_by_role("button", name="Turn auto-renew off")).to_have_count(0)

    # Save card 4242 with the stand-in's card element.
    form = page.locator("#save-card-form")
    form.locator('#card-element input[placeholder="number"]').fill("4242424242424242")
    form.locator('#card-element input[placeholder="exp_month"]').fill("12")
    form.locator('#card-element input[placeholder="exp_year"]').fill("34")
    form.locator('#card-element input[placeholder="cvc"]').fill("123")
    screenshot(page, "card")
    form.get_by_role("button", name="Save card and turn auto-renew on").click()

    # Back on the line's page, with auto-renew on.
    expect(page).to_have_url(line_url)
    expect(page.get_by_role("status").first).to_contain_text("Auto-renew is on.")
    expect(auto_renew_link).to_have_text("Auto-renew: on")
    expect(page.locator("#save-error")).to_have_count(0)
    screenshot(page, "on")
    line.refresh_from_db()
    assert line.auto_renew
    profile = PaymentProfile.objects.get(user=line.owner)
    assert (profile.card_brand, profile.card_last4) == ("visa", "4242")
    assert profile.card_payment_method_id.startswith("pm_")
    # The other demo line is left alone.
    assert not Line.objects.filter(owner=line.owner).exclude(pk=line.pk).filter(auto_renew=True).exists()

    # Turn it off again: the saved card stays, offered for next time.
    auto_renew_link.click()
    expect(page).to_have_url(auto_renew_url)
    expect(page.locator("main")).to_contain_text("Auto-renew is on.")
    expect(page.locator("#save-card-form")).to_have_count(0)
    page.get_by_role("button", name="Turn auto-renew off").click()
    expect(page).to_have_url(line_url)
    expect(page.get_by_role("status").first).to_contain_text("Auto-renew is off.")
    expect(auto_renew_link).to_have_text("Auto-renew: off")
    line.refresh_from_db()
    assert not line.auto_renew
    profile.refresh_from_db()
    assert profile.card_last4 == "4242"

    auto_renew_link.click()
    expect(page.locator("main")).to_contain_text("Saved card: Visa •••• 4242")
    expect(page.get_by_role("button", name="Turn auto-renew on", exact=True)).to_be_visible()
    screenshot(page, "off")


NARROW: ViewportSize = {"width": 360, "height": 780}


@pytest.mark.browser
def test_chinese_customer_on_a_phone_pays_with_3d_secure_once_saving_the_card_then_auto_renew_charges_it(
    live_server: LiveServer, localstripe: str, page: Page, screenshot: Screenshot, request: pytest.FixtureRequest
) -> None:
    """zh-CN at 360 px: Renew, card 4000 0025 0000 3155 with "save this card" ticked, one 3-D
    Secure box; one order, one bucket, one notice, one email; then auto-renew, turned on with the
    saved card, charges that same card before the line runs out."""
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    line = Line.objects.get(msisdn="+8617012345678")
    customer = line.owner
    assert customer is not None
    before = line.expires_at
    assert before is not None
    page.set_viewport_size(NARROW)

    def narrow_shot(step: str, shown: Page = page) -> list[Path]:
        """The page as it is, at 360 px (the ``screenshot`` fixture also saves 1280)."""
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{request.node.name}-{step}-360.png"
        shown.screenshot(path=path, full_page=True)
        return [path]

    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(DEMO_PHONE)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    page.goto(f"{base}/lines/{line.pk}/renew/")
    page.locator("section.renew-current button[type=submit]").click()
    expect(page).to_have_url(PAY_URL)
    match = PAY_URL.search(page.url)
    assert match
    public_id = match.group(1)
    expect(page.locator("#save-card")).not_to_be_checked()

    # A card the bank declines, then one typed short: each time the one error box says why, in
    # Chinese, the new message replacing the old.
    error = page.locator("#pay-error")
    fill_card(page, CARD_DECLINED)
    page.locator("#card-pay").click()
    expect(error).to_have_text("银行拒绝了此次支付。请换一张卡，或向发卡银行询问原因。")
    narrow_shot("declined")
    page.locator('#card-element input[placeholder="number"]').fill("")
    page.locator("#card-pay").click()
    expect(error).to_have_text("卡号不正确。")
    expect(page.locator("#payment .form-errors")).to_have_count(1)
    expect(page.locator("#card-pay")).to_be_enabled()

    fill_card(page, CARD_3DS)
    page.locator("#save-card").check()
    narrow_shot("pay")
    page.locator("#card-pay").click()
    assert complete_3d_secure(page, base, public_id, lambda shown, step: narrow_shot(step, shown)) == 1

    expect(page.locator(".order .badge")).to_have_class(re.compile(r"\bstatus-fulfilled\b"), timeout=2 * TIMEOUT_MS)
    expect(page.locator(".order .message-success")).to_have_text("支付成功，号码已续费。")
    narrow_shot("paid")
    [order] = Order.objects.filter(line=line)
    assert (order.public_id, order.status, order.card_last4) == (public_id, "fulfilled", "3155")
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert Notice.objects.filter(user=customer, kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1
    assert EmailDelivery.objects.filter(notice__user=customer, notice__kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1
    profile = PaymentProfile.objects.get(user=customer)
    assert (profile.card_brand, profile.card_last4) == ("visa", "3155")
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    assert intent["payment_method_options"]["card"]["setup_future_usage"] == "off_session"
    assert intent["payment_method"] == profile.card_payment_method_id

    # The auto-renew page offers the card just saved; the customer turns auto-renew on with it.
    page.goto(f"{base}/lines/{line.pk}/auto-renew/")
    expect(page.locator("main")).to_contain_text("已保存的银行卡：Visa •••• 3155")
    narrow_shot("auto-renew")
    page.get_by_role("button", name="开启自动续费", exact=True).click()
    expect(page).to_have_url(f"{base}/lines/{line.pk}/")
    expect(page.get_by_role("status").first).to_contain_text("自动续费已开启。")
    narrow_shot("auto-renew-on")

    # Three days before the line runs out the customer is told of the charge; thirty hours
    # before, the auto-renew run charges that card, customer away.
    line.refresh_from_db()
    assert line.expires_at is not None
    assert auto_renew_run(now=line.expires_at - timedelta(hours=71)) == 0
    assert auto_renew_run(now=line.expires_at - timedelta(hours=30)) == 1
    renewal = Order.objects.filter(line=line, off_session=True).get()
    charged = stripe_get(localstripe, f"/v1/payment_intents/{renewal.payment_intent_id}")
    assert (charged["payment_method"], charged["customer"]) == (
        profile.card_payment_method_id,
        profile.stripe_customer_id,
    )
    # 4000 0025 0000 3155 asked for 3-D Secure once, when the customer paid; set up for
    # off-session use then, it is charged now without asking again, as on Stripe.
    assert renewal.status == Order.Status.FULFILLED
    assert not Notice.objects.filter(user=customer, kind=Notice.Kind.PAYMENT_NEEDED).exists()
    assert Bucket.objects.filter(order_item__order=renewal).count() == 1
    page.goto(f"{base}/billing/orders/")
    expect(page.locator("li.order-row")).to_have_count(2)
    expect(page.locator(f'li.order-row a[href="/billing/orders/{renewal.public_id}/"]')).to_be_visible()
    narrow_shot("orders")
