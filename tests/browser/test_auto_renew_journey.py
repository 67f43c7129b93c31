"""The demo customer saves a card for auto-renew on a line's page, then turns auto-renew off.

Stripe is localstripe, and Stripe.js is localstripe's stand-in: its card element is five plain
inputs (number, exp_month, exp_year, cvc, postal_code).
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
from accounts.models import Line
from billing.models import PaymentProfile
from tests.browser.conftest import Screenshot


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
