"""The demo customer checks what is left: home page, then a line with its chart and eSIM QR code."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from plans.models import Line
from tests.browser.conftest import Screenshot
from tests.factories import LineFactory, UserFactory


@pytest.mark.browser
def test_customer_sees_remaining_data_then_a_lines_chart_and_qr_code(
    live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill("138 0013 8000")
    page.locator("#id_password").fill("boom-demo-2026")
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")

    # The demo customer reads Chinese (their setting), whatever the browser says.
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    cards = page.locator("li.card.line")
    expect(cards).to_have_count(2)
    first = cards.nth(0)
    expect(first).to_contain_text("+86 170 1234 5678")
    # Data, talk time and SMS, each with a meter and its amount as text.
    expect(first.locator("progress")).to_have_count(3)
    expect(first.locator(".meter-value").first).to_have_text(re.compile(r"\d+(\.\d)?\s*GB"))
    # The second demo line is nearly out of data and expires within a week: both warn.
    second = cards.nth(1)
    expect(second.locator(".meter-warn").first).to_be_visible()
    expect(second.locator(".expiry-warn")).to_be_visible()
    screenshot(page, "home")

    line = Line.objects.get(msisdn="+8617012345678")
    first.locator(f'a[href="/lines/{line.pk}/"]').click()
    expect(page).to_have_url(f"{base}/lines/{line.pk}/")
    expect(page.locator(".qr svg")).to_be_visible()
    expect(page.locator("#activation")).to_have_text(line.activation_code)
    bars = page.locator(".chart rect.bar")
    expect(bars).to_have_count(30)
    assert any(float(bars.nth(i).get_attribute("height") or 0) > 0 for i in range(30))
    screenshot(page, "line")

    # Someone else's line id is not found.
    other = LineFactory.create(owner=UserFactory.create())
    response = page.goto(f"{base}/lines/{other.pk}/")
    assert response is not None
    assert response.status == 404
